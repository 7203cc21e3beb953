using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Microsoft.DurableTask.Client;
using Fleet.Shared.FleetClouds;
using Fleet.Simulator;
using Azure.Storage.Queues;
using Fleet.Functions.Provisioning;
using Xunit.Abstractions;

namespace Fleet.Functions.Tests.Reliability;

/// <summary>
/// A flood of malformed provisioning messages (thirteen kinds, 1,001 messages, shuffled in among valid ones for all
/// three clouds): each message the app cannot
/// read as a request ends on <c>{queue}-rejected</c> with what is wrong with it, each one the host cannot even decode
/// ends on <c>{queue}-poison</c>, each valid one is provisioned, and the host stays up and healthy throughout.
/// </summary>
[Collection(FleetCollection.Name)]
public sealed class PoisonFloodTests(FleetEnvironment environment, ITestOutputHelper output)
{
    private const int MalformedPerKind = 77;
    private const int ValidSphere = 60;
    private const int ValidPerOtherCloud = 20;
    private const int Valid = ValidSphere + 2 * ValidPerOtherCloud;

    private static readonly string ValidId = new('A', 128);

    /// <summary>Each kind: how it is sent, and the phrase the app's rejection must contain (null: the host poisons it).</summary>
    private static readonly Malformed[] Kinds =
    [
        new("not JSON", i => $"provision device {i} please", "not valid JSON"),
        new("JSON array", i => $"[{i}, \"{ValidId}\"]", "not valid JSON"),
        new("JSON null", _ => "null", "A JSON message is required"),
        new("number for a string", i => $$"""{ "deviceId": {{i}}, "product": "Thermostat", "deviceGroup": "Field Test" }""", "not valid JSON"),
        new("short device id", i => Json(new { deviceId = i.ToString("X8"), product = "Thermostat", deviceGroup = "Field Test" }), "deviceId must be 128 hexadecimal characters"),
        new("no device id", i => Json(new { product = "Thermostat", deviceGroup = "Field Test", requestId = $"r{i}" }), "deviceId is required"),
        new("bad group name", i => Json(new { deviceId = ValidId, product = "Thermostat", deviceGroup = $"Field/Test {i}" }), "deviceGroup must be 1-50 letters, digits and spaces"),
        new("product name too long", i => Json(new { deviceId = ValidId, product = new string('P', 51), deviceGroup = "Field Test", requestId = $"r{i}" }), "product must be 1-50 letters, digits and spaces"),
        new("blank tenant", i => Json(new { tenantId = "  ", deviceId = ValidId, product = "Thermostat", deviceGroup = "Field Test", requestId = $"r{i}" }), "tenantId must not be blank"),
        new("not Base64", i => $"raw text {i} that is not Base64!", null, Raw: true),
        new("unknown cloud", i => Json(new { cloud = "aws", deviceId = $"d{i}" }), "cloud must be sphere, iotcentral or iotconnect"),
        new("IoT Central without template", i => Json(new { cloud = "iotcentral", deviceId = $"d{i}", deviceGroup = "thermostats" }), "template is required"),
        new("IoTConnect device id too long", i => Json(new { cloud = "iotconnect", deviceId = new string('d', 65 + i % 5), template = "THERMO", entity = "Field Test" }),
            "deviceId must be 1-64 letters, digits, '-' and '_' for iotconnect"),
    ];

