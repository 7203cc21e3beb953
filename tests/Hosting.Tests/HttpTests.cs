using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Fleet.Hosting.Tests;

/// <summary>HTTP triggers on Kestrel over loopback: routes, key authorization, results, errors, health.</summary>
public sealed class HttpTests
{
    private const string SecuredKey = "secured-function-key-0123456789";
    private const string OtherKey = "other-function-key-0123456789";
    private const string HostKey = "host-key-ops-0123456789abcdef";

    public sealed class Greeting
    {
        public string Text { get; } = "hello";
    }

    public sealed class Functions(Greeting greeting)
    {
        [Function("Anonymous")]
        public string Anonymous([HttpTrigger(AuthorizationLevel.Anonymous, "get")] HttpRequest request) => greeting.Text;

        [Function("Secured")]
        public static IActionResult Secured([HttpTrigger(AuthorizationLevel.Function, "get", Route = "devices/{id:int}")] HttpRequest request, int id) =>
            new OkObjectResult(new { id });

        [Function("Other")]
        public static string Other([HttpTrigger("get")] HttpRequest request) => "other";

        [Function("AdminOnly")]
        public static IResult AdminOnly([HttpTrigger(AuthorizationLevel.Admin, "delete", Route = "ops/reset")] HttpRequest request) => Results.NoContent();

        [Function("Echo")]
        public static async Task<object> Echo([HttpTrigger(AuthorizationLevel.Anonymous, "post")] HttpRequest request, FunctionContext context, CancellationToken cancellationToken)
        {
            using var reader = new StreamReader(request.Body);
            return new { body = await reader.ReadToEndAsync(cancellationToken), function = context.FunctionDefinition.Name };
        }

        [Function("Boom")]
        public static void Boom([HttpTrigger(AuthorizationLevel.Anonymous)] HttpRequest request) =>
            throw new InvalidOperationException("secret internals");

        [Function("Item")]
        public static string Item([HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "items/{number}")] HttpRequest request, long number) => $"item {number}";

