using System.Net;
using System.Text;
using Fleet.Hosting.Rpc;

namespace Fleet.Hosting.Tests.Local;

/// <summary>The built-in HTTP model (HttpRequestData over RpcHttp) through the local host and HttpApp's real worker.</summary>
[Collection(HttpAppCollection.Name)]
public sealed class BuiltInHttpTests(HttpAppFixture app)
{
    [Fact]
    public async Task A_request_round_trips_method_query_headers_body_and_app_settings()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "api/ping?deviceId=d-7") { Content = new StringContent("hello-body", Encoding.UTF8) };
        request.Headers.Add("X-Marker", "m1");
        using var response = await app.Client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("1", Assert.Single(response.Headers.GetValues("X-Pong")));
        Assert.Equal("pong POST deviceId=d-7 marker=m1 body=hello-body greeting=hello-from-settings", await response.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData("api/devices/42/abc", HttpStatusCode.OK, "device 42 name=abc")]
    [InlineData("api/devices/42", HttpStatusCode.OK, "device 42 name=-")]
    [InlineData("api/devices/x", HttpStatusCode.NotFound, "")]
    [InlineData("api/devices/42/a1", HttpStatusCode.NotFound, "")]
    public async Task Route_parameters_and_constraints_bind(string path, HttpStatusCode status, string body)
    {
        using var response = await app.Client.GetAsync(path);
        Assert.Equal(status, response.StatusCode);
        if (status == HttpStatusCode.OK)
        {
            Assert.Equal(body, await response.Content.ReadAsStringAsync());
        }
    }

    [Fact]
    public async Task Methods_are_enforced_and_the_route_defaults_to_the_function_name()
    {
        using var get = await app.Client.GetAsync("api/Submit");
        using var post = await app.Client.PostAsync("api/Submit", new StringContent("x"));
        Assert.Equal(HttpStatusCode.MethodNotAllowed, get.StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, post.StatusCode);
    }

    [Theory]
    [InlineData("api/secret", null, null, HttpStatusCode.Unauthorized)]
    [InlineData("api/secret", "x-functions-key", "wrong-key-0123456789abcdef", HttpStatusCode.Unauthorized)]
    [InlineData("api/secret", "x-functions-key", TestApps.SecretKey, HttpStatusCode.OK)]
    [InlineData("api/secret", "code", TestApps.HostKey, HttpStatusCode.OK)]
    [InlineData("api/secret", "code", TestApps.MasterKey, HttpStatusCode.OK)]
    [InlineData("api/master-only", "x-functions-key", TestApps.HostKey, HttpStatusCode.Unauthorized)]
    [InlineData("api/master-only", "x-functions-key", TestApps.SecretKey, HttpStatusCode.Unauthorized)]
    [InlineData("api/master-only", "x-functions-key", TestApps.MasterKey, HttpStatusCode.OK)]
    public async Task Authorization_levels_take_function_host_and_master_keys(string path, string? via, string? key, HttpStatusCode expected)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, via == "code" ? $"{path}?code={key}" : path);
        if (via == "x-functions-key")
        {
            request.Headers.Add(via, key);
        }

        using var response = await app.Client.SendAsync(request);
        Assert.Equal(expected, response.StatusCode);
    }

    [Fact]
    public async Task A_failing_function_answers_500_and_logs_the_users_exception()
    {
        using var response = await app.Client.GetAsync("api/fail");
        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);

        var failed = app.Logs.Entries.Last(e => e.Category == "Function.Fail" && e.EventId.Id == 4702);
        var exception = Assert.IsType<WorkerException>(failed.Exception);
        Assert.Equal("System.InvalidOperationException", exception.ExceptionType);
        Assert.Equal("boom from Fail", exception.Rpc.Message);
        Assert.Contains("HttpFunctions.Fail", exception.StackTrace, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_invocation_past_functionTimeout_fails_with_a_timeout()
    {
        // host.json: functionTimeout 00:00:04.
        using var response = await app.Client.GetAsync("api/slow?ms=20000");
        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        var failed = app.Logs.Entries.Last(e => e.Category == "Function.Slow" && e.EventId.Id == 4702);
        Assert.Equal("System.TimeoutException", Assert.IsType<WorkerException>(failed.Exception).ExceptionType);
        Assert.Contains("functionTimeout", failed.Exception!.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_named_output_reaches_its_handler_beside_the_http_response()
    {
        using var response = await app.Client.PostAsync("api/notify?text=hi-there", new StringContent(string.Empty));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var sent = Assert.Single(app.Sms.Sent, s => s.Value.String == "hi-there");
        Assert.Equal(("Notify", "Text", "+100200300"), (sent.Function, sent.Binding, sent.To));
    }

    [Fact]
    public async Task A_disabled_function_is_not_loaded_and_not_served()
    {
        using var response = await app.Client.GetAsync("api/retired");
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        var retired = Assert.Single(app.Host.Functions, f => f.Spec.Name == "Retired");
        Assert.Equal("disabled by the setting AzureWebJobs.Retired.Disabled", retired.NotLoadedReason);
        Assert.Contains("Retired: not loaded (disabled by the setting AzureWebJobs.Retired.Disabled)", app.Output.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void A_function_with_an_unsupported_trigger_is_listed_as_not_loaded_and_the_others_run()
    {
        var texted = Assert.Single(app.Host.Functions, f => f.Spec.Name == "Texted");
        Assert.Equal("trigger 'smsTrigger' is not supported by this host", texted.NotLoadedReason);
        Assert.Contains("Texted: not loaded (trigger 'smsTrigger' is not supported by this host)", app.Output.ToString(), StringComparison.Ordinal);
        Assert.Contains($"Ping: [GET,POST] {app.Host.BaseAddress}api/ping", app.Output.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task CORS_from_local_settings_answers_preflight_and_tags_responses()
    {
        using var preflight = new HttpRequestMessage(HttpMethod.Options, "api/ping");
        preflight.Headers.Add("Origin", "https://portal.example.com");
        preflight.Headers.Add("Access-Control-Request-Method", "POST");
        using var answer = await app.Client.SendAsync(preflight);
        Assert.Equal("https://portal.example.com", Assert.Single(answer.Headers.GetValues("Access-Control-Allow-Origin")));

        using var simple = new HttpRequestMessage(HttpMethod.Get, "api/ping");
        simple.Headers.Add("Origin", "https://evil.example.com");
        using var refused = await app.Client.SendAsync(simple);
        Assert.False(refused.Headers.Contains("Access-Control-Allow-Origin"));
    }

    [Fact]
    public async Task Admin_endpoints_answer_and_show_details_to_the_master_key_only()
    {
        using var ping = await app.Client.GetAsync("admin/host/ping");
        Assert.Equal(HttpStatusCode.OK, ping.StatusCode);

        var anonymous = await app.Client.GetStringAsync("admin/host/status");
        Assert.Contains("\"status\":\"Healthy\"", anonymous, StringComparison.Ordinal);
        Assert.DoesNotContain("Worker process", anonymous, StringComparison.Ordinal);

        using var request = new HttpRequestMessage(HttpMethod.Get, "admin/host/status");
        request.Headers.Add("x-functions-key", TestApps.MasterKey);
        using var detailed = await app.Client.SendAsync(request);
        Assert.Contains("Worker process", await detailed.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Keys_never_reach_the_logs()
    {
        using var response = await app.Client.GetAsync($"api/secret?code={TestApps.HostKey}");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.DoesNotContain(app.Logs.Entries, e => e.Message.Contains(TestApps.HostKey, StringComparison.Ordinal));
    }
}