    [Fact]
    public async Task A_thousand_malformed_messages_among_a_hundred_valid_ones_reach_poison_with_their_reason_and_every_valid_one_is_provisioned()
    {
        await using var app = await TestFleetApp.StartAsync(environment, new SimulatorOptions { Devices = 1000, OperationDelayMs = 30, InstallDelayMs = 100 });
        var targets = (await CloudTarget.ForAsync(FleetCloud.Sphere, app.Simulator, ValidSphere))
            .Concat(await CloudTarget.ForAsync(FleetCloud.IoTCentral, app.Simulator, ValidPerOtherCloud, "flood"))
            .Concat(await CloudTarget.ForAsync(FleetCloud.IoTConnect, app.Simulator, ValidPerOtherCloud, "flood"))
            .ToList();
        var raw = environment.RawQueue(app.QueueName);
        await app.Queue.CreateIfNotExistsAsync();

        // Shuffled deterministically, so valid and malformed messages arrive interleaved in every batch.
        var messages = Kinds.SelectMany(kind => Enumerable.Range(0, MalformedPerKind).Select(i => (Kind: (Malformed?)kind, Text: kind.Create(i))))
            .Concat(targets.Select(t => (Kind: (Malformed?)null, Text: t.Message)))
            .ToList();
        new Random(7).Shuffle(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(messages));

        using var health = new HealthWatch(app.Http);
        var started = Stopwatch.GetTimestamp();
        var sent = new Dictionary<string, Malformed>(StringComparer.Ordinal);
        var token = TestFleetApp.Timeout(240);
        await Parallel.ForEachAsync(messages.Chunk(messages.Count / 8 + 1), token, async (chunk, ct) =>
        {
            foreach (var (kind, text) in chunk)
            {
                var receipt = kind?.Raw == true ? await raw.SendMessageAsync(text, cancellationToken: ct) : await app.Queue.SendMessageAsync(text, cancellationToken: ct);
                if (kind is not null)
                {
                    lock (sent)
                    {
                        sent.Add(receipt.Value.MessageId, kind);
                    }
                }
            }
        });

        // The rejection (an output of the invocation) and the poison copy are written before the original is deleted:
        // an empty queue means every malformed message has been answered.
        while ((await app.Queue.GetPropertiesAsync(token)).Value.ApproximateMessagesCount > 0
               || (await ProvisioningTarget.CountStatusesAsync(app.Client, token)).GetValueOrDefault(OrchestrationRuntimeStatus.Completed) < Valid)
        {
            await Task.Delay(250, token);
        }

        var elapsed = Stopwatch.GetElapsedTime(started);
        var rejected = await DrainAsync(app.Queues.GetQueueClient(app.QueueName + "-rejected"), token);
        var wrong = new List<string>();
        foreach (var record in rejected.Select(RejectedMessage.Deserialize))
        {
            if (!sent.TryGetValue(record!.MessageId, out var kind))
            {
                wrong.Add($"{record.MessageId}: not a malformed message we sent ({string.Join(" ", record.Errors)})");
            }
            else if (kind.Phrase is null || !record.Errors.Any(e => e.Contains(kind.Phrase, StringComparison.Ordinal)))
            {
                wrong.Add($"{kind.Name}: rejected with '{string.Join(" ", record.Errors)}', expected '{kind.Phrase ?? "(poisoned by the host)"}'");
            }
        }

        Assert.Empty(wrong);
        var undecodable = sent.Where(s => s.Value.Phrase is null).ToList();
        Assert.Equal(sent.Count - undecodable.Count, rejected.Count);
        var poisoned = await DrainAsync(environment.RawQueue(app.QueueName + "-poison"), token);
        Assert.Equal(undecodable.Count, poisoned.Count);
        Assert.All(poisoned, text => Assert.StartsWith("raw text ", text, StringComparison.Ordinal));

        var counts = await ProvisioningTarget.CountStatusesAsync(app.Client, token);
        Assert.Equal(Valid, counts.GetValueOrDefault(OrchestrationRuntimeStatus.Completed));
        Assert.Equal(Valid, counts.Values.Sum());
        Assert.Empty(await CloudTarget.FindMisplacedAsync(app.Simulator.Control, targets, token));

        // The host never stopped: every health probe during the flood answered Running.
        var probes = await health.StopAsync();
        Assert.True(probes.Count > 0, "the health endpoint was never probed");
        Assert.All(probes, p => Assert.True(p.Ok, $"health probe answered {p.Detail}"));
        output.WriteLine($"{messages.Count} messages ({sent.Count} malformed) handled in {elapsed.TotalSeconds:0.0} s; {probes.Count} health probes all Running");
    }

    private static string Json(object value) => JsonSerializer.Serialize(value, TestFleetApp.Json);

    private sealed record Malformed(string Name, Func<int, string> Create, string? Phrase, bool Raw = false);

    /// <summary>Every message on <paramref name="queue"/>, received and deleted.</summary>
    private static async Task<List<string>> DrainAsync(QueueClient queue, CancellationToken token)
    {
        var texts = new List<string>();
        while ((await queue.ReceiveMessagesAsync(32, cancellationToken: token)).Value is { Length: > 0 } messages)
        {
            foreach (var message in messages)
            {
                texts.Add(message.MessageText);
                await queue.DeleteMessageAsync(message.MessageId, message.PopReceipt, token);
            }
        }

        return texts;
    }

    /// <summary>Probes <c>/admin/host/status</c> every 200 ms until stopped.</summary>
    private sealed class HealthWatch : IDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly Task<List<(bool Ok, string Detail)>> _probes;

        public HealthWatch(HttpClient http) => _probes = ProbeAsync(http, _stop.Token);

        public async Task<List<(bool Ok, string Detail)>> StopAsync()
        {
            await _stop.CancelAsync();
            return await _probes;
        }

        public void Dispose() => _stop.Dispose();

        private static async Task<List<(bool Ok, string Detail)>> ProbeAsync(HttpClient http, CancellationToken stop)
        {
            var probes = new List<(bool, string)>();
            while (!stop.IsCancellationRequested)
            {
                try
                {
                    using var response = await http.GetAsync("admin/host/status", stop);
                    var body = await response.Content.ReadAsStringAsync(stop);
                    using var json = JsonDocument.Parse(body);
                    var state = json.RootElement.GetProperty("state").GetString();
                    probes.Add((response.StatusCode == HttpStatusCode.OK && state == "Running", $"{(int)response.StatusCode} {body}"));
                }
                catch (HttpRequestException ex)
                {
                    probes.Add((false, ex.Message));
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested)
                {
                    break;
                }

                try
                {
                    await Task.Delay(200, stop);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }

            return probes;
        }
    }
}
