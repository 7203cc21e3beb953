using System.Collections.Concurrent;
using System.ComponentModel.DataAnnotations;
using System.Text;
using System.Text.Json;
using Fleet.Storage;
using Fleet.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Fleet.Hosting.Tests;

/// <summary>The queue trigger against a real Azurite: binding, retries, poison handling, concurrency, shutdown.</summary>
[Collection("Azurite")]
public sealed class QueueTests(AzuriteFixture azurite)
{
    public sealed class DeviceRequest : IValidatableObject
    {
        [Required]
        [RegularExpression("^d-[0-9]+$")]
        public string? DeviceId { get; set; }

        public int Priority { get; set; }

        public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
        {
            if (Priority > 10)
            {
                yield return new ValidationResult("Priority must be at most 10.", [nameof(Priority)]);
            }
        }
    }

    /// <summary>What the test functions saw; one per test, injected into the function classes.</summary>
    public sealed class Probe
    {
        private int _attempts;
        private int _running;
        private int _peak;
        private int _observedCancellation;

        public ConcurrentQueue<(DeviceRequest Request, string Id, long DequeueCount, DateTimeOffset InsertionTime, string InvocationId)> Requests { get; } = new();

        public ConcurrentQueue<string> Texts { get; } = new();

        public ConcurrentQueue<byte[]> Bodies { get; } = new();

        public SemaphoreSlim Gate { get; } = new(0);

        public TaskCompletionSource Started { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public int Attempts => Volatile.Read(ref _attempts);

        public int Running => Volatile.Read(ref _running);

        public int Peak => Volatile.Read(ref _peak);

        public bool ObservedCancellation => Volatile.Read(ref _observedCancellation) == 1;

        public void Attempt() => Interlocked.Increment(ref _attempts);

        public void Cancelled() => Volatile.Write(ref _observedCancellation, 1);

        public void Enter()
        {
            var now = Interlocked.Increment(ref _running);
            int current;
            while ((current = Volatile.Read(ref _peak)) < now && Interlocked.CompareExchange(ref _peak, now, current) != current)
            {
            }
        }

        public void Leave() => Interlocked.Decrement(ref _running);
    }

    public sealed class PocoFunction(Probe probe)
    {
        [Function("Provision")]
        public void Run([QueueTrigger("%Test:Queue%")] DeviceRequest request, string id, long dequeueCount, DateTimeOffset insertionTime, FunctionContext context) =>
            probe.Requests.Enqueue((request, id, dequeueCount, insertionTime, context.InvocationId));
    }

    public sealed class BytesFunction(Probe probe)
    {
        [Function("Bytes")]
        public void Run([QueueTrigger("%Test:Queue%")] byte[] body, string queueTrigger)
        {
            probe.Bodies.Enqueue(body);
            probe.Texts.Enqueue(queueTrigger);
        }
    }

    public sealed class StringFunction(Probe probe)
    {
        [Function("Text")]
        public void Run([QueueTrigger("%Test:Queue%")] string text) => probe.Texts.Enqueue(text);
    }

    public sealed class FailingFunction(Probe probe)
    {
        [Function("Failing")]
        public void Run([QueueTrigger("%Test:Queue%")] string text)
        {
            probe.Attempt();
            throw new InvalidOperationException("Device registry said no.\nSecond line with details that stay out of the reason.");
        }
    }

    public sealed class BlockingFunction(Probe probe)
    {
        [Function("Blocking")]
        public async Task Run([QueueTrigger("%Test:Queue%")] string text, CancellationToken cancellationToken)
        {
            probe.Enter();
            try
            {
                await probe.Gate.WaitAsync(cancellationToken);
                probe.Texts.Enqueue(text);
            }
            finally
            {
                probe.Leave();
            }
        }
    }

    public sealed class StubbornFunction(Probe probe)
    {
        [Function("Stubborn")]
        public async Task Run([QueueTrigger("%Test:Queue%")] string text, CancellationToken cancellationToken)
        {
            probe.Attempt();
            probe.Started.TrySetResult();
            try
            {
                await Task.Delay(Timeout.InfiniteTimeSpan, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                probe.Cancelled();
                throw;
            }
        }
    }

    public sealed class SlowFunction(Probe probe)
    {
        [Function("Slow")]
        public async Task Run([QueueTrigger("%Test:Queue%")] string text)
        {
            probe.Started.TrySetResult();
            await probe.Gate.WaitAsync(TimeSpan.FromSeconds(20));
            probe.Texts.Enqueue(text);
        }
    }

