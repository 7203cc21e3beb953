using Fleet.Durable;
using Fleet.Durable.Client;
using Fleet.Hosting.Indexing;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Fleet.Hosting.Tests;

/// <summary>Discovery and binding checks: a bad signature stops start-up naming the function and parameter.</summary>
public sealed class IndexingTests
{
    private const string DevStorage = "UseDevelopmentStorage=true";

    public sealed record Order(string Id);

    public sealed class QueueFunctions
    {
        [Function("OrderQueue")]
        public Task Run([QueueTrigger("%Orders:Queue%")] Order order, string id, long dequeueCount, DateTimeOffset insertionTime, FunctionContext context, CancellationToken cancellationToken) =>
            Task.CompletedTask;
    }

    public sealed class AllTriggers
    {
        [Function("Sweep")]
        public static void Sweep([TimerTrigger("%Sweep:Schedule%", RunOnStartup = true)] TimerInfo timer, [DurableClient] DurableTaskClient client) { }

        [Function("Hello")]
        public static string Hello([HttpTrigger(AuthorizationLevel.Function, "get", "post", Route = "hello/{name}")] HttpRequest request, string name) => name;

        [Function("Provision")]
        public static Task<string> Provision([OrchestrationTrigger] TaskOrchestrationContext context, FunctionContext functionContext) => Task.FromResult("done");

        [Function("Claim")]
        public static int Claim([ActivityTrigger] Order order, TaskActivityContext activity, CancellationToken cancellationToken) => 1;
    }

    public sealed class NoTrigger
    {
        [Function("Lonely")]
        public static void Lonely(string text) { }
    }

    public sealed class UnbindableParameter
    {
        [Function("Bad")]
        public static void Bad([QueueTrigger("orders")] string message, Uri whatever) { }
    }

    public sealed class OrchestratorWithToken
    {
        [Function("Orchestrate")]
        public static Task Orchestrate([OrchestrationTrigger] TaskOrchestrationContext context, CancellationToken cancellationToken) => Task.CompletedTask;
    }

    public sealed class OrchestratorWithClient
    {
        [Function("Orchestrate")]
        public static Task Orchestrate([OrchestrationTrigger] TaskOrchestrationContext context, [DurableClient] DurableTaskClient client) => Task.CompletedTask;
    }

    public sealed class BadSchedule
    {
        [Function("Tick")]
        public static void Tick([TimerTrigger("*/5 * * * *")] TimerInfo timer) { }
    }

    public sealed class BadQueueName
    {
        [Function("Upper")]
        public static void Upper([QueueTrigger("Orders")] string message) { }
    }

    public sealed class WrongTimerType
    {
        [Function("Tick")]
        public static void Tick([TimerTrigger("0 * * * * *")] string timer) { }
    }

    public sealed class TwoTriggers
    {
        [Function("Both")]
        public static void Both([QueueTrigger("orders")] string message, [TimerTrigger("0 * * * * *")] TimerInfo timer) { }
    }

    public sealed class AsyncVoid
    {
        [Function("Fire")]
        public static async void Fire([QueueTrigger("orders")] string message) => await Task.Yield();
    }

    public sealed class Duplicates
    {
        [Function("Same")]
        public static void A([QueueTrigger("orders")] string message) { }

        [Function("same")]
        public static void B([QueueTrigger("others")] string message) { }
    }

    public sealed class NeedsService(IndexingTests.IMissingService service)
    {
        [Function("NeedsService")]
        public string Run([HttpTrigger(AuthorizationLevel.Anonymous)] HttpRequest request) => service.ToString()!;
    }

    public interface IMissingService;

    public sealed class BadRouteParameter
    {
        [Function("Route")]
        public static void Route([HttpTrigger(AuthorizationLevel.Anonymous, Route = "items/{id}")] HttpRequest request, int other) { }
    }

