using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Fleet.Durable;
using Fleet.Durable.Client;
using Fleet.Storage;
using Fleet.Testing;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.DependencyInjection;

namespace Fleet.Hosting.Tests;

/// <summary>
/// Orchestrator and activity functions in the durable runtime (SQLite in a temp folder), the durable client binding,
/// CreateCheckStatusResponse and the Durable HTTP management API with its status codes, payloads and paging.
/// </summary>
[Collection("Azurite")]
public sealed class DurableTests(AzuriteFixture azurite)
{
    private const string StarterKey = "starter-function-key-0123456789";
    private const string Api = "runtime/webhooks/durabletask";
    private const string HostJson = """
        {
          "version": "2.0",
          "extensions": { "durableTask": { "hubName": "TestHub", "storageProvider": { "type": "sqlite", "connectionStringName": "DurableStore" } } }
        }
        """;

    public sealed record Approval(string By);

    public sealed record ClaimInput(string DeviceId);

    public sealed class Tally
    {
        public ConcurrentQueue<string> ActivityInstances { get; } = new();
    }

    public sealed class Functions(Tally tally)
    {
        [Function("StartHello")]
        public static async Task<IActionResult> Start(
            [HttpTrigger(AuthorizationLevel.Function, "post", Route = "hello/{name}")] HttpRequest request, string name, [DurableClient] DurableTaskClient client)
        {
            var instanceId = await client.ScheduleNewOrchestrationInstanceAsync(nameof(HelloOrchestrator), name);
            return await client.CreateCheckStatusResponseAsync(request, instanceId);
        }

        [Function(nameof(HelloOrchestrator))]
        public static async Task<string> HelloOrchestrator([OrchestrationTrigger] TaskOrchestrationContext context, FunctionContext functionContext)
        {
            var name = context.GetInput<string>();
            var greeting = await context.CallActivityAsync<string>(nameof(SayHello), new ClaimInput(name!));
            return $"{greeting} ({functionContext.FunctionDefinition.Name})";
        }

        [Function(nameof(SayHello))]
        public string SayHello([ActivityTrigger] ClaimInput input, TaskActivityContext activity, FunctionContext context)
        {
            tally.ActivityInstances.Enqueue(activity.InstanceId);
            return $"Hello {input.DeviceId} from {context.FunctionDefinition.Name}";
        }

        [Function(nameof(WaitForApproval))]
        public static async Task<string> WaitForApproval([OrchestrationTrigger] TaskOrchestrationContext context)
        {
            var approval = await context.WaitForExternalEvent<Approval>("Approve");
            return approval.By;
        }

        [Function(nameof(Quick))]
        public static string Quick([OrchestrationTrigger] TaskOrchestrationContext context) => "quick";

        [Function("QueueStarter")]
        public static Task QueueStarter([QueueTrigger("%Test:Queue%")] ClaimInput input, string id, [DurableClient] DurableTaskClient client) =>
            client.ScheduleNewOrchestrationInstanceAsync(nameof(HelloOrchestrator), input.DeviceId, new StartOrchestrationOptions("queued-" + id));
    }

    private async Task<(TestApp App, FunctionsHost Host, HttpClient Http)> StartAsync(Dictionary<string, string?>? settings = null)
    {
        var app = TestApp.Create(HostJson);
        var all = new Dictionary<string, string?>
        {
            ["FunctionKeys:Functions:StartHello"] = StarterKey,
            ["Test:Queue"] = "unused-queue",
            ["AzureWebJobsStorage"] = azurite.ConnectionString,
        };
        foreach (var (k, v) in settings ?? [])
        {
            all[k] = v;
        }

        var host = await app.StartAsync([typeof(Functions)], all, services: s =>
        {
            s.AddSingleton<Tally>();

            // A class-based orchestrator registered by the app itself, next to the function-based ones.
            s.AddDurableTask(d => d.AddTasks(r => r.AddOrchestratorFunc<string, string>("ClassBased", (context, input) => $"class-based {input}")));
        });
        var http = TestApp.Client(host);
        http.DefaultRequestHeaders.Add("x-functions-key", TestApp.DurableKey);
        return (app, host, http);
    }

