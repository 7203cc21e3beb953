using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Fleet.Durable.Client;
using Fleet.Hosting;
using Fleet.Simulator;
using Fleet.Storage;
using Microsoft.Extensions.DependencyInjection;
using Xunit.Abstractions;

namespace Fleet.Functions.Tests.Reliability;

/// <summary>
/// A flood of malformed provisioning messages (ten kinds, shuffled in among valid ones): each malformed message ends
/// in the poison queue with a record that says what is wrong with it, each valid one is provisioned, and the host
/// stays up and healthy throughout.
/// </summary>
[Collection(FleetCollection.Name)]
public sealed class PoisonFloodTests(FleetEnvironment environment, ITestOutputHelper output)
{
    private const int MalformedPerKind = 100;
    private const int Valid = 100;

    private static readonly string ValidId = new('A', 128);

    /// <summary>Each kind: how it is sent, the poison reason kind and a phrase the reason must contain.</summary>
    private static readonly Malformed[] Kinds =
    [
        new("not JSON", i => $"provision device {i} please", PoisonReasonKind.BindingFailed, "not valid JSON"),
        new("JSON array", i => $"[{i}, \"{ValidId}\"]", PoisonReasonKind.BindingFailed, "not valid JSON"),
        new("JSON null", _ => "null", PoisonReasonKind.BindingFailed, "JSON null"),
        new("number for a string", i => $$"""{ "deviceId": {{i}}, "product": "Thermostat", "deviceGroup": "Field Test" }""", PoisonReasonKind.BindingFailed, "not valid JSON"),
        new("short device id", i => Json(new { deviceId = i.ToString("X8"), product = "Thermostat", deviceGroup = "Field Test" }), PoisonReasonKind.BindingFailed, "deviceId must be 128 hexadecimal characters"),
        new("no device id", i => Json(new { product = "Thermostat", deviceGroup = "Field Test", requestId = $"r{i}" }), PoisonReasonKind.BindingFailed, "deviceId is required"),
        new("bad group name", i => Json(new { deviceId = ValidId, product = "Thermostat", deviceGroup = $"Field/Test {i}" }), PoisonReasonKind.BindingFailed, "deviceGroup must be 1-50 letters, digits and spaces"),
        new("product name too long", i => Json(new { deviceId = ValidId, product = new string('P', 51), deviceGroup = "Field Test", requestId = $"r{i}" }), PoisonReasonKind.BindingFailed, "product must be 1-50 letters, digits and spaces"),
        new("blank tenant", i => Json(new { tenantId = "  ", deviceId = ValidId, product = "Thermostat", deviceGroup = "Field Test", requestId = $"r{i}" }), PoisonReasonKind.BindingFailed, "tenantId must not be blank"),
        new("not Base64", i => $"raw text {i} that is not Base64!", PoisonReasonKind.DecodingFailed, "not valid Base64", Raw: true),
    ];

    [Fact]
    public async Task A_thousand_malformed_messages_among_a_hundred_valid_ones_reach_poison_with_their_reason_and_every_valid_one_is_provisioned()
    {
        await using var app = await TestFleetApp.StartAsync(environment, new SimulatorOptions { Devices = 1000, OperationDelayMs = 30, InstallDelayMs = 100 });
        var fleet = await app.Simulator.Control.GetFleetAsync();
        var targets = ProvisioningTarget.For(fleet, Valid);
        var raw = app.Queues.GetQueueClient(app.QueueName, QueueMessageEncoding.None);
        await app.Queue.CreateIfNotExistsAsync();

        // Shuffled deterministically, so valid and malformed messages arrive interleaved in every batch.
        var messages = Kinds.SelectMany(kind => Enumerable.Range(0, MalformedPerKind).Select(i => (Kind: (Malformed?)kind, Text: kind.Create(i))))
            .Concat(targets.Select(t => (Kind: (Malformed?)null, Text: t.Message())))
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
                        sent.Add(receipt.MessageId, kind);
                    }
                }
            }
        });

        // The record is written after the poison copy and before the original is deleted: an empty queue means every
        // malformed message has its record.
        while ((await app.Queue.GetPropertiesAsync(token)).ApproximateMessagesCount > 0
               || (await ProvisioningTarget.CountStatusesAsync(app.Client, token)).GetValueOrDefault(OrchestrationRuntimeStatus.Completed) < Valid)
        {
            await Task.Delay(250, token);
        }

        var elapsed = Stopwatch.GetElapsedTime(started);
        var records = await app.Host.Services.GetRequiredService<PoisonMessageLog>().ListAsync(app.QueueName, token);
        Assert.Equal(Kinds.Length * MalformedPerKind, records.Count);
        var wrong = new List<string>();
        foreach (var record in records)
        {
            if (!sent.TryGetValue(record.MessageId, out var kind))
            {
                wrong.Add($"{record.MessageId}: not a malformed message we sent ({record.Reason})");
            }
            else if (record.ReasonKind != kind.ReasonKind || !record.Reason.Contains(kind.Phrase, StringComparison.Ordinal))
            {
                wrong.Add($"{kind.Name}: {record.ReasonKind} '{record.Reason}', expected {kind.ReasonKind} with '{kind.Phrase}'");
            }
        }

        Assert.Empty(wrong);
        Assert.Equal(sent.Keys.Order(), records.Select(r => r.MessageId).Order());
        var poisonQueue = await app.Queues.GetQueueClient(app.QueueName + "-poison").GetPropertiesAsync(token);
        Assert.Equal(Kinds.Length * MalformedPerKind, poisonQueue.ApproximateMessagesCount);

        var counts = await ProvisioningTarget.CountStatusesAsync(app.Client, token);
        Assert.Equal(Valid, counts.GetValueOrDefault(OrchestrationRuntimeStatus.Completed));
        Assert.Equal(Valid, counts.Values.Sum());
        Assert.Empty(await ProvisioningTarget.FindMisplacedAsync(app.Simulator.Control, targets, token));

        // The host never stopped: every health probe during the flood answered Running.
        var probes = await health.StopAsync();
        Assert.True(probes.Count > 0, "the health endpoint was never probed");
        Assert.All(probes, p => Assert.True(p.Ok, $"health probe answered {p.Detail}"));
        output.WriteLine($"{messages.Count} messages ({sent.Count} malformed) handled in {elapsed.TotalSeconds:0.0} s; {probes.Count} health probes all Running");
    }

    private static string Json(object value) => JsonSerializer.Serialize(value, TestFleetApp.Json);

    private sealed record Malformed(string Name, Func<int, string> Create, PoisonReasonKind ReasonKind, string Phrase, bool Raw = false);

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
