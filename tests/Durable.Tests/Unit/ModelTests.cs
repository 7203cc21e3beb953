using Fleet.Durable.Client;
using Fleet.Durable.History;
using Fleet.Durable.Sqlite;
using Fleet.Durable.Storage;
using Fleet.Durable.Tests.Conformance;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Fleet.Durable.Tests.Unit;

/// <summary>Programming-model types: names, retry policies, failure details, registry, serialization, DI.</summary>
public sealed class ModelTests
{
    [Fact]
    public void Task_names_compare_case_insensitively()
    {
        Assert.Equal(new TaskName("SayHello"), (TaskName)"sayhello");
        Assert.Equal(new TaskName("A").GetHashCode(), new TaskName("a").GetHashCode());
        Assert.NotEqual(new TaskName("A"), new TaskName("B"));
        Assert.Throws<ArgumentException>(() => new TaskName(string.Empty));
    }

    [Fact]
    public void Retry_policy_validates_and_computes_capped_exponential_delays()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new RetryPolicy(0, TimeSpan.FromSeconds(1)));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RetryPolicy(1, TimeSpan.Zero));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RetryPolicy(1, TimeSpan.FromSeconds(1), 0.5));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RetryPolicy(1, TimeSpan.FromSeconds(2), maxRetryInterval: TimeSpan.FromSeconds(1)));
        Assert.Throws<ArgumentOutOfRangeException>(() => new RetryPolicy(1, TimeSpan.FromSeconds(2), retryTimeout: TimeSpan.FromSeconds(1)));

        var policy = new RetryPolicy(5, TimeSpan.FromSeconds(1), 3, TimeSpan.FromSeconds(20), TimeSpan.FromSeconds(30));
        Assert.Equal(TimeSpan.FromHours(1), new RetryPolicy(2, TimeSpan.FromSeconds(1)).MaxRetryInterval);
        Assert.Equal(TimeSpan.FromSeconds(1), policy.GetDelayBefore(2, TimeSpan.Zero));
        Assert.Equal(TimeSpan.FromSeconds(3), policy.GetDelayBefore(3, TimeSpan.FromSeconds(1)));
        Assert.Equal(TimeSpan.FromSeconds(9), policy.GetDelayBefore(4, TimeSpan.FromSeconds(4)));
        Assert.Null(policy.GetDelayBefore(5, TimeSpan.FromSeconds(13))); // 20 s more would pass the 30 s timeout
        Assert.Equal(TimeSpan.FromSeconds(20), policy.GetDelayBefore(5, TimeSpan.Zero));
        Assert.Null(policy.GetDelayBefore(6, TimeSpan.Zero)); // past the attempt limit
    }

    [Fact]
    public void Failure_details_describe_exceptions_and_test_their_type()
    {
        var details = TaskFailureDetails.FromException(new InvalidOperationException("outer", new KeyNotFoundException("inner")));

        Assert.Equal("System.InvalidOperationException", details.ErrorType);
        Assert.True(details.IsCausedBy<InvalidOperationException>());
        Assert.True(details.IsCausedBy<SystemException>());
        Assert.False(details.IsCausedBy<ArgumentException>());
        Assert.True(details.InnerFailure!.IsCausedBy<KeyNotFoundException>());
        Assert.True(TaskFailureDetails.FromException(new PoisonMessageException("x")).IsCausedBy<PoisonMessageException>());
        Assert.False(new TaskFailureDetails("No.Such.Type", "m", null, null).IsCausedBy<Exception>());
        Assert.Throws<ArgumentException>(() => details.IsCausedBy(typeof(string)));
    }

    [Fact]
    public void Registry_refuses_duplicate_names_and_non_task_types()
    {
        var registry = new DurableTaskRegistry().AddOrchestratorFunc<int, int>("X", (_, i) => i);

        Assert.Throws<ArgumentException>(() => registry.AddOrchestratorFunc<int, int>("x", (_, i) => i));
        Assert.Throws<ArgumentException>(() => registry.AddActivity(typeof(string)));
        registry.AddActivityFunc<int, int>("X", (_, i) => i); // activities and orchestrators have separate names
        registry.AddActivity<NamedActivity>();
        Assert.Contains(new TaskName("custom-name"), registry.Activities.Keys);
    }

    [Fact]
    public void History_events_round_trip_through_their_stored_form()
    {
        var t = new DateTime(2026, 1, 2, 3, 4, 5, DateTimeKind.Utc);
        HistoryEvent[] events =
        [
            new OrchestratorStartedEvent(t),
            new ExecutionStartedEvent(t, "N", "e1", "1", "v2", new ParentInstanceInfo("P", "p1", "pe", 3), t.AddHours(1)),
            new TaskScheduledEvent(4, t, "A", "\"in\""),
            new TaskFailedEvent(t, 4, new TaskFailureDetails("T", "M", "S", new TaskFailureDetails("I", "J", null, null))),
            new TimerCreatedEvent(5, t, t.AddDays(1)),
            new ExecutionTerminatedEvent(t, "\"o\"", true),
        ];

        foreach (var e in events)
        {
            var text = HistorySerializer.Serialize(e);
            Assert.Equal(e, HistorySerializer.Deserialize(text) with { });
        }

        Assert.Contains("\"$t\":\"TaskScheduled\"", HistorySerializer.Serialize(events[2]), StringComparison.Ordinal);
        Assert.Throws<System.Text.Json.JsonException>(() => HistorySerializer.Deserialize("{\"$t\":\"Nope\"}"));
    }

    [Fact]
    public async Task AddDurableTask_registers_a_singleton_client_a_hosted_worker_and_a_store()
    {
        await using var stores = new SqliteStoreFactory();
        var services = new ServiceCollection();
        services.AddDurableTask(b => b.UseSqlite(stores.DatabasePath).AddTasks(r => r.AddOrchestratorFunc<int, int>("A", (_, i) => i)));
        services.AddDurableTask(b => b.AddTasks(r => r.AddActivityFunc<int, int>("B", (_, i) => i)).Configure(o => o.HubName = "h2"));
        await using var provider = services.BuildServiceProvider();

        Assert.Same(provider.GetRequiredService<DurableTaskClient>(), provider.GetRequiredService<DurableTaskClient>());
        Assert.IsType<StoreDurableTaskClient>(provider.GetRequiredService<DurableTaskClient>());
        Assert.IsType<SqliteOrchestrationStore>(provider.GetRequiredService<IOrchestrationStore>());
        Assert.Single(provider.GetServices<IHostedService>());
        var registry = provider.GetRequiredService<IOptions<DurableTaskRegistry>>().Value;
        Assert.Single(registry.Orchestrators);
        Assert.Single(registry.Activities);
        Assert.Equal("h2", provider.GetRequiredService<DurableTaskClient>().Name);
    }

    [Fact]
    public async Task Missing_store_is_reported_clearly()
    {
        var services = new ServiceCollection();
        services.AddDurableTask(b => b.AddTasks(_ => { }));
        await using var provider = services.BuildServiceProvider();

        var error = Assert.Throws<InvalidOperationException>(() => provider.GetRequiredService<DurableTaskClient>());
        Assert.Contains("UseSqlite", error.Message, StringComparison.Ordinal);
    }

    [DurableTask("custom-name")]
    private sealed class NamedActivity : TaskActivity<int, int>
    {
        public override Task<int> RunAsync(TaskActivityContext context, int input) => Task.FromResult(input);
    }
}