    private Dictionary<string, string?> WithStorage(string queue) => new()
    {
        ["AzureWebJobsStorage"] = azurite.ConnectionString,
        ["Test:Queue"] = queue,
    };

    private static async Task<HttpResponseMessage> StartInstanceAsync(HttpClient http, string orchestrator, string? instanceId = null, string? json = null)
    {
        var content = json is null ? null : new StringContent(json, Encoding.UTF8, "application/json");
        return await http.PostAsync($"{Api}/orchestrators/{orchestrator}{(instanceId is null ? string.Empty : "/" + instanceId)}", content);
    }

    private static async Task<JsonElement> WaitForStatusAsync(HttpClient http, string instanceId, string status)
    {
        JsonElement body = default;
        await Wait.UntilAsync(async () =>
        {
            using var response = await http.GetAsync($"{Api}/instances/{instanceId}");
            body = await response.Content.ReadFromJsonAsync<JsonElement>();
            return body.GetProperty("runtimeStatus").GetString() == status;
        }, $"instance {instanceId} to be {status}");
        return body;
    }

    private static Task<HttpResponseMessage> RaiseAsync(HttpClient http, string instanceId, string json, string contentType = "application/json") =>
        http.PostAsync($"{Api}/instances/{instanceId}/raiseEvent/Approve", new StringContent(json, Encoding.UTF8, contentType));

    [Fact]
    public async Task Http_starter_returns_the_check_status_response_and_the_orchestration_runs_its_activity()
    {
        var (app, host, http) = await StartAsync();
        await using var _app = app;
        using var _http = http;
        using var anonymous = TestApp.Client(host);

        var unauthorized = await anonymous.PostAsync("api/hello/d-1", null);
        Assert.Equal(HttpStatusCode.Unauthorized, unauthorized.StatusCode);

        using var start = new HttpRequestMessage(HttpMethod.Post, "api/hello/d-1");
        start.Headers.Add("x-functions-key", StarterKey);
        var response = await anonymous.SendAsync(start);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal("10", response.Headers.GetValues("Retry-After").Single());
        var payload = await response.Content.ReadFromJsonAsync<JsonElement>();
        var id = payload.GetProperty("id").GetString()!;
        var statusUri = payload.GetProperty("statusQueryGetUri").GetString()!;
        Assert.Equal(new Uri(statusUri), response.Headers.Location);
        var expectedBase = $"{host.BaseAddress}{Api}/instances/{id}";
        var query = $"taskHub=TestHub&connection=Storage&code={TestApp.DurableKey}";
        Assert.Equal($"{expectedBase}?{query}", statusUri);
        Assert.Equal($"{expectedBase}/raiseEvent/{{eventName}}?{query}", payload.GetProperty("sendEventPostUri").GetString());
        Assert.Equal($"{expectedBase}/terminate?reason={{text}}&{query}", payload.GetProperty("terminatePostUri").GetString());
        Assert.Equal($"{expectedBase}/suspend?reason={{text}}&{query}", payload.GetProperty("suspendPostUri").GetString());
        Assert.Equal($"{expectedBase}/resume?reason={{text}}&{query}", payload.GetProperty("resumePostUri").GetString());
        Assert.Equal($"{expectedBase}?{query}", payload.GetProperty("purgeHistoryDeleteUri").GetString());

        // The status URL works as given, with its own key.
        JsonElement done = default;
        await Wait.UntilAsync(async () =>
        {
            using var status = await anonymous.GetAsync(statusUri);
            done = await status.Content.ReadFromJsonAsync<JsonElement>();
            return status.StatusCode == HttpStatusCode.OK;
        }, "the orchestration to complete");
        Assert.Equal("Completed", done.GetProperty("runtimeStatus").GetString());
        Assert.Equal("Hello d-1 from SayHello (HelloOrchestrator)", done.GetProperty("output").GetString());
        Assert.Equal("d-1", done.GetProperty("input").GetString());
        Assert.Equal("HelloOrchestrator", done.GetProperty("name").GetString());
        Assert.Equal([id], host.Services.GetRequiredService<Tally>().ActivityInstances);
    }

