using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Azure.Storage.Queues;
using Fleet.Functions.Provisioning;
using Fleet.Hosting.Local;
using Fleet.Simulator;
using Fleet.Testing;
using Grpc.Net.Client;
using Microsoft.DurableTask.Converters;
using Microsoft.DurableTask.Client;
using Microsoft.DurableTask.Client.Grpc;
using Microsoft.Extensions.Logging.Abstractions;

namespace Fleet.Functions.Tests;

/// <summary>
/// The fleet app as operators run it locally: its build output (host.json, worker.config.json, functions.metadata)
/// under the local functions host, which runs the app's real worker process over the Functions protocol, against a
/// fresh simulator (a seeded fleet of <c>devices</c>, short operation and install delays) and the shared Azurite,
/// with its SQLite store in a temp folder. The test's settings are the host's app settings, as in Azure. The Durable
/// client is the real SDK's gRPC client on the host's task hub endpoint. Disposing stops both and deletes the folder.
/// </summary>
public sealed class TestFleetApp : IAsyncDisposable
{
    public const string MasterKey = "master-key-0123456789abcdefghij";
    public const string DurableKey = "durable-key-0123456789abcdefghij";
    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    private readonly GrpcChannel _channel;

    private readonly bool _ownsSimulator;

    private TestFleetApp(SimulatorHost simulator, LocalFunctionsHost host, string folder, string queue, FleetEnvironment environment, bool ownsSimulator)
    {
        _ownsSimulator = ownsSimulator;
        Simulator = simulator;
        Host = host;
        Folder = folder;
        QueueName = queue;
        Environment = environment;
        _channel = GrpcChannel.ForAddress(host.RpcAddress);
        // The app stores payloads in camelCase (its worker serializer); the client reads them the same way.
        Client = new GrpcDurableTaskClient(
            "tests",
            new GrpcDurableTaskClientOptions { Channel = _channel, DataConverter = new JsonDataConverter(Json) },
            NullLogger<GrpcDurableTaskClient>.Instance);
        Http = new HttpClient { BaseAddress = host.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        Http.DefaultRequestHeaders.Add("x-functions-key", MasterKey);
        Queues = environment.Queues;
        Queue = Queues.GetQueueClient(queue);
    }

    /// <summary>The app's build output, which every test's host runs unchanged.</summary>
    public static string ScriptRoot => RepoPaths.FunctionAppOutput("src", "Functions");

    public SimulatorHost Simulator { get; }

    public LocalFunctionsHost Host { get; }

    /// <summary>The test's temp folder (the durable store lives here).</summary>
    public string Folder { get; }

    public string QueueName { get; }

    public FleetEnvironment Environment { get; }

    public DurableTaskClient Client { get; }

    public HttpClient Http { get; }

    /// <summary>Queues with the host's default message encoding (Base64).</summary>
    public QueueServiceClient Queues { get; }

    public QueueClient Queue { get; }

    /// <summary>
    /// Starts a simulator (or uses <paramref name="sharedSimulator"/>, which it then leaves running) and the app;
    /// <paramref name="settings"/> override the test defaults (null removes one).
    /// </summary>
    public static async Task<TestFleetApp> StartAsync(
        FleetEnvironment environment, SimulatorOptions? simulatorOptions = null, IDictionary<string, string?>? settings = null,
        Func<SimulatorHost, Dictionary<string, string?>, Task>? beforeHost = null, SimulatorHost? sharedSimulator = null)
    {
        simulatorOptions ??= new SimulatorOptions { Devices = 200, OperationDelayMs = 30, InstallDelayMs = 100 };
        simulatorOptions.SigningKey = FleetEnvironment.SigningKey;
        var simulator = sharedSimulator ?? await SimulatorHost.StartAsync(simulatorOptions);
        var folder = Directory.CreateTempSubdirectory("fleet-app-").FullName;
        var queue = "prov-" + Guid.NewGuid().ToString("N")[..12];
        var all = DefaultSettings(environment, simulator, folder, queue);
        foreach (var (key, value) in await CloudSettingsAsync(simulator))
        {
            all[key] = value;
        }

        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            all[key] = value;
        }

        try
        {
            if (beforeHost is not null)
            {
                await beforeHost(simulator, all);
            }

            var host = await StartHostAsync(all);
            return new TestFleetApp(simulator, host, folder, queue, environment, ownsSimulator: sharedSimulator is null);
        }
        catch
        {
            if (sharedSimulator is null)
            {
                await simulator.DisposeAsync();
            }

            Directory.Delete(folder, recursive: true);
            throw;
        }
    }

