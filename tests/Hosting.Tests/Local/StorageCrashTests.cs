using System.Diagnostics;
using System.Globalization;
using Fleet.Testing;

namespace Fleet.Hosting.Tests.Local;

/// <summary>
/// StorageApp on its own host, since its worker is killed here. Each slow message takes 400 ms: long enough that the
/// invocations seen in flight just before the kill are still running when it lands, even on a loaded machine (at
/// 100 ms they could finish in between, and nothing was left to retry).
/// </summary>
public sealed class CrashingStorageAppFixture : StorageAppFixture
{
    protected override IReadOnlyDictionary<string, string?> Values => new Dictionary<string, string?> { ["SlowMs"] = "400" };
}

/// <summary>
/// The worker is killed with SIGKILL while 500 queue messages flow: its in-flight invocations fail, their messages
/// become visible again, the host restarts the worker, and every message is processed at least once; none is lost
/// or poisoned.
/// </summary>
public sealed class StorageCrashTests(CrashingStorageAppFixture app) : IClassFixture<CrashingStorageAppFixture>
{
    private const int Count = 500;

    [Fact]
    public async Task Killing_the_worker_mid_invocation_loses_no_queue_message()
    {
        var input = app.Queues.GetQueueClient("slow-in");
        await input.CreateIfNotExistsAsync();
        var output = app.Queues.GetQueueClient("slow-out");
        await output.CreateIfNotExistsAsync();
        var expected = Enumerable.Range(0, Count).Select(i => i.ToString("m-000", CultureInfo.InvariantCulture)).ToList();
        await Parallel.ForEachAsync(expected, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (text, ct) => await input.SendMessageAsync(text, ct));

        var seen = new HashSet<string>(StringComparer.Ordinal);
        async Task<bool> DrainAsync()
        {
            foreach (var message in (await output.ReceiveMessagesAsync(32)).Value)
            {
                // At least once: a message whose invocation was cut short may come out twice.
                seen.Add(message.MessageText);
                await output.DeleteMessageAsync(message.MessageId, message.PopReceipt);
            }

            return false;
        }

        // Kill the worker once the flow is under way, with invocations in flight.
        await Wait.UntilAsync(async () => await DrainAsync() || (seen.Count >= 30 && app.Host.Invoker.InFlight >= 8), "the first results", TimeSpan.FromSeconds(60));
        var worker = app.Host.Supervisor.Current!.Process.ProcessId;
        var inFlight = app.Host.Invoker.InFlight;
        using (var process = Process.GetProcessById(worker))
        {
            // Process.Kill is SIGKILL on Linux.
            process.Kill();
        }

        await Wait.UntilAsync(async () => await DrainAsync() || seen.Count == Count, "every message to be processed", TimeSpan.FromSeconds(120));
        Assert.Equal(expected, seen.Order(StringComparer.Ordinal));
        Assert.True(inFlight > 0);
        await Wait.UntilAsync(() => app.Host.Supervisor.Restarts >= 1, "the worker's restart");
        Assert.NotEqual(worker, app.Host.Supervisor.Current!.Process.ProcessId);

        // The killed invocations failed and their messages were retried (dequeue count 2), not poisoned.
        Assert.Contains(app.Logs.Entries.With(4750), e => Equals(e.State["FunctionName"], "QueueSlow"));
        Assert.Empty(await app.PeekAsync("slow-in-poison"));
        await Wait.UntilAsync(async () => (await input.GetPropertiesAsync()).Value.ApproximateMessagesCount == 0, "the input queue to be empty");
    }
}