    /// <summary>Runs once per message until the test opens <see cref="Probe.Gate"/>; reports its pop receipt.</summary>
    public sealed class GatedFunction(Probe probe)
    {
        [Function("Gated")]
        public async Task Run([QueueTrigger("%Test:Queue%")] string text, string popReceipt)
        {
            probe.Texts.Enqueue(popReceipt);
            probe.Started.TrySetResult();
            await probe.Gate.WaitAsync(TimeSpan.FromSeconds(30));
        }
    }

    /// <summary>
    /// The first receive makes its message visible again at once (as a lapsed visibility would) and waits for the
    /// gate; the second receive of the same message runs until it is cancelled.
    /// </summary>
    public sealed class ReceivedTwiceFunction(Probe probe, QueueClient queue)
    {
        [Function("Twice")]
        public async Task Run([QueueTrigger("%Test:Queue%")] string text, string id, string popReceipt, long dequeueCount, CancellationToken cancellationToken)
        {
            probe.Attempt();
            if (dequeueCount == 1)
            {
                await queue.UpdateMessageAsync(id, popReceipt, TimeSpan.Zero, cancellationToken: CancellationToken.None);
                await probe.Gate.WaitAsync(TimeSpan.FromSeconds(30), CancellationToken.None);
                probe.Texts.Enqueue("first done");
                return;
            }

            probe.Started.TrySetResult();
            try
            {
                await Task.Delay(Timeout.InfiniteTimeSpan, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                probe.Cancelled();
                throw;
            }
        }
    }

    /// <summary>Ignores cancellation entirely: it ends only when the test opens the gate.</summary>
    public sealed class DeafFunction(Probe probe)
    {
        [Function("Deaf")]
        public async Task Run([QueueTrigger("%Test:Queue%")] string text)
        {
            probe.Started.TrySetResult();
            await probe.Gate.WaitAsync(TimeSpan.FromSeconds(60), CancellationToken.None);
            probe.Texts.Enqueue(text);
        }
    }

    private static string NewQueueName(string purpose) => $"{purpose}-{Guid.NewGuid():N}"[..(purpose.Length + 21)];

    private Dictionary<string, string?> Settings(string queue) => new()
    {
        ["AzureWebJobsStorage"] = azurite.ConnectionString,
        ["Test:Queue"] = queue,
    };

    private QueueClient Queue(string name, QueueMessageEncoding encoding = QueueMessageEncoding.Base64) =>
        StorageConnection.Parse(azurite.ConnectionString).CreateQueueServiceClient(new StorageClientOptions { MessageEncoding = encoding }).GetQueueClient(name);

    private static string HostJson(string queues) => $$"""{ "version": "2.0", "extensions": { "queues": {{queues}} } }""";

    [Fact]
    public async Task Poco_and_metadata_bind_and_the_message_is_deleted()
    {
        var name = NewQueueName("poco");
        var queue = Queue(name);
        await queue.CreateIfNotExistsAsync();
        var sent = await queue.SendMessageAsync("""{ "deviceId": "d-42", "priority": 3 }""");
        var probe = new Probe();
        await using var app = TestApp.Create(HostJson("""{ "maxPollingInterval": "00:00:00.200" }"""));
        await app.StartAsync([typeof(PocoFunction)], Settings(name), services: s => s.AddSingleton(probe));

        await Wait.UntilAsync(() => !probe.Requests.IsEmpty, "the message to be processed");
        var (request, id, dequeueCount, insertionTime, invocationId) = Assert.Single(probe.Requests);
        Assert.Equal("d-42", request.DeviceId);
        Assert.Equal(3, request.Priority);
        Assert.Equal(sent.MessageId, id);
        Assert.Equal(1, dequeueCount);
        Assert.Equal(sent.InsertedOn, insertionTime);
        Assert.True(Guid.TryParse(invocationId, out _));
        await Wait.UntilAsync(async () => (await queue.PeekMessagesAsync()).Count == 0 && (await queue.GetPropertiesAsync()).ApproximateMessagesCount == 0, "the message to be deleted");
    }