    /// <summary>The local host on the app's output with <paramref name="settings"/> as its app settings.</summary>
    public static Task<LocalFunctionsHost> StartHostAsync(IReadOnlyDictionary<string, string?> settings) =>
        LocalFunctionsHost.StartAsync(
            new LocalHostOptions
            {
                ScriptRoot = ScriptRoot,
                Port = 0,
                Output = TextWriter.Null,
                ConsoleLogs = false,
                AppSettings = settings,
            },
            Timeout(90));

    /// <summary>Settings a test run uses unless it says otherwise: fast polls and retries, quiet logs.</summary>
    public static Dictionary<string, string?> DefaultSettings(FleetEnvironment environment, SimulatorHost simulator, string folder, string queue) =>
        new(StringComparer.OrdinalIgnoreCase)
        {
            ["AzureWebJobsStorage"] = environment.Azurite.ConnectionString,
            ["DurableTask:Backend:SqlitePath"] = Path.Combine(folder, "durable.db"),
            ["IDENTITY_ENDPOINT"] = environment.Identity.IdentityEndpoint.AbsoluteUri,
            ["IDENTITY_HEADER"] = environment.Identity.IdentityHeader,
            ["FunctionKeys:Master"] = MasterKey,
            ["FunctionKeys:DurableTask"] = DurableKey,
            ["Host:ShutdownTimeout"] = "00:00:05",
            ["AzureFunctionsJobHost:logging:logLevel:default"] = "Warning",
            ["AzureFunctionsJobHost:extensions:queues:maxPollingInterval"] = "00:00:00.200",
            ["ComplianceSweep:Schedule"] = "0 0 3 * * *",
            ["Sphere:endpoint"] = simulator.BaseAddress.AbsoluteUri,
            ["Sphere:credential"] = "managedidentity",
            ["Sphere:retry:delay"] = "00:00:00.010",
            ["Sphere:retry:maxDelay"] = "00:00:00.200",
            ["Sphere:retry:maxElapsedTime"] = "00:00:30",
            ["Sphere:rateLimiter:initialRate"] = "500",
            ["Provisioning:Queue"] = queue,
            ["Provisioning:DefaultTenant"] = "Contoso Fleet",
            ["Orchestrations:OperationPollInterval"] = "00:00:00.050",
            ["Orchestrations:RetryFirstInterval"] = "00:00:00.200",
            ["ComplianceSweep:PageSize"] = "40",
            ["ComplianceSweep:ChunkPages"] = "2",
            ["ComplianceSweep:MaxParallelRemediations"] = "8",

            // The tests' apps share one storage account (unlike deployed apps), and a rate one test's limiter learned
            // must not pace another's: each test's limiters learn from scratch (the memory has its own tests).
            ["LearnedRates:Remember"] = "false",
        };