        [Function("Written")]
        public static async Task Written([HttpTrigger(AuthorizationLevel.Anonymous, "get")] HttpRequest request)
        {
            request.HttpContext.Response.StatusCode = StatusCodes.Status418ImATeapot;
            await request.HttpContext.Response.WriteAsync("short and stout");
        }
    }

    private static async Task<(TestApp App, FunctionsHost Host, HttpClient Http)> StartAsync(
        string hostJson = """{ "version": "2.0" }""", Dictionary<string, string?>? settings = null, LogCapture? logs = null)
    {
        var app = TestApp.Create(hostJson);
        var all = new Dictionary<string, string?>
        {
            ["FunctionKeys:Functions:Secured"] = SecuredKey,
            ["FunctionKeys:Functions:Other:second"] = OtherKey,
            ["FunctionKeys:Host:ops"] = HostKey,
        };
        foreach (var (k, v) in settings ?? [])
        {
            all[k] = v;
        }

        var host = await app.StartAsync([typeof(Functions)], all, services: s =>
        {
            s.AddSingleton<Greeting>();
            if (logs is not null)
            {
                s.AddSingleton<ILoggerProvider>(logs);
            }
        });
        return (app, host, TestApp.Client(host));
    }

    private static HttpRequestMessage Get(string path, string? key = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (key is not null)
        {
            request.Headers.Add("x-functions-key", key);
        }

        return request;
    }

    [Fact]
    public async Task Function_keys_are_required_by_header_or_code_and_401_otherwise()
    {
        var (app, _, http) = await StartAsync();
        await using var _app = app;
        using var _http = http;

        Assert.Equal(HttpStatusCode.Unauthorized, (await http.SendAsync(Get("api/devices/5"))).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.SendAsync(Get("api/devices/5", "wrong-key-0123456789abcdef"))).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.SendAsync(Get("api/devices/5", OtherKey))).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync("api/devices/5?code=" + OtherKey)).StatusCode);

        var byHeader = await http.SendAsync(Get("api/devices/5", SecuredKey));
        Assert.Equal(HttpStatusCode.OK, byHeader.StatusCode);
        Assert.Equal(5, (await byHeader.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetInt32());
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("api/devices/6?code=" + SecuredKey)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.SendAsync(Get("api/devices/7", HostKey))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.SendAsync(Get("api/devices/8", TestApp.MasterKey))).StatusCode);
        Assert.Equal("other", await (await http.SendAsync(Get("api/Other", OtherKey))).Content.ReadAsStringAsync());

        // Admin level: the master key only.
        var reset = new HttpRequestMessage(HttpMethod.Delete, "api/ops/reset");
        reset.Headers.Add("x-functions-key", HostKey);
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.SendAsync(reset)).StatusCode);
        var resetAsMaster = new HttpRequestMessage(HttpMethod.Delete, "api/ops/reset");
        resetAsMaster.Headers.Add("x-functions-key", TestApp.MasterKey);
        Assert.Equal(HttpStatusCode.NoContent, (await http.SendAsync(resetAsMaster)).StatusCode);
    }

    [Fact]
    public async Task Results_bindings_and_failures_map_to_http()
    {
        var (app, _, http) = await StartAsync();
        await using var _app = app;
        using var _http = http;

        var anonymous = await http.GetAsync("api/Anonymous");
        Assert.Equal(HttpStatusCode.OK, anonymous.StatusCode);
        Assert.Equal("text/plain", anonymous.Content.Headers.ContentType?.MediaType);
        Assert.Equal("hello", await anonymous.Content.ReadAsStringAsync());

        var echo = await http.PostAsync("api/Echo", new StringContent("ping"));
        var body = await echo.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("ping", body.GetProperty("body").GetString());
        Assert.Equal("Echo", body.GetProperty("function").GetString());

        Assert.Equal("item 42", await http.GetStringAsync("api/items/42"));
        var badRoute = await http.GetAsync("api/items/forty-two");
        Assert.Equal(HttpStatusCode.BadRequest, badRoute.StatusCode);
        Assert.Contains("number", await badRoute.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        var boom = await http.GetAsync("api/Boom");
        Assert.Equal(HttpStatusCode.InternalServerError, boom.StatusCode);
        Assert.DoesNotContain("secret internals", await boom.Content.ReadAsStringAsync(), StringComparison.Ordinal);

        var written = await http.GetAsync("api/Written");
        Assert.Equal((HttpStatusCode)418, written.StatusCode);
        Assert.Equal("short and stout", await written.Content.ReadAsStringAsync());

        Assert.Equal(HttpStatusCode.MethodNotAllowed, (await http.GetAsync("api/Echo")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("api/nothing-here")).StatusCode);
    }

    [Fact]
    public async Task Route_prefix_and_disabled_functions_apply()
    {
        var (app, host, http) = await StartAsync(
            """{ "version": "2.0", "extensions": { "http": { "routePrefix": "" } } }""",
            new Dictionary<string, string?> { ["AzureWebJobs.Echo.Disabled"] = "true" });
        await using var _app = app;
        using var _http = http;

        Assert.Equal("hello", await http.GetStringAsync("Anonymous"));
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync("api/Anonymous")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await http.PostAsync("Echo", new StringContent("x"))).StatusCode);
        Assert.Equal(["Echo"], host.DisabledFunctions);
    }

    [Fact]
    public async Task Health_endpoints_report_the_host()
    {
        var (app, host, http) = await StartAsync();
        await using var _app = app;
        using var _http = http;

        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync("admin/host/ping")).StatusCode);

        // Anonymous callers (the host listens on all interfaces) learn the state and status only.
        var status = await http.GetAsync("admin/host/status");
        Assert.Equal(HttpStatusCode.OK, status.StatusCode);
        var body = await status.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("Running", body.GetProperty("state").GetString());
        Assert.Equal("Healthy", body.GetProperty("status").GetString());
        Assert.False(body.TryGetProperty("id", out _));
        Assert.False(body.TryGetProperty("checks", out _));

        // A host key is not enough for the detail; the master key is.
        var withHostKey = await (await http.SendAsync(Get("admin/host/status", HostKey))).Content.ReadFromJsonAsync<JsonElement>();
        Assert.False(withHostKey.TryGetProperty("checks", out _));
        var detailed = await (await http.SendAsync(Get("admin/host/status", TestApp.MasterKey))).Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(host.HostId, detailed.GetProperty("id").GetString());
        Assert.Equal("Healthy", detailed.GetProperty("status").GetString());
        Assert.Equal("functions-host", Assert.Single(detailed.GetProperty("checks").EnumerateArray()).GetProperty("name").GetString());
    }

    [Fact]
    public async Task Each_invocation_logs_function_trigger_id_duration_and_outcome()
    {
        var logs = new LogCapture();
        var (app, _, http) = await StartAsync(logs: logs);
        await using var _app = app;
        using var _http = http;

        await http.GetAsync("api/Anonymous");
        await http.GetAsync("api/Boom");
        await Wait.UntilAsync(() => logs.Entries.Count(e => e.EventId.Id is 4101 or 4102) >= 2, "both invocations to be logged");

        var ok = logs.Entries.Single(e => e.EventId.Id == 4101);
        Assert.Equal("Function.Anonymous", ok.Category);
        Assert.Equal("Anonymous", ok.State["FunctionName"]);
        Assert.Equal("httpTrigger", ok.State["Trigger"]);
        Assert.Equal("Succeeded", ok.State["Outcome"]!.ToString());
        Assert.IsType<long>(ok.State["DurationMs"]);
        Assert.Equal(ok.State["InvocationId"], ok.Scope["InvocationId"]);
        Assert.Equal("Anonymous", ok.Scope["FunctionName"]);
        var executing = logs.Entries.Single(e => e.EventId.Id == 4100 && Equals(e.State["InvocationId"], ok.State["InvocationId"]));
        Assert.Equal(LogLevel.Information, executing.Level);

        var failed = logs.Entries.Single(e => e.EventId.Id == 4102);
        Assert.Equal(LogLevel.Error, failed.Level);
        Assert.Equal("Failed", failed.State["Outcome"]!.ToString());
        Assert.IsType<InvalidOperationException>(failed.Exception);
        Assert.DoesNotContain(logs.Entries, e => e.Message.Contains(SecuredKey, StringComparison.Ordinal) || e.Message.Contains(TestApp.MasterKey, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Cors_origins_from_the_host_settings_are_allowed()
    {
        var (app, _, http) = await StartAsync(settings: new Dictionary<string, string?> { ["Host:CORS"] = "https://portal.example.com" });
        await using var _app = app;
        using var _http = http;

        using var allowed = new HttpRequestMessage(HttpMethod.Get, "api/Anonymous");
        allowed.Headers.Add("Origin", "https://portal.example.com");
        var response = await http.SendAsync(allowed);
        Assert.Equal("https://portal.example.com", response.Headers.GetValues("Access-Control-Allow-Origin").Single());

        using var other = new HttpRequestMessage(HttpMethod.Get, "api/Anonymous");
        other.Headers.Add("Origin", "https://evil.example.com");
        Assert.False((await http.SendAsync(other)).Headers.Contains("Access-Control-Allow-Origin"));
    }

    [Fact]
    public async Task A_port_in_use_refuses_to_start_naming_the_setting()
    {
        var (app, host, http) = await StartAsync();
        await using var _app = app;
        using var _http = http;
        await using var second = TestApp.Create();
        var builder = FunctionsApplication.CreateBuilder(new FunctionsApplicationOptions
        {
            ContentRoot = second.ContentRoot,
            FunctionTypes = [typeof(Functions)],
            HttpPort = host.BaseAddress.Port,
        });
        builder.Services.AddSingleton<Greeting>();
        await using var blocked = builder.Build();
        var ex = await Assert.ThrowsAsync<HostConfigurationException>(() => blocked.StartAsync());
        Assert.Equal("Host:LocalHttpPort", ex.Setting);
    }
}

/// <summary>A host whose storage account is unreachable still starts, serves HTTP, reports Degraded and stops promptly.</summary>
public sealed class StorageOutageTests
{
    public sealed class Mixed
    {
        [Function("Hello")]
        public static string Hello([HttpTrigger(AuthorizationLevel.Anonymous, "get")] Microsoft.AspNetCore.Http.HttpRequest request) => "still here";

        [Function("Orders")]
        public static void Orders([QueueTrigger("orders")] string message) { }

        [Function("Sweep")]
        public static void Sweep([TimerTrigger("0 */5 * * * *")] TimerInfo timer) { }
    }

    [Fact]
    public async Task Unreachable_storage_does_not_stop_the_host()
    {
        // Nothing listens on this port: every storage request is refused.
        var port = Fleet.Testing.FreePort.Next();
        var connection = $"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={Fleet.Testing.AzuriteInstance.AccountKey};" +
            $"BlobEndpoint=http://127.0.0.1:{port}/devstoreaccount1;QueueEndpoint=http://127.0.0.1:{port}/devstoreaccount1;";
        await using var app = TestApp.Create();
        var host = await app.StartAsync([typeof(Mixed)], new Dictionary<string, string?> { ["AzureWebJobsStorage"] = connection });
        using var http = TestApp.Client(host);
        Assert.Equal("still here", await http.GetStringAsync("api/Hello"));

        await Wait.UntilAsync(
            async () =>
            {
                using var response = await http.GetAsync("admin/host/status");
                var body = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
                return body.GetProperty("status").GetString() == "Degraded";
            },
            "health to report the unreachable storage",
            TimeSpan.FromSeconds(60));

        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await host.StopAsync(bound.Token);
        Assert.False(bound.IsCancellationRequested);
    }
}