    [Fact]
    public async Task Starting_an_unknown_orchestrator_answers_400_naming_it_and_creates_nothing()
    {
        var (app, _, http) = await StartAsync();
        await using var _app = app;
        using var _http = http;

        var unknown = await StartInstanceAsync(http, "NoSuchOrchestrator", "ghost-1", """{ "x": 1 }""");
        Assert.Equal(HttpStatusCode.BadRequest, unknown.StatusCode);
        Assert.Contains("'NoSuchOrchestrator'", (await unknown.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync($"{Api}/instances/ghost-1")).StatusCode);

        // An activity is not an orchestrator; names match case-insensitively; the app's class-based ones count.
        Assert.Equal(HttpStatusCode.BadRequest, (await StartInstanceAsync(http, nameof(Functions.SayHello))).StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, (await StartInstanceAsync(http, "quick")).StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, (await StartInstanceAsync(http, "ClassBased", json: "\"x\"")).StatusCode);
    }

    [Fact]
    public async Task Management_api_status_codes_through_an_instance_lifecycle()
    {
        var (app, host, http) = await StartAsync();
        await using var _app = app;
        using var _http = http;

        var started = await StartInstanceAsync(http, nameof(Functions.WaitForApproval), "order-1", """{ "x": 1 }""");
        Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
        Assert.Equal("order-1", (await started.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString());
        Assert.NotNull(started.Headers.Location);

        Assert.Equal(HttpStatusCode.Conflict, (await StartInstanceAsync(http, nameof(Functions.WaitForApproval), "order-1")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await StartInstanceAsync(http, nameof(Functions.WaitForApproval), "order-x", "{ nope")).StatusCode);

        var running = await WaitForStatusAsync(http, "order-1", "Running");
        Assert.Equal(1, running.GetProperty("input").GetProperty("x").GetInt32());
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", running.GetProperty("createdTime").GetString());
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", running.GetProperty("lastUpdatedTime").GetString());
        var pending = await http.GetAsync($"{Api}/instances/order-1");
        Assert.Equal(HttpStatusCode.Accepted, pending.StatusCode);
        Assert.Equal("5", pending.Headers.GetValues("Retry-After").Single());
        Assert.Equal(pending.RequestMessage!.RequestUri, pending.Headers.Location);

        // Keys: none, the wrong one, the master one.
        using (var anonymous = TestApp.Client(host))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync($"{Api}/instances/order-1")).StatusCode);
            Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync($"{Api}/instances/order-1?code={StarterKey}")).StatusCode);
            Assert.Equal(HttpStatusCode.Accepted, (await anonymous.GetAsync($"{Api}/instances/order-1?code={TestApp.MasterKey}")).StatusCode);
        }

        Assert.Equal(HttpStatusCode.BadRequest, (await RaiseAsync(http, "order-1", "by=ops", "text/plain")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await RaiseAsync(http, "order-1", "{ broken")).StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, (await RaiseAsync(http, "order-1", """{ "by": "ops" }""")).StatusCode);
        var completed = await WaitForStatusAsync(http, "order-1", "Completed");
        Assert.Equal("ops", completed.GetProperty("output").GetString());
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync($"{Api}/instances/order-1")).StatusCode);

        // Operations on a finished instance: 410 Gone; on an unknown one: 404.
        Assert.Equal(HttpStatusCode.Gone, (await RaiseAsync(http, "order-1", "{}")).StatusCode);
        Assert.Equal(HttpStatusCode.Gone, (await http.PostAsync($"{Api}/instances/order-1/terminate?reason=late", null)).StatusCode);
        Assert.Equal(HttpStatusCode.Gone, (await http.PostAsync($"{Api}/instances/order-1/suspend", null)).StatusCode);
        Assert.Equal(HttpStatusCode.Gone, (await http.PostAsync($"{Api}/instances/order-1/resume", null)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync($"{Api}/instances/nobody")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await http.PostAsync($"{Api}/instances/nobody/terminate", null)).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await RaiseAsync(http, "nobody", "{}")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await http.GetAsync($"{Api}/instances/order-1?taskHub=OtherHub")).StatusCode);

        var history = await (await http.GetAsync($"{Api}/instances/order-1?showHistory=true&showHistoryOutput=true&showInput=false")).Content.ReadFromJsonAsync<JsonElement>();
        Assert.False(history.TryGetProperty("input", out _));
        var events = history.GetProperty("historyEvents").EnumerateArray().Select(e => e.GetProperty("EventType").GetString()).ToList();
        Assert.Equal("ExecutionStarted", events[0]);
        Assert.Contains("EventRaised", events);
        Assert.Equal("ExecutionCompleted", events[^1]);
        Assert.Equal("ops", history.GetProperty("historyEvents").EnumerateArray().Last().GetProperty("Result").GetString());

        // Suspend, resume, terminate.
        await StartInstanceAsync(http, nameof(Functions.WaitForApproval), "order-2");
        await WaitForStatusAsync(http, "order-2", "Running");
        Assert.Equal(HttpStatusCode.Accepted, (await http.PostAsync($"{Api}/instances/order-2/suspend?reason=hold", null)).StatusCode);
        await WaitForStatusAsync(http, "order-2", "Suspended");
        Assert.Equal(HttpStatusCode.Accepted, (await http.GetAsync($"{Api}/instances/order-2")).StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, (await http.PostAsync($"{Api}/instances/order-2/resume?reason=go", null)).StatusCode);
        await WaitForStatusAsync(http, "order-2", "Running");
        Assert.Equal(HttpStatusCode.Accepted, (await http.PostAsync($"{Api}/instances/order-2/terminate?reason=cancelled", null)).StatusCode);
        await WaitForStatusAsync(http, "order-2", "Terminated");
        Assert.Equal(HttpStatusCode.OK, (await http.GetAsync($"{Api}/instances/order-2")).StatusCode);

        // Purge: a running instance cannot be purged (412); a finished one can, once.
        await StartInstanceAsync(http, nameof(Functions.WaitForApproval), "order-3");
        await WaitForStatusAsync(http, "order-3", "Running");
        Assert.Equal(HttpStatusCode.PreconditionFailed, (await http.DeleteAsync($"{Api}/instances/order-3")).StatusCode);
        var purged = await http.DeleteAsync($"{Api}/instances/order-1");
        Assert.Equal(HttpStatusCode.OK, purged.StatusCode);
        Assert.Equal(1, (await purged.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("instancesDeleted").GetInt32());
        Assert.Equal(HttpStatusCode.NotFound, (await http.DeleteAsync($"{Api}/instances/order-1")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await http.GetAsync($"{Api}/instances/order-1")).StatusCode);
    }

    [Fact]
    public async Task Management_api_lists_with_filters_and_continuation_and_purges_in_bulk()
    {
        var (app, _, http) = await StartAsync();
        await using var _app = app;
        using var _http = http;

        var before = DateTimeOffset.UtcNow.AddMinutes(-1).ToString("o");
        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(HttpStatusCode.Accepted, (await StartInstanceAsync(http, nameof(Functions.Quick), $"page-{i}")).StatusCode);
        }

        Assert.Equal(HttpStatusCode.Accepted, (await StartInstanceAsync(http, "ClassBased", "page-class", "\"app\"")).StatusCode);
        await StartInstanceAsync(http, nameof(Functions.WaitForApproval), "other-1");
        for (var i = 0; i < 5; i++)
        {
            await WaitForStatusAsync(http, $"page-{i}", "Completed");
        }

        Assert.Equal("class-based app", (await WaitForStatusAsync(http, "page-class", "Completed")).GetProperty("output").GetString());
        await WaitForStatusAsync(http, "other-1", "Running");

        var ids = new List<string>();
        string? token = null;
        var pages = 0;
        do
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, $"{Api}/instances?instanceIdPrefix=page-&top=2");
            if (token is not null)
            {
                request.Headers.Add("x-ms-continuation-token", token);
            }

            var response = await http.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var items = (await response.Content.ReadFromJsonAsync<JsonElement>()).EnumerateArray().ToList();
            Assert.InRange(items.Count, 1, 2);
            Assert.All(items, item => Assert.False(item.TryGetProperty("input", out _)));
            ids.AddRange(items.Select(item => item.GetProperty("instanceId").GetString()!));
            token = response.Headers.TryGetValues("x-ms-continuation-token", out var values) ? values.Single() : null;
            pages++;
        }
        while (token is not null && pages < 10);

        Assert.Equal(3, pages);
        Assert.Equal(["page-0", "page-1", "page-2", "page-3", "page-4", "page-class"], ids.Order());

        var running = await (await http.GetAsync($"{Api}/instances?runtimeStatus=Running,Pending&showInput=true")).Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(["other-1"], running.EnumerateArray().Select(i => i.GetProperty("instanceId").GetString()));
        Assert.Equal(HttpStatusCode.BadRequest, (await http.GetAsync($"{Api}/instances?runtimeStatus=Sleeping")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await http.GetAsync($"{Api}/instances?top=0")).StatusCode);

        Assert.Equal(HttpStatusCode.BadRequest, (await http.DeleteAsync($"{Api}/instances?runtimeStatus=Completed")).StatusCode);
        var bulk = await http.DeleteAsync($"{Api}/instances?createdTimeFrom={Uri.EscapeDataString(before)}&runtimeStatus=Completed");
        Assert.Equal(HttpStatusCode.OK, bulk.StatusCode);
        Assert.Equal(6, (await bulk.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("instancesDeleted").GetInt32());
        Assert.Equal(HttpStatusCode.NotFound, (await http.DeleteAsync($"{Api}/instances?createdTimeFrom={Uri.EscapeDataString(before)}&runtimeStatus=Completed")).StatusCode);
        Assert.Equal(HttpStatusCode.Accepted, (await http.GetAsync($"{Api}/instances/other-1")).StatusCode);
    }

    [Fact]
    public async Task A_queue_function_starts_orchestrations_through_its_durable_client()
    {
        var queueName = $"start-{Guid.NewGuid():N}"[..26];
        var queue = StorageConnection.Parse(azurite.ConnectionString).CreateQueueServiceClient().GetQueueClient(queueName);
        await queue.CreateIfNotExistsAsync();
        var sent = await queue.SendMessageAsync("""{ "deviceId": "d-99" }""");
        var (app, host, http) = await StartAsync(WithStorage(queueName));
        await using var _app = app;
        using var _http = http;

        var client = host.Services.GetRequiredService<DurableTaskClient>();
        await Wait.UntilAsync(async () => await client.GetInstanceAsync("queued-" + sent.MessageId) is not null, "the queue function to start the orchestration");
        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        var done = await client.WaitForInstanceCompletionAsync("queued-" + sent.MessageId, getInputsAndOutputs: true, bound.Token);
        Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
        Assert.Equal("Hello d-99 from SayHello (HelloOrchestrator)", done.ReadOutputAs<string>());
        Assert.Equal("TestHub", client.Name);
    }

    [Fact]
    public async Task Without_a_connection_the_sqlite_store_lives_under_the_content_root()
    {
        await using var app = TestApp.Create("""{ "version": "2.0" }""");
        // Development turns on DI scope and build validation, as a local run would.
        var host = await app.StartAsync(
            [typeof(Functions)], new Dictionary<string, string?> { ["Test:Queue"] = "unused-queue", ["AzureWebJobsStorage"] = azurite.ConnectionString },
            services: s => s.AddSingleton<Tally>(), environment: "Development");
        using var http = TestApp.Client(host);
        http.DefaultRequestHeaders.Add("x-functions-key", TestApp.DurableKey);
        await StartInstanceAsync(http, nameof(Functions.Quick), "local-1");
        await WaitForStatusAsync(http, "local-1", "Completed");
        Assert.True(File.Exists(Path.Combine(app.ContentRoot, "data", "durabletask.db")));
        Assert.Equal("Development", host.Services.GetRequiredService<Microsoft.Extensions.Hosting.IHostEnvironment>().EnvironmentName);
        Assert.Equal("TestHubName", host.Services.GetRequiredService<DurableTaskClient>().Name);
    }

    [Fact]
    public async Task The_durable_store_connection_setting_must_exist()
    {
        await using var app = TestApp.Create(HostJson.Replace("DurableStore", "MissingStore", StringComparison.Ordinal));
        var ex = Assert.Throws<HostConfigurationException>(() => app.Builder([typeof(Functions)], new Dictionary<string, string?> { ["Test:Queue"] = "q-q-q", ["AzureWebJobsStorage"] = "UseDevelopmentStorage=true" }).Build());
        Assert.Equal("MissingStore", ex.Setting);
    }
}
