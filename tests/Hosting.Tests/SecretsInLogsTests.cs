using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Fleet.Durable;
using Fleet.Durable.Client;
using Fleet.Hosting.Http;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Fleet.Hosting.Tests;

/// <summary>
/// Keys travel in <c>?code=</c> (function calls, the Durable management URLs): none may reach a log, an error
/// answer or the health output, whatever host.json's log levels are.
/// </summary>
public sealed class SecretsInLogsTests
{
    private const string FunctionKey = "device-function-key-0123456789";
    private const string WrongKey = "a-wrong-but-real-looking-key-42";
    private const string Api = "runtime/webhooks/durabletask";

    public sealed class Functions
    {
        [Function("Device")]
        public static string Device([HttpTrigger(AuthorizationLevel.Function, "get", Route = "devices/{id}")] HttpRequest request, string id) => id;

        [Function("Broken")]
        public static void Broken([HttpTrigger(AuthorizationLevel.Function, "get")] HttpRequest request) =>
            throw new InvalidOperationException("The registry rejected the call to " + request.Path);

        [Function("Start")]
        public static async Task<IActionResult> Start(
            [HttpTrigger(AuthorizationLevel.Function, "post")] HttpRequest request, [DurableClient] DurableTaskClient client)
        {
            var instanceId = await client.ScheduleNewOrchestrationInstanceAsync(nameof(Hello), "fleet");
            return await client.CreateCheckStatusResponseAsync(request, instanceId);
        }

        [Function(nameof(Hello))]
        public static string Hello([OrchestrationTrigger] TaskOrchestrationContext context) => "hello " + context.GetInput<string>();
    }

    [Theory]
    [InlineData("""{ "version": "2.0" }""")]
    [InlineData("""{ "version": "2.0", "logging": { "logLevel": { "default": "Trace", "Microsoft.AspNetCore": "Trace", "Microsoft.AspNetCore.Hosting.Diagnostics": "Trace" } } }""")]
    public async Task Keys_in_urls_never_reach_logs_errors_or_health(string hostJson)
    {
        var logs = new LogCapture();
        await using var app = TestApp.Create(hostJson);
        var host = await app.StartAsync(
            [typeof(Functions)],
            new Dictionary<string, string?> { ["FunctionKeys:Functions:Device"] = FunctionKey, ["FunctionKeys:Functions:Broken"] = FunctionKey, ["FunctionKeys:Functions:Start"] = FunctionKey },
            services: s => s.AddSingleton<ILoggerProvider>(logs));
        using var http = TestApp.Client(host);
        var bodies = new List<string>();

        Assert.Equal("d-1", await http.GetStringAsync($"api/devices/d-1?code={FunctionKey}"));
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync($"api/devices/d-1?code={WrongKey}")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await http.GetAsync($"api/devices/d-1?CODE={WrongKey}")).StatusCode);
        var broken = await http.GetAsync($"api/Broken?code={FunctionKey}");
        Assert.Equal(HttpStatusCode.InternalServerError, broken.StatusCode);
        bodies.Add(await broken.Content.ReadAsStringAsync());

        // The starter's answer carries the system key in every management URL; follow one of them.
        var started = await http.PostAsync($"api/Start?code={FunctionKey}", null);
        Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
        var statusUri = (await started.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("statusQueryGetUri").GetString()!;
        Assert.Contains("code=" + TestApp.DurableKey, statusUri, StringComparison.Ordinal);
        await Wait.UntilAsync(async () => (await http.GetAsync(statusUri)).StatusCode == HttpStatusCode.OK, "the orchestration to complete");
        var direct = await http.PostAsync($"{Api}/orchestrators/{nameof(Functions.Hello)}?code={TestApp.MasterKey}", null);
        Assert.Equal(HttpStatusCode.Accepted, direct.StatusCode);
        bodies.Add(await (await http.GetAsync($"{Api}/instances/nope?code={TestApp.MasterKey}")).Content.ReadAsStringAsync());
        bodies.Add(await http.GetStringAsync($"admin/host/status?code={TestApp.MasterKey}"));
        bodies.Add(await http.GetStringAsync($"admin/host/status?code={WrongKey}"));

        // The host's own request log saw every request, with the key redacted.
        await Wait.UntilAsync(() => logs.Entries.Count(e => e.EventId.Id == 4401) >= 10, "the request log");
        var requests = logs.Entries.Where(e => e.EventId.Id == 4401).ToList();
        Assert.Contains(requests, e => Equals(e.State["Path"], "/api/devices/d-1") && Equals(e.State["Query"], "?code=[Redacted]") && Equals(e.State["StatusCode"], 200));
        Assert.Contains(requests, e => Equals(e.State["Query"], "?CODE=[Redacted]") && Equals(e.State["StatusCode"], 401));
        Assert.Contains(requests, e => ((string)e.State["Query"]!).EndsWith("&code=[Redacted]", StringComparison.Ordinal) && Equals(e.State["StatusCode"], 200));
        Assert.Contains(logs.Entries, e => e.EventId.Id == 4102 && e.Exception is InvalidOperationException);

        // ASP.NET Core's own request lines (which carry the full URL) stay out, whatever host.json asks for.
        Assert.DoesNotContain(logs.Entries, e => e.Category == RequestLogging.AspNetCoreRequestCategory && e.Level < LogLevel.Warning);

        foreach (var key in new[] { FunctionKey, WrongKey, TestApp.DurableKey, TestApp.MasterKey })
        {
            foreach (var entry in logs.Entries)
            {
                var texts = new[] { entry.Message, entry.Exception?.ToString() }
                    .Concat(entry.State.Values.Select(v => v?.ToString()))
                    .Concat(entry.Scope.Values.Select(v => v?.ToString()));
                Assert.DoesNotContain(texts, t => t is not null && t.Contains(key, StringComparison.Ordinal));
            }

            Assert.DoesNotContain(bodies, b => b.Contains(key, StringComparison.Ordinal));
        }
    }

    [Theory]
    [InlineData(null, "")]
    [InlineData("", "")]
    [InlineData("?code=abc", "?code=[Redacted]")]
    [InlineData("?a=1&code=abc&b=2", "?a=1&code=[Redacted]&b=2")]
    [InlineData("?Code=abc&code=def", "?Code=[Redacted]&code=[Redacted]")]
    [InlineData("?c%6Fde=abc", "?c%6Fde=[Redacted]")]
    [InlineData("?code", "?code=[Redacted]")]
    [InlineData("?codes=1&xcode=2&taskHub=h", "?codes=1&xcode=2&taskHub=h")]
    public void Request_log_queries_redact_every_code_parameter(string? query, string expected) =>
        Assert.Equal(expected, RequestLogging.RedactQuery(query));
}