    [Fact]
    public async Task Poison_after_exactly_maxDequeueCount_with_the_original_message_intact_and_a_record()
    {
        var name = NewQueueName("fail");
        var queue = Queue(name);
        await queue.CreateIfNotExistsAsync();
        const string Text = """{ "deviceId": "d-7", "note": "ünïcode ✓" }""";
        var sent = await queue.SendMessageAsync(Text);
        var probe = new Probe();
        await using var app = TestApp.Create(HostJson("""{ "maxDequeueCount": 3, "visibilityTimeout": "00:00:00", "maxPollingInterval": "00:00:00.200" }"""));
        var host = await app.StartAsync([typeof(FailingFunction)], Settings(name), services: s => s.AddSingleton(probe));

        var poison = Queue(name + "-poison");
        var log = host.Services.GetRequiredService<PoisonMessageLog>();
        await Wait.UntilAsync(() => PoisonedAsync(log, name), "the message to be poisoned and recorded");
        Assert.Equal(3, probe.Attempts);
        var moved = Assert.Single(await poison.PeekMessagesAsync(32));
        Assert.Equal(Text, moved.MessageText);
        Assert.Null(moved.ExpiresOn);
        Assert.Empty(await queue.PeekMessagesAsync(32));

        var record = Assert.Single(await log.ListAsync(name));
        Assert.Equal(sent.MessageId, record.MessageId);
        Assert.Equal(moved.MessageId, record.PoisonMessageId);
        Assert.Equal(name, record.QueueName);
        Assert.Equal(name + "-poison", record.PoisonQueueName);
        Assert.Equal("Failing", record.FunctionName);
        Assert.Equal(3, record.DequeueCount);
        Assert.Equal(sent.InsertedOn, record.InsertionTime);
        Assert.Equal(PoisonReasonKind.FunctionFailed, record.ReasonKind);
        Assert.Equal("System.InvalidOperationException: Device registry said no.", record.Reason);
        Assert.Equal(app.HostId, record.HostId);

        // The record is a plain JSON blob an operator can read with any tool.
        var blob = StorageConnection.Parse(azurite.ConnectionString).CreateBlobServiceClient().GetBlobContainerClient("azure-webjobs-hosts")
            .GetBlobClient($"poison/{app.HostId}/{name}/{sent.MessageId}.json");
        var json = (await blob.DownloadContentAsync()).Content.ToString();
        Assert.Contains("\"reason\": \"System.InvalidOperationException: Device registry said no.\"", json, StringComparison.Ordinal);
        Assert.Contains("\"reasonKind\": \"FunctionFailed\"", json, StringComparison.Ordinal);
        Assert.DoesNotContain("Second line", json, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{ "deviceId": "d-1", """, "not valid JSON")]
    [InlineData("""{ "priority": 1 }""", "The DeviceId field is required.")]
    [InlineData("""{ "deviceId": "phone", "priority": 1 }""", "DeviceId must match the regular expression")]
    [InlineData("""{ "deviceId": "d-1", "priority": 11 }""", "Priority must be at most 10.")]
    [InlineData("null", "JSON null")]
    public async Task A_message_that_fails_to_bind_goes_to_poison_at_once_with_its_reason(string text, string reason)
    {
        var name = NewQueueName("bind");
        var queue = Queue(name);
        await queue.CreateIfNotExistsAsync();
        var sent = await queue.SendMessageAsync(text);
        var probe = new Probe();
        await using var app = TestApp.Create(HostJson("""{ "maxPollingInterval": "00:00:00.200" }"""));
        var host = await app.StartAsync([typeof(PocoFunction)], Settings(name), services: s => s.AddSingleton(probe));

        var log = host.Services.GetRequiredService<PoisonMessageLog>();
        await Wait.UntilAsync(() => PoisonedAsync(log, name), "the message to be poisoned and recorded");
        Assert.Empty(probe.Requests);
        Assert.Equal(text, Assert.Single(await Queue(name + "-poison").PeekMessagesAsync(32)).MessageText);
        var record = Assert.Single(await log.ListAsync(name));
        Assert.Equal(PoisonReasonKind.BindingFailed, record.ReasonKind);
        Assert.Equal(1, record.DequeueCount);
        Assert.Equal(sent.MessageId, record.MessageId);
        Assert.Contains(reason, record.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_message_that_is_not_base64_goes_to_poison_as_the_very_same_text()
    {
        var name = NewQueueName("raw");
        await Queue(name).CreateIfNotExistsAsync();
        await Queue(name, QueueMessageEncoding.None).SendMessageAsync("plain text, not base64!");
        var probe = new Probe();
        await using var app = TestApp.Create(HostJson("""{ "maxPollingInterval": "00:00:00.200" }"""));
        var host = await app.StartAsync([typeof(StringFunction)], Settings(name), services: s => s.AddSingleton(probe));

        var log = host.Services.GetRequiredService<PoisonMessageLog>();
        await Wait.UntilAsync(() => PoisonedAsync(log, name), "the message to be poisoned and recorded");
        Assert.Equal("plain text, not base64!", Assert.Single(await Queue(name + "-poison", QueueMessageEncoding.None).PeekMessagesAsync(32)).MessageText);
        Assert.Empty(probe.Texts);
        Assert.Equal(PoisonReasonKind.DecodingFailed, Assert.Single(await log.ListAsync(name)).ReasonKind);
    }

    [Fact]
    public async Task Message_encoding_none_and_binary_bindings_work()
    {
        var name = NewQueueName("none");
        var queue = Queue(name, QueueMessageEncoding.None);
        await queue.CreateIfNotExistsAsync();
        await queue.SendMessageAsync("<not base64> & plain");
        var probe = new Probe();
        await using var app = TestApp.Create(HostJson("""{ "messageEncoding": "none", "maxPollingInterval": "00:00:00.200" }"""));
        await app.StartAsync([typeof(StringFunction)], Settings(name), services: s => s.AddSingleton(probe));
        await Wait.UntilAsync(() => !probe.Texts.IsEmpty, "the message to be processed");
        Assert.Equal("<not base64> & plain", Assert.Single(probe.Texts));
    }

    [Fact]
    public async Task At_most_batchSize_plus_newBatchThreshold_messages_run_at_once()
    {
        var name = NewQueueName("conc");
        var queue = Queue(name);
        await queue.CreateIfNotExistsAsync();
        for (var i = 0; i < 12; i++)
        {
            await queue.SendMessageAsync($"m{i}");
        }

        var probe = new Probe();
        await using var app = TestApp.Create(HostJson("""{ "batchSize": 3, "newBatchThreshold": 1, "maxPollingInterval": "00:00:00.100" }"""));
        await app.StartAsync([typeof(BlockingFunction)], Settings(name), services: s => s.AddSingleton(probe));

        // 3 fetched; when one finishes, 2 <= 1 is false; below the threshold another batch of 3 comes: never more than 4.
        await Wait.UntilAsync(() => probe.Running == 3, "the first batch to start");
        probe.Gate.Release(2);
        await Wait.UntilAsync(() => probe.Running == 4, "a new batch once in-flight work fell to the threshold");
        while (probe.Texts.Count < 12)
        {
            probe.Gate.Release();
            var done = probe.Texts.Count;
            await Wait.UntilAsync(() => probe.Texts.Count > done, "one more message to finish");
            Assert.InRange(probe.Running, 0, 4);
        }

        Assert.Equal(4, probe.Peak);
        Assert.Equal(Enumerable.Range(0, 12).Select(i => $"m{i}").Order(), probe.Texts.Order());
    }

    [Fact]
    public async Task Shutdown_lets_a_running_invocation_finish_and_loses_no_message()
    {
        var name = NewQueueName("drain");
        var queue = Queue(name);
        await queue.CreateIfNotExistsAsync();
        await queue.SendMessageAsync("finish me");
        var probe = new Probe();
        await using var app = TestApp.Create(HostJson("""{ "maxPollingInterval": "00:00:00.200" }"""));
        var host = await app.StartAsync([typeof(SlowFunction)], Settings(name), services: s => s.AddSingleton(probe));
        await probe.Started.Task.WaitAsync(TimeSpan.FromSeconds(20));

        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var stopping = host.StopAsync(bound.Token);
        Assert.False(stopping.IsCompleted);
        probe.Gate.Release();
        await stopping;

        Assert.Equal("finish me", Assert.Single(probe.Texts));
        Assert.Empty(await queue.PeekMessagesAsync(32));
        Assert.Equal(0, (await queue.GetPropertiesAsync()).ApproximateMessagesCount);
    }

    [Fact]
    public async Task Shutdown_past_the_drain_period_cancels_the_invocation_and_hands_the_message_back()
    {
        var name = NewQueueName("cut");
        var queue = Queue(name);
        await queue.CreateIfNotExistsAsync();
        await queue.SendMessageAsync("do not lose me");
        var probe = new Probe();
        await using var app = TestApp.Create(HostJson("""{ "maxPollingInterval": "00:00:00.200" }"""));
        var host = await app.StartAsync(
            [typeof(StubbornFunction)], new Dictionary<string, string?>(Settings(name)) { ["Host:ShutdownTimeout"] = "00:00:01" },
            services: s => s.AddSingleton(probe));
        await probe.Started.Task.WaitAsync(TimeSpan.FromSeconds(20));

        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await host.StopAsync(bound.Token);
        Assert.True(probe.ObservedCancellation);

        // Released at once (not left hidden for the receive visibility), not deleted, not poisoned.
        var back = Assert.Single(await queue.PeekMessagesAsync(32));
        Assert.Equal("do not lose me", back.MessageText);
        Assert.Equal(1, back.DequeueCount);
        Assert.False(await Queue(name + "-poison").ExistsAsync());

        // Another host picks it up and finishes it.
        var next = new Probe();
        await app.StartAsync([typeof(StringFunction)], Settings(name), services: s => s.AddSingleton(next));
        await Wait.UntilAsync(() => !next.Texts.IsEmpty, "the message to be processed by the next host");
        Assert.Equal("do not lose me", Assert.Single(next.Texts));
    }

    [Fact]
    public async Task A_missing_queue_degrades_health_until_it_exists()
    {
        var name = NewQueueName("late");
        var probe = new Probe();
        await using var app = TestApp.Create(HostJson("""{ "maxPollingInterval": "00:00:00.200" }"""));
        var host = await app.StartAsync([typeof(StringFunction)], Settings(name), services: s => s.AddSingleton(probe));

        // The listener creates the queue in the background at start (allowed locally); delete it to see the host cope.
        await Wait.UntilAsync(() => Queue(name).ExistsAsync(), "the listener to create its queue");
        await Queue(name).DeleteAsync();
        using var http = TestApp.Client(host);
        await Wait.UntilAsync(async () => (await StatusAsync(http)).GetProperty("status").GetString() == "Degraded", "health to report the missing queue");
        using var request = new HttpRequestMessage(HttpMethod.Get, "admin/host/status");
        request.Headers.Add("x-functions-key", TestApp.MasterKey);
        var status = await http.SendAsync(request);
        Assert.Equal(System.Net.HttpStatusCode.OK, status.StatusCode);
        var check = Assert.Single(JsonDocument.Parse(await status.Content.ReadAsStringAsync()).RootElement.GetProperty("checks").EnumerateArray());
        Assert.Contains($"Queue '{name}' does not exist.", check.GetProperty("description").GetString(), StringComparison.Ordinal);

        await Queue(name).CreateIfNotExistsAsync();
        await Queue(name).SendMessageAsync("after all");
        await Wait.UntilAsync(() => !probe.Texts.IsEmpty, "the message to be processed");
        await Wait.UntilAsync(async () => (await StatusAsync(http)).GetProperty("status").GetString() == "Healthy", "health to recover");
    }

    /// <summary>The poison move is complete: one record naming its copy, and the original gone (hidden ones count too).</summary>
    private async Task<bool> PoisonedAsync(PoisonMessageLog log, string name) =>
        (await log.ListAsync(name)) is [{ PoisonMessageId: not null }] && (await Queue(name).GetPropertiesAsync()).ApproximateMessagesCount == 0;

    private static async Task<JsonElement> StatusAsync(HttpClient http)
    {
        using var response = await http.GetAsync("admin/host/status");
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
    }

    [Fact]
    public async Task Binary_messages_bind_to_bytes_with_the_text_as_metadata()
    {
        var name = NewQueueName("bytes");
        var queue = Queue(name);
        await queue.CreateIfNotExistsAsync();
        await queue.SendMessageAsync(new BinaryData(Encoding.UTF8.GetBytes("héllo")));
        var probe = new Probe();
        await using var app = TestApp.Create(HostJson("""{ "maxPollingInterval": "00:00:00.200" }"""));
        await app.StartAsync([typeof(BytesFunction)], Settings(name), services: s => s.AddSingleton(probe));
        await Wait.UntilAsync(() => !probe.Bodies.IsEmpty, "the message to be processed");
        Assert.Equal(Encoding.UTF8.GetBytes("héllo"), Assert.Single(probe.Bodies));
        Assert.Equal("héllo", Assert.Single(probe.Texts));
    }

    [Fact]
    public async Task A_renewal_in_flight_when_the_function_ends_is_awaited_so_the_delete_uses_its_pop_receipt()
    {
        var name = NewQueueName("renew");
        var queue = Queue(name);
        await queue.CreateIfNotExistsAsync();
        await queue.SendMessageAsync("renew me");
        var probe = new Probe();
        var clock = new FakeTimeProvider();
        var logs = new LogCapture();

        // The renewal reaches Azurite (the pop receipt changes there) but its answer is held back: until the host
        // sends a delete (which then carries the old receipt), or for 2 s.
        var deleteSent = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var renewalApplied = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var faults = new StorageFaults
        {
            BeforeRequest = m =>
            {
                if (StorageFaults.IsMessageDelete(m))
                {
                    deleteSent.TrySetResult();
                }
            },
            AfterResponse = async m =>
            {
                if (StorageFaults.IsMessageUpdate(m, (int)Configuration.QueueSettings.DefaultMessageLeaseDuration.TotalSeconds))
                {
                    renewalApplied.TrySetResult();
                    await Task.WhenAny(deleteSent.Task, Task.Delay(TimeSpan.FromSeconds(2)));
                }
            },
        };
        await using var app = TestApp.Create("""{ "version": "2.0", "functionTimeout": "-1", "logging": { "logLevel": { "Host.Triggers": "Debug" } } }""");
        await app.StartAsync(
            [typeof(GatedFunction)], Settings(name), clock,
            s => s.AddSingleton(probe).AddSingleton<Microsoft.Extensions.Logging.ILoggerProvider>(logs), faults: faults);
        await probe.Started.Task.WaitAsync(TimeSpan.FromSeconds(20));

        // Half the message lease passes while the function runs: the renewal goes out; then the function ends.
        clock.Advance(Configuration.QueueSettings.DefaultMessageLeaseDuration / 2);
        await renewalApplied.Task.WaitAsync(TimeSpan.FromSeconds(20));
        probe.Gate.Release();

        await Wait.UntilAsync(async () => (await queue.GetPropertiesAsync()).ApproximateMessagesCount == 0, "the message to be deleted");
        Assert.DoesNotContain(logs.Entries, e => e.EventId.Id is 4208 or 4210);
    }

    [Fact]
    public async Task A_message_held_by_a_host_that_died_comes_back_after_the_message_lease()
    {
        var name = NewQueueName("dead");
        var queue = Queue(name);
        await queue.CreateIfNotExistsAsync();
        await queue.SendMessageAsync("""{ "deviceId": "d-1" }""");
        var held = new Probe();
        await using var app = TestApp.Create(HostJson("""{ "messageLeaseDuration": "00:00:05", "maxPollingInterval": "00:00:00.200" }"""));

        // Once its function runs, nothing this host sends reaches storage any more: no renewal, no delete, no release,
        // no receive. To the queue it is a host that was killed.
        var dead = false;
        var faults = new StorageFaults
        {
            BeforeRequest = _ =>
            {
                if (Volatile.Read(ref dead))
                {
                    throw new Azure.RequestFailedException(503, "Injected: this host is dead.");
                }
            },
        };
        await app.StartAsync([typeof(DeafFunction)], Settings(name), services: s => s.AddSingleton(held), hostId: app.HostId + "-a", faults: faults);
        try
        {
            await held.Started.Task.WaitAsync(TimeSpan.FromSeconds(20));
            Volatile.Write(ref dead, true);
            var died = TimeProvider.System.GetTimestamp();
            Assert.Empty(await queue.PeekMessagesAsync(32));

            // A second host takes the message as soon as the dead host's lease on it ends.
            var next = new Probe();
            await app.StartAsync([typeof(PocoFunction)], Settings(name), services: s => s.AddSingleton(next), hostId: app.HostId + "-b");
            await Wait.UntilAsync(() => !next.Requests.IsEmpty, "the other host to receive the message", TimeSpan.FromSeconds(30));
            var hidden = TimeProvider.System.GetElapsedTime(died);
            var (request, _, dequeueCount, _, _) = Assert.Single(next.Requests);
            Assert.Equal("d-1", request.DeviceId);
            Assert.Equal(2, dequeueCount);

            // Hidden for (most of) the 5 s lease, counted from a moment just after the receive: not released early.
            Assert.True(hidden >= TimeSpan.FromSeconds(3), $"the message came back after {hidden.TotalSeconds:0.0} s");
            await Wait.UntilAsync(async () => (await queue.GetPropertiesAsync()).ApproximateMessagesCount == 0, "the other host to delete the message");
        }
        finally
        {
            held.Gate.Release();
        }
    }

    [Fact]
    public async Task Renewal_keeps_the_message_of_a_long_invocation_hidden_beyond_one_lease()
    {
        var name = NewQueueName("long");
        var queue = Queue(name);
        await queue.CreateIfNotExistsAsync();
        await queue.SendMessageAsync("long job");
        var probe = new Probe();
        var faults = new StorageFaults();
        await using var app = TestApp.Create(HostJson("""{ "messageLeaseDuration": "00:00:05", "maxPollingInterval": "00:00:00.200" }"""));
        await app.StartAsync([typeof(SlowFunction)], Settings(name), services: s => s.AddSingleton(probe), faults: faults);
        await probe.Started.Task.WaitAsync(TimeSpan.FromSeconds(20));

        // Eight seconds (over 1.5 leases) of work: the message must never be visible to anyone else meanwhile.
        var running = TimeProvider.System.GetTimestamp();
        while (TimeProvider.System.GetElapsedTime(running) < TimeSpan.FromSeconds(8))
        {
            Assert.Empty(await queue.PeekMessagesAsync(32));
            await Task.Delay(250);
        }

        probe.Gate.Release();
        await Wait.UntilAsync(async () => (await queue.GetPropertiesAsync()).ApproximateMessagesCount == 0, "the message to be deleted");
        Assert.Equal("long job", Assert.Single(probe.Texts));
        Assert.True(faults.Requests.Count(r => r.StartsWith("PUT ", StringComparison.Ordinal) && r.Contains("visibilitytimeout=5", StringComparison.Ordinal)) >= 3);
    }

    [Fact]
    public async Task A_failed_renewal_is_tried_again_before_the_lease_ends()
    {
        var name = NewQueueName("retry");
        var queue = Queue(name);
        await queue.CreateIfNotExistsAsync();
        await queue.SendMessageAsync("keep me");
        var probe = new Probe();
        var logs = new LogCapture();

        // The first renewal is refused; the next one must come soon enough to keep the message hidden.
        var refused = 0;
        var faults = new StorageFaults
        {
            BeforeRequest = m =>
            {
                if (StorageFaults.IsMessageUpdate(m, 8) && Interlocked.Exchange(ref refused, 1) == 0)
                {
                    throw new Azure.RequestFailedException(500, "Injected: the renewal failed.");
                }
            },
        };
        await using var app = TestApp.Create(
            """{ "version": "2.0", "extensions": { "queues": { "messageLeaseDuration": "00:00:08", "maxPollingInterval": "00:00:00.200" } }, "logging": { "logLevel": { "Host.Triggers": "Debug" } } }""");
        await app.StartAsync(
            [typeof(SlowFunction)], Settings(name),
            services: s => s.AddSingleton(probe).AddSingleton<Microsoft.Extensions.Logging.ILoggerProvider>(logs), faults: faults);
        await probe.Started.Task.WaitAsync(TimeSpan.FromSeconds(20));

        // Renewals at 4 s (refused), then at 5 s and every 4 s: past the first lease (8 s) it is still hidden.
        var running = TimeProvider.System.GetTimestamp();
        while (TimeProvider.System.GetElapsedTime(running) < TimeSpan.FromSeconds(10))
        {
            Assert.Empty(await queue.PeekMessagesAsync(32));
            await Task.Delay(250);
        }

        probe.Gate.Release();
        await Wait.UntilAsync(async () => (await queue.GetPropertiesAsync()).ApproximateMessagesCount == 0, "the message to be deleted");
        Assert.Equal(1, Volatile.Read(ref refused));
        Assert.Contains(logs.Entries, e => e.EventId.Id == 4210);
        Assert.Equal("keep me", Assert.Single(probe.Texts));
    }

    [Fact]
    public async Task A_message_received_again_while_its_first_copy_runs_is_still_awaited_and_released_at_shutdown()
    {
        var name = NewQueueName("twice");
        var queue = Queue(name);
        await queue.CreateIfNotExistsAsync();
        await queue.SendMessageAsync("twice");
        var probe = new Probe();
        var logs = new LogCapture();
        await using var app = TestApp.Create(
            """{ "version": "2.0", "extensions": { "queues": { "maxPollingInterval": "00:00:00.200" } }, "logging": { "logLevel": { "Host.Triggers": "Debug" } } }""");
        var host = await app.StartAsync(
            [typeof(ReceivedTwiceFunction)], new Dictionary<string, string?>(Settings(name)) { ["Host:ShutdownTimeout"] = "00:00:01" },
            services: s => s.AddSingleton(probe).AddSingleton(queue).AddSingleton<Microsoft.Extensions.Logging.ILoggerProvider>(logs));
        await probe.Started.Task.WaitAsync(TimeSpan.FromSeconds(20));

        // The first copy ends (its delete finds the receipt stale: the message is the second copy's now).
        probe.Gate.Release();
        await Wait.UntilAsync(() => logs.Entries.Any(e => e.EventId.Id == 4208), "the first copy to finish");

        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await host.StopAsync(bound.Token);

        // Shutdown waited for the second copy, cancelled it and handed the message back at once.
        Assert.True(probe.ObservedCancellation);
        var back = Assert.Single(await queue.PeekMessagesAsync(32));
        Assert.Equal("twice", back.MessageText);
        Assert.Equal(2, back.DequeueCount);
        Assert.Equal(2, probe.Attempts);
    }

    [Fact]
    public async Task An_invocation_that_ends_after_the_host_is_disposed_does_not_fault()
    {
        var name = NewQueueName("deaf");
        var queue = Queue(name);
        await queue.CreateIfNotExistsAsync();
        await queue.SendMessageAsync("late");
        var probe = new Probe();
        var unobserved = new ConcurrentQueue<Exception>();
        void OnUnobserved(object? sender, UnobservedTaskExceptionEventArgs e)
        {
            if (e.Exception.Flatten().InnerExceptions.Any(x => x is ObjectDisposedException && (x.StackTrace ?? string.Empty).Contains("QueueListener", StringComparison.Ordinal)))
            {
                unobserved.Enqueue(e.Exception);
            }
        }

        TaskScheduler.UnobservedTaskException += OnUnobserved;
        try
        {
            await using var app = TestApp.Create(HostJson("""{ "maxPollingInterval": "00:00:00.200" }"""));
            var builder = app.Builder([typeof(DeafFunction)], new Dictionary<string, string?>(Settings(name)) { ["Host:ShutdownTimeout"] = "00:00:01" });
            builder.Services.AddSingleton(probe);
            var host = builder.Build();
            using (var bound = new CancellationTokenSource(TimeSpan.FromSeconds(30)))
            {
                await host.StartAsync(bound.Token);
                await probe.Started.Task.WaitAsync(TimeSpan.FromSeconds(20));

                // The function ignores its token: shutdown gives up on it, releases the message; the host is disposed.
                await host.StopAsync(bound.Token);
            }

            await host.DisposeAsync();

            // Only now does it end; the listener finishes the message (it succeeded) after its own disposal.
            probe.Gate.Release();
            await Wait.UntilAsync(async () => (await queue.GetPropertiesAsync()).ApproximateMessagesCount == 0, "the late success to delete the message");
            for (var i = 0; i < 20 && unobserved.IsEmpty; i++)
            {
                GC.Collect();
                GC.WaitForPendingFinalizers();
                await Task.Delay(50);
            }

            Assert.Empty(unobserved);
            Assert.Equal("late", Assert.Single(probe.Texts));
        }
        finally
        {
            TaskScheduler.UnobservedTaskException -= OnUnobserved;
        }
    }

    [Fact]
    public async Task A_failed_poison_record_write_is_retried_without_a_second_poison_copy()
    {
        var name = NewQueueName("rec");
        var queue = Queue(name);
        await queue.CreateIfNotExistsAsync();
        const string Text = """{ "deviceId": "d-9" }""";
        var sent = await queue.SendMessageAsync(Text);
        var probe = new Probe();
        var logs = new LogCapture();
        await using var app = TestApp.Create(HostJson("""{ "maxDequeueCount": 1, "maxPollingInterval": "00:00:00.200" }"""));

        // Writes of the poison record fail (not retried: the service refuses them) until the test lets them through.
        var recordPath = $"/devstoreaccount1/azure-webjobs-hosts/poison/{app.HostId}/{name}/{sent.MessageId}.json";
        var refuseRecordWrites = true;
        var faults = new StorageFaults
        {
            BeforeRequest = m =>
            {
                if (Volatile.Read(ref refuseRecordWrites) && m.Request.Method == Azure.Core.RequestMethod.Put && m.Request.Uri.Path == recordPath)
                {
                    throw new Azure.RequestFailedException(403, "Injected: the record write is refused.");
                }
            },
        };
        var host = await app.StartAsync(
            [typeof(FailingFunctionWithReceipt)], Settings(name),
            services: s => s.AddSingleton(probe).AddSingleton<Microsoft.Extensions.Logging.ILoggerProvider>(logs), faults: faults);
        await Wait.UntilAsync(() => logs.Entries.Any(e => e.EventId.Id == 4206), "the poison step to fail on the record");
        var poison = Queue(name + "-poison");
        Assert.Empty(await poison.ExistsAsync() ? await poison.PeekMessagesAsync(32) : []);

        // The message comes back (as when its visibility ends) and the record can be written now.
        Volatile.Write(ref refuseRecordWrites, false);
        await queue.UpdateMessageAsync(sent.MessageId, Assert.Single(probe.Texts), TimeSpan.Zero);

        var log = host.Services.GetRequiredService<PoisonMessageLog>();
        await Wait.UntilAsync(() => PoisonedAsync(log, name), "the message to be poisoned and recorded");
        var moved = Assert.Single(await poison.PeekMessagesAsync(32));
        Assert.Equal(Text, moved.MessageText);
        var record = Assert.Single(await log.ListAsync(name));
        Assert.Equal(moved.MessageId, record.PoisonMessageId);
        Assert.Equal(sent.MessageId, record.MessageId);
        Assert.Equal(PoisonReasonKind.DequeueCountExceeded, record.ReasonKind);
        Assert.Equal(1, probe.Attempts);
    }

    /// <summary>Fails every time, recording the pop receipt it was given.</summary>
    public sealed class FailingFunctionWithReceipt(Probe probe)
    {
        [Function("FailingWithReceipt")]
        public void Run([QueueTrigger("%Test:Queue%")] string text, string popReceipt)
        {
            probe.Attempt();
            probe.Texts.Enqueue(popReceipt);
            throw new InvalidOperationException("Device registry said no.");
        }
    }
}
