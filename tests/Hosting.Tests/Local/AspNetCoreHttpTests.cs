using System.Net;
using Fleet.Hosting.Rpc;

namespace Fleet.Hosting.Tests.Local;

/// <summary>The ASP.NET Core integration: requests forwarded to the worker's own Kestrel, paired by invocation id.</summary>
public sealed class AspNetCoreHttpTests(AspNetCoreAppFixture app) : IClassFixture<AspNetCoreAppFixture>
{
    private const string GuardedKey = "guarded-key-0123456789abcdef";

    [Fact]
    public async Task A_request_is_forwarded_with_path_query_body_and_response_headers_under_the_route_prefix()
    {
        using var response = await app.Client.PostAsync("v1/ping?deviceId=d-1", new StringContent("hello-body"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("aspnet", Assert.Single(response.Headers.GetValues("X-Pong")));
        Assert.Equal("pong-aspnet POST /v1/ping?deviceId=d-1 body=hello-body", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public void The_worker_announces_its_own_http_endpoint_and_runs_the_pinned_version()
    {
        var session = app.Host.Supervisor.Current!;
        Assert.Equal("localhost", new Uri(session.Init.Capabilities["HttpUri"]).Host);
        Assert.Equal("True", session.Init.Capabilities["HandlesInvocationCancelMessage"]);
        var props = System.Xml.Linq.XDocument.Load(Fleet.Testing.RepoPaths.Combine("Directory.Packages.props"));
        var pinned = props.Descendants("PackageVersion").Single(p => (string?)p.Attribute("Include") == "Microsoft.Azure.Functions.Worker").Attribute("Version")!.Value;
        Assert.Equal(pinned + ".0", session.Init.WorkerVersion);
    }

    [Fact]
    public async Task Route_values_bind_and_constraints_hold()
    {
        Assert.Equal("device 42", await app.Client.GetStringAsync("v1/devices/42"));
        using var notFound = await app.Client.GetAsync("v1/devices/abc");
        Assert.Equal(HttpStatusCode.NotFound, notFound.StatusCode);
        using var wrongPrefix = await app.Client.GetAsync("api/ping");
        Assert.Equal(HttpStatusCode.NotFound, wrongPrefix.StatusCode);
    }

    [Fact]
    public async Task Function_level_functions_need_their_key()
    {
        using var without = await app.Client.GetAsync("v1/guarded");
        using var with = await app.Client.GetAsync($"v1/guarded?code={GuardedKey}");
        Assert.Equal(HttpStatusCode.Unauthorized, without.StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, with.StatusCode);
        Assert.DoesNotContain(app.Logs.Entries, e => e.Message.Contains(GuardedKey, StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_failing_function_answers_500_and_logs_the_users_exception()
    {
        using var response = await app.Client.GetAsync("v1/fail");
        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        var failed = app.Logs.Entries.Last(e => e.Category == "Function.Fail" && e.EventId.Id == 4702);
        var exception = Assert.IsType<WorkerException>(failed.Exception);
        Assert.Equal("System.InvalidOperationException", exception.ExceptionType);
        Assert.Equal("boom from aspnet Fail", exception.Rpc.Message);
    }

    [Fact]
    public async Task Concurrent_requests_are_each_paired_with_their_own_invocation()
    {
        var calls = Enumerable.Range(0, 20).Select(i => app.Client.GetStringAsync($"v1/devices/{i}")).ToList();
        var bodies = await Task.WhenAll(calls);
        Assert.Equal(Enumerable.Range(0, 20).Select(i => $"device {i}"), bodies);
    }
}
