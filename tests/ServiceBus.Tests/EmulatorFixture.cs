using Azure.Messaging.ServiceBus;

namespace Fleet.ServiceBus.Tests;

/// <summary>
/// An in-memory emulator on a free port with the entities the tests use, and a real <see cref="ServiceBusClient"/>
/// on its connection string. Each test uses its own entities, so tests of one class do not see each other's messages.
/// </summary>
public class EmulatorFixture : IAsyncLifetime
{
    private ServiceBusEmulator? _emulator;

    public ServiceBusEmulator Emulator => _emulator ?? throw new InvalidOperationException("Not started.");

    public ServiceBusClient Client { get; private set; } = null!;

    /// <summary>The clock the emulator runs on; the system clock unless a derived fixture fakes it.</summary>
    protected virtual TimeProvider Time => TimeProvider.System;

    public virtual async Task InitializeAsync()
    {
        _emulator = await ServiceBusEmulator.StartAsync(new ServiceBusEmulatorOptions { ConfigJson = Config() }, Time, TestLogging.Factory);
        Client = NewClient(_emulator.ConnectionString);
    }

    public virtual async Task DisposeAsync()
    {
        await Client.DisposeAsync();
        if (_emulator is not null)
        {
            await _emulator.DisposeAsync();
        }
    }

    /// <summary>A client that fails fast: tests wait for awaited conditions, not for retries.</summary>
    public static ServiceBusClient NewClient(string connectionString, TimeSpan? tryTimeout = null) => new(connectionString, new ServiceBusClientOptions
    {
        RetryOptions = new ServiceBusRetryOptions { MaxRetries = 1, TryTimeout = tryTimeout ?? TimeSpan.FromSeconds(15), Delay = TimeSpan.FromMilliseconds(100) },
    });

    /// <summary>Every entity the fixture's tests use.</summary>
    public static string Config() => new TestConfig()
        .Queue("basic").Queue("abandon").Queue("deadletter").Queue("maxdelivery", maxDeliveryCount: 3)
        .Queue("peek").Queue("batch").Queue("deferred").Queue("scheduled").Queue("dupes", duplicateDetection: true)
        .Queue("processor").Queue("receive-delete").Queue("load").Queue("errors").Queue("renew")
        .Queue("locks", lockDuration: "PT5S").Queue("ttl", ttl: "PT10S", deadLetterOnExpiry: true).Queue("ttl-drop", ttl: "PT10S")
        .Topic("events",
            TestConfig.Subscription("all"),
            TestConfig.Subscription("orders", TestConfig.CorrelationRule("orders-only", new() { ["Label"] = "order" })),
            TestConfig.Subscription("eu", TestConfig.CorrelationRule("eu-only", new() { ["Properties"] = new System.Text.Json.Nodes.JsonObject { ["region"] = "eu" } })),
            TestConfig.Subscription("none", TestConfig.SqlRule("nothing", "1=0")))
        .Topic("ruled", TestConfig.Subscription("managed"))
        .SessionQueue("session-order").SessionQueue("session-exclusive").SessionQueue("session-next").SessionQueue("session-state")
        .SessionQueue("session-settle").SessionQueue("session-processor").SessionQueue("session-errors").SessionQueue("session-restart")
        .SessionQueue("session-locks", lockDuration: "PT10S")
        .Topic("session-topic", TestConfig.Subscription("by-session", requiresSession: true), TestConfig.Subscription("plain"))
        .Build();
}