    private static FunctionIndexingException IndexingFails(Type type, IDictionary<string, string?>? settings = null)
    {
        var app = TestApp.Create();
        try
        {
            var all = new Dictionary<string, string?> { ["AzureWebJobsStorage"] = DevStorage };
            foreach (var (k, v) in settings ?? new Dictionary<string, string?>())
            {
                all[k] = v;
            }

            return Assert.Throws<FunctionIndexingException>(() => app.Builder([type], all).Build());
        }
        finally
        {
            app.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }

    [Fact]
    public async Task Every_trigger_kind_is_indexed_with_resolved_settings()
    {
        await using var app = TestApp.Create();
        await using var host = app.Builder([typeof(AllTriggers), typeof(QueueFunctions)], new Dictionary<string, string?>
        {
            ["AzureWebJobsStorage"] = DevStorage,
            ["Sweep:Schedule"] = "0 */5 * * * *",
            ["Orders:Queue"] = "orders-in",
        }).Build();
        var index = host.Services.GetRequiredService<FunctionIndex>();
        Assert.Equal(5, index.Functions.Count);
        Assert.Equal("0 */5 * * * *", index.Find("Sweep")!.Timer!.Expression);
        Assert.True(index.Find("Sweep")!.Timer!.RunOnStartup);
        Assert.True(index.Find("Sweep")!.Timer!.UseMonitor);
        Assert.Equal("orders-in", index.Find("OrderQueue")!.Queue!.QueueName);
        Assert.Equal("orders-in-poison", index.Find("OrderQueue")!.Queue!.PoisonQueueName);
        Assert.Equal("AzureWebJobsStorage", index.Find("OrderQueue")!.Queue!.ConnectionName);
        Assert.Equal("/api/hello/{name}", index.Find("Hello")!.Http!.Pattern);
        Assert.Equal(["GET", "POST"], index.Find("Hello")!.Http!.Methods);
        Assert.Equal(TriggerKind.Orchestration, index.Find("Provision")!.Kind);
        Assert.Equal(typeof(Order), index.Find("Claim")!.ActivityInputType);
        Assert.Contains(host.Functions, f => f is { Name: "Claim", TriggerType: "activityTrigger", EntryPoint: "Fleet.Hosting.Tests.IndexingTests+AllTriggers.Claim" });
    }

    [Fact]
    public async Task Schedules_under_a_minute_are_not_monitored()
    {
        await using var app = TestApp.Create();
        await using var host = app.Builder([typeof(AllTriggers)], new Dictionary<string, string?>
        {
            ["AzureWebJobsStorage"] = DevStorage,
            ["Sweep:Schedule"] = "*/10 * * * * *",
        }).Build();
        Assert.False(host.Services.GetRequiredService<FunctionIndex>().Find("Sweep")!.Timer!.UseMonitor);
    }

    [Fact]
    public void Missing_percent_setting_names_the_function_parameter_and_setting()
    {
        var ex = IndexingFails(typeof(QueueFunctions));
        Assert.Equal("OrderQueue", ex.FunctionName);
        Assert.Equal("order", ex.ParameterName);
        Assert.Equal("Orders:Queue", ex.Setting);
    }

    [Fact]
    public void A_function_without_trigger_is_refused()
    {
        var ex = IndexingFails(typeof(NoTrigger));
        Assert.Equal("Lonely", ex.FunctionName);
        Assert.Null(ex.ParameterName);
    }

    [Theory]
    [InlineData(typeof(UnbindableParameter), "Bad", "whatever")]
    [InlineData(typeof(OrchestratorWithToken), "Orchestrate", "cancellationToken")]
    [InlineData(typeof(OrchestratorWithClient), "Orchestrate", "client")]
    [InlineData(typeof(BadSchedule), "Tick", "timer")]
    [InlineData(typeof(BadQueueName), "Upper", "message")]
    [InlineData(typeof(WrongTimerType), "Tick", "timer")]
    [InlineData(typeof(TwoTriggers), "Both", "timer")]
    [InlineData(typeof(BadRouteParameter), "Route", "other")]
    [InlineData(typeof(NeedsService), "NeedsService", "service")]
    public void Invalid_signatures_are_refused_naming_function_and_parameter(Type type, string function, string parameter)
    {
        var ex = IndexingFails(type);
        Assert.Equal(function, ex.FunctionName);
        Assert.Equal(parameter, ex.ParameterName);
        Assert.Contains(function, ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(typeof(AsyncVoid), "Fire")]
    [InlineData(typeof(Duplicates), "Same")]
    public void Invalid_functions_are_refused_naming_the_function(Type type, string function)
    {
        var ex = IndexingFails(type);
        Assert.Equal(function, ex.FunctionName, ignoreCase: true);
    }

    [Fact]
    public async Task A_function_can_be_disabled_by_setting()
    {
        await using var app = TestApp.Create();
        await using var host = app.Builder([typeof(AllTriggers)], new Dictionary<string, string?>
        {
            ["AzureWebJobsStorage"] = DevStorage,
            ["Sweep:Schedule"] = "0 */5 * * * *",
            ["AzureWebJobs.Hello.Disabled"] = "true",
            ["AzureWebJobs:Sweep:Disabled"] = "1",
        }).Build();
        Assert.Equal(["Sweep", "Hello"], host.DisabledFunctions.Order().Reverse());
    }

    [Fact]
    public async Task Host_json_functions_list_selects_functions_and_rejects_unknown_names()
    {
        await using var app = TestApp.Create("""{ "version": "2.0", "functions": [ "Hello" ] }""");
        await using var host = app.Builder([typeof(AllTriggers)], new Dictionary<string, string?> { ["Sweep:Schedule"] = "0 */5 * * * *" }).Build();
        Assert.Equal(["Hello"], host.Functions.Select(f => f.Name));

        await using var typo = TestApp.Create("""{ "version": "2.0", "functions": [ "Helo" ] }""");
        var ex = Assert.Throws<HostConfigurationException>(() => typo.Builder([typeof(AllTriggers)], new Dictionary<string, string?> { ["Sweep:Schedule"] = "0 */5 * * * *" }).Build());
        Assert.Equal("functions", ex.Setting);
    }
}
