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
        await Wait.UntilAsync(async () => (await log.ListAsync(name)).Count == 1 && (await queue.PeekMessagesAsync()).Count == 0, "the message to be poisoned and recorded");
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
        await Wait.UntilAsync(async () => (await log.ListAsync(name)).Count == 1, "the message to be poisoned and recorded");
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
        await Wait.UntilAsync(async () => (await log.ListAsync(name)).Count == 1, "the message to be poisoned and recorded");
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

        // The listener created the queue at start (allowed locally); delete it to see the host cope.
        await Queue(name).DeleteAsync();
        using var http = TestApp.Client(host);
        await Wait.UntilAsync(async () => (await StatusAsync(http)).GetProperty("status").GetString() == "Degraded", "health to report the missing queue");
        var status = await http.GetAsync("admin/host/status");
        Assert.Equal(System.Net.HttpStatusCode.OK, status.StatusCode);
        var check = Assert.Single(JsonDocument.Parse(await status.Content.ReadAsStringAsync()).RootElement.GetProperty("checks").EnumerateArray());
        Assert.Contains($"Queue '{name}' does not exist.", check.GetProperty("description").GetString(), StringComparison.Ordinal);

        await Queue(name).CreateIfNotExistsAsync();
        await Queue(name).SendMessageAsync("after all");
        await Wait.UntilAsync(() => !probe.Texts.IsEmpty, "the message to be processed");
        await Wait.UntilAsync(async () => (await StatusAsync(http)).GetProperty("status").GetString() == "Healthy", "health to recover");
    }

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
}