    /// <summary>
    /// The IoT Central (application <c>contoso</c>, the real ManagedIdentityCredential) and IoTConnect (solution A,
    /// configured service URLs and the solution's credentials) connections on <paramref name="simulator"/>.
    /// </summary>
    public static async Task<Dictionary<string, string?>> CloudSettingsAsync(SimulatorHost simulator)
    {
        var solution = (await simulator.Control.GetIoTConnectAsync()).Contoso;
        var urls = simulator.IoTConnect;
        return new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase)
        {
            ["IoTCentral:endpoint"] = simulator.IoTCentralEndpoint("contoso").AbsoluteUri,
            ["IoTCentral:credential"] = "managedidentity",
            ["IoTCentral:retry:delay"] = "00:00:00.010",
            ["IoTCentral:retry:maxDelay"] = "00:00:00.200",
            ["IoTCentral:retry:maxElapsedTime"] = "00:00:30",
            ["IoTConnect:authUrl"] = urls.Auth.AbsoluteUri,
            ["IoTConnect:deviceUrl"] = urls.Device.AbsoluteUri,
            ["IoTConnect:userUrl"] = urls.User.AbsoluteUri,
            ["IoTConnect:firmwareUrl"] = urls.Firmware.AbsoluteUri,
            ["IoTConnect:username"] = solution.Username,
            ["IoTConnect:password"] = solution.Password,
            ["IoTConnect:solutionKey"] = solution.SolutionKey,
            ["IoTConnect:retry:delay"] = "00:00:00.010",
            ["IoTConnect:retry:maxDelay"] = "00:00:00.200",
            ["IoTConnect:retry:maxElapsedTime"] = "00:00:30",
            ["IoTConnect:rateLimiter:initialRate"] = "200",
        };
    }

    /// <summary>A token that cancels after <paramref name="seconds"/>: every wait passes one, so a hang fails the test.</summary>
    public static CancellationToken Timeout(int seconds = 60) => new CancellationTokenSource(TimeSpan.FromSeconds(seconds)).Token;

    /// <summary>Sends a queue message (Base64, as the host expects).</summary>
    public async Task EnqueueAsync(string text)
    {
        await Queue.CreateIfNotExistsAsync();
        await Queue.SendMessageAsync(text);
    }

    /// <summary>Waits until the instance exists and has finished.</summary>
    public async Task<OrchestrationMetadata> WaitForCompletionAsync(string instanceId, int seconds = 60)
    {
        var token = Timeout(seconds);
        while (await Client.GetInstanceAsync(instanceId, token) is null)
        {
            await Task.Delay(20, token);
        }

        return await Client.WaitForInstanceCompletionAsync(instanceId, getInputsAndOutputs: true, token);
    }

    /// <summary>Receives (and deletes) <paramref name="count"/> records from <c>{queue}-rejected</c>.</summary>
    public async Task<List<RejectedMessage>> ReceiveRejectedAsync(int count, int seconds = 30)
    {
        var rejectedQueue = Queues.GetQueueClient(QueueName + "-rejected");
        var token = Timeout(seconds);
        var rejected = new List<RejectedMessage>();
        while (rejected.Count < count)
        {
            if (await rejectedQueue.ExistsAsync(token))
            {
                foreach (var message in (await rejectedQueue.ReceiveMessagesAsync(32, cancellationToken: token)).Value)
                {
                    rejected.Add(RejectedMessage.Deserialize(message.MessageText)!);
                    await rejectedQueue.DeleteMessageAsync(message.MessageId, message.PopReceipt, token);
                }
            }

            await Task.Delay(50, token);
        }

        return rejected;
    }

    /// <summary>Waits until the instance was replaced by one created after <paramref name="after"/> and that one finished.</summary>
    public async Task<OrchestrationMetadata> WaitForRerunAsync(string instanceId, DateTimeOffset after, int seconds = 60)
    {
        var token = Timeout(seconds);
        while (true)
        {
            var metadata = await Client.GetInstanceAsync(instanceId, getInputsAndOutputs: true, token);
            if (metadata is { IsCompleted: true } && metadata.CreatedAt > after)
            {
                return metadata;
            }

            await Task.Delay(25, token);
        }
    }

    /// <summary>Asserts the instance completed, naming its failure and last status otherwise.</summary>
    public static void AssertCompleted(OrchestrationMetadata metadata) =>
        Assert.True(metadata.RuntimeStatus == OrchestrationRuntimeStatus.Completed,
            $"{metadata.InstanceId} is {metadata.RuntimeStatus}: {metadata.FailureDetails?.ErrorType} {metadata.FailureDetails?.ErrorMessage} {metadata.SerializedCustomStatus}");

    /// <summary>Polls the instance until <paramref name="condition"/> holds for its metadata (with inputs and outputs).</summary>
    public async Task<OrchestrationMetadata> WaitForAsync(string instanceId, Func<OrchestrationMetadata, bool> condition, string what, int seconds = 60)
    {
        var token = Timeout(seconds);
        while (true)
        {
            var metadata = await Client.GetInstanceAsync(instanceId, getInputsAndOutputs: true, token);
            if (metadata is not null && condition(metadata))
            {
                return metadata;
            }

            if (metadata?.IsCompleted == true)
            {
                throw new InvalidOperationException($"{instanceId} finished ({metadata.RuntimeStatus}) before {what}: {metadata.SerializedCustomStatus}");
            }

            try
            {
                await Task.Delay(25, token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"Timed out waiting for {what} on {instanceId}; last status: {metadata?.RuntimeStatus} {metadata?.SerializedCustomStatus}");
            }
        }
    }

    /// <summary>POSTs JSON (or nothing) with the master key.</summary>
    public Task<HttpResponseMessage> PostAsync(string path, object? body) =>
        body is null
            ? Http.PostAsync(path, new StringContent(string.Empty, new MediaTypeHeaderValue("application/json")), Timeout(30))
            : Http.PostAsJsonAsync(path, body, Json, Timeout(30));

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await Client.DisposeAsync();
        _channel.Dispose();
        await Host.StopAsync();
        await Host.DisposeAsync();
        if (_ownsSimulator)
        {
            await Simulator.DisposeAsync();
        }

        try
        {
            Directory.Delete(Folder, recursive: true);
        }
        catch (IOException)
        {
            // A temp folder left behind is harmless.
        }
    }
}

/// <summary>The body of the 202 a starter answers (the Durable extension's check-status payload; read case-insensitively).</summary>
public sealed record CheckStatusPayload(
    string Id, string StatusQueryGetUri, string SendEventPostUri, string TerminatePostUri, string PurgeHistoryDeleteUri,
    string SuspendPostUri, string ResumePostUri);
