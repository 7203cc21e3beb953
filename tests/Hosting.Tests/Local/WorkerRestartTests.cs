using System.Net;

namespace Fleet.Hosting.Tests.Local;

/// <summary>HttpApp on its own host, since one of its workers dies here.</summary>
public sealed class CrashingAppFixture : LocalHostFixture
{
    public CrashingAppFixture()
        : base("HttpApp")
    {
    }
}

/// <summary>A worker that dies mid-invocation: the invocation fails, the worker is restarted and serves again.</summary>
public sealed class WorkerRestartTests(CrashingAppFixture app) : IClassFixture<CrashingAppFixture>
{
    [Fact]
    public async Task A_worker_that_dies_fails_its_in_flight_invocations_and_is_restarted_with_the_same_functions()
    {
        var firstPid = await app.Client.GetStringAsync("api/pid");
        var functionIds = app.Host.Supervisor.Current!.Metadata.Select(m => m.FunctionId).ToList();
        var slow = app.Client.GetAsync("api/slow?ms=3000");
        await WaitForAsync(() => app.Host.Invoker.InFlight >= 1);

        using var crash = await app.Client.GetAsync("api/crash");
        using var slowAnswer = await slow;
        Assert.Equal(HttpStatusCode.InternalServerError, crash.StatusCode);
        Assert.Equal(HttpStatusCode.InternalServerError, slowAnswer.StatusCode);
        var failed = app.Logs.Entries.Last(e => e.Category == "Function.Slow" && e.EventId.Id == 4702);
        Assert.IsType<Rpc.WorkerUnavailableException>(failed.Exception);

        // Requests made while the worker restarts wait for it (first restart after 1 s).
        var secondPid = await app.Client.GetStringAsync("api/pid");
        Assert.NotEqual(firstPid, secondPid);
        Assert.Equal(1, app.Host.Supervisor.Restarts);
        Assert.Equal(functionIds, app.Host.Supervisor.Current!.Metadata.Select(m => m.FunctionId));
        Assert.Contains(app.Logs.Entries, e => e.EventId.Id == 4610);
        Assert.Equal("device 5 name=-", await app.Client.GetStringAsync("api/devices/5"));
    }

    private static async Task WaitForAsync(Func<bool> condition)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        while (!condition())
        {
            await Task.Delay(20, timeout.Token);
        }
    }
}
