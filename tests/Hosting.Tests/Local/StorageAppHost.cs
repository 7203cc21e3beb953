using System.Collections.Concurrent;
using Azure.Storage.Blobs;
using Azure.Storage.Queues;
using Azure.Storage.Queues.Models;
using Fleet.Hosting.Configuration;
using Fleet.Hosting.Local;
using Fleet.Hosting.Local.Storage;
using Fleet.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Fleet.Hosting.Tests.Local;

/// <summary>
/// StorageApp (the real worker with timer, queue and blob functions) under the local host with the storage bindings,
/// against a private Azurite. Azurite skips its API version check: the worker's own blob clients (SDK-type blob
/// parameters) send the SDK's default version, which is newer than Azurite 3.37 knows.
/// </summary>
public class StorageAppFixture : IAsyncLifetime
{
    public const string AppName = "StorageApp";

    private readonly List<(LocalFunctionsHost Host, string Root)> _hosts = [];

    /// <summary>The host id the app's hosts share (derived from the app name, as Azure Functions does).</summary>
    public static string HostId => HostSettingsReader.DeriveHostId(AppName);

    internal AzuriteInstance Azurite { get; private set; } = null!;

    internal LocalFunctionsHost Host => _hosts[0].Host;

    internal LogCapture Logs { get; } = new();

    /// <summary>Queues with host.json's default encoding (Base64), as an app that sends through the SDK would use.</summary>
    internal QueueServiceClient Queues { get; private set; } = null!;

    /// <summary>Queues without encoding: the raw text on the wire.</summary>
    internal QueueServiceClient RawQueues { get; private set; } = null!;

    internal BlobServiceClient Blobs { get; private set; } = null!;

    /// <summary>Settings every host of this fixture gets (local.settings.json Values).</summary>
    protected virtual IReadOnlyDictionary<string, string?> Values => new Dictionary<string, string?>();

    /// <summary>Whether the first host starts in <see cref="InitializeAsync"/>.</summary>
    protected virtual bool StartHost => true;

    public async Task InitializeAsync()
    {
        Azurite = await AzuriteInstance.StartAsync(new AzuriteOptions { SkipApiVersionCheck = true });
        var encoded = StorageAccountConnection.NewQueueOptions();
        encoded.MessageEncoding = QueueMessageEncoding.Base64;
        Queues = new QueueServiceClient(Azurite.ConnectionString, encoded);
        RawQueues = new QueueServiceClient(Azurite.ConnectionString, StorageAccountConnection.NewQueueOptions());
        Blobs = new BlobServiceClient(Azurite.ConnectionString, StorageAccountConnection.NewBlobOptions());
        await PrepareAsync();
        if (StartHost)
        {
            await StartAnotherHostAsync();
        }
    }

    /// <summary>Runs after Azurite is up and before the first host starts.</summary>
    protected virtual Task PrepareAsync() => Task.CompletedTask;

    /// <summary>Starts one more host of the app (its own copy and worker) on the same storage.</summary>
    internal async Task<LocalFunctionsHost> StartAnotherHostAsync(LogCapture? logs = null)
    {
        var root = TestApps.Copy(AppName, r =>
        {
            var values = new Dictionary<string, string?>(Values) { ["AzureWebJobsStorage"] = Azurite.ConnectionString };
            TestApps.EditLocalSettings(r, "Values", values);
        });
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        var capture = logs ?? Logs;
        var host = await LocalFunctionsHost.StartAsync(
            new LocalHostOptions
            {
                ScriptRoot = root,
                Port = 0,
                Output = TextWriter.Null,
                ConsoleLogs = false,
                ConfigureLogging = l => l.AddProvider(capture),
                ConfigureServices = s => s.AddStorageBindings(),
            },
            timeout.Token);
        _hosts.Add((host, root));
        return host;
    }

    public async Task DisposeAsync()
    {
        foreach (var (host, root) in _hosts)
        {
            await host.StopAsync();
            await host.DisposeAsync();
            TestApps.Delete(root);
        }

        if (Azurite is not null)
        {
            await Azurite.DisposeAsync();
        }
    }

    /// <summary>Waits (bounded) for a message on <paramref name="queue"/> matching <paramref name="match"/>, and deletes it.</summary>
    internal async Task<string> NextAsync(string queue, Func<string, bool> match, TimeSpan? timeout = null, QueueServiceClient? service = null)
    {
        var client = (service ?? Queues).GetQueueClient(queue);
        await client.CreateIfNotExistsAsync();
        string? found = null;
        await Wait.UntilAsync(
            async () =>
            {
                foreach (var message in (await client.ReceiveMessagesAsync(32, TimeSpan.FromSeconds(1))).Value)
                {
                    if (match(message.MessageText))
                    {
                        found = message.MessageText;
                        await client.DeleteMessageAsync(message.MessageId, message.PopReceipt);
                        return true;
                    }
                }

                return false;
            },
            $"a message on '{queue}'",
            timeout ?? TimeSpan.FromSeconds(30));
        return found!;
    }

    /// <summary>Every message now on <paramref name="queue"/> (peeked, up to 32).</summary>
    internal async Task<IReadOnlyList<PeekedMessage>> PeekAsync(string queue, QueueServiceClient? service = null)
    {
        var client = (service ?? Queues).GetQueueClient(queue);
        return await client.ExistsAsync() ? (await client.PeekMessagesAsync(32)).Value : [];
    }

    internal async Task SendAsync(string queue, string text)
    {
        var client = Queues.GetQueueClient(queue);
        await client.CreateIfNotExistsAsync();
        await client.SendMessageAsync(text);
    }
}

/// <summary>One host of StorageApp for the queue, blob and admin API tests (the admin API needs the master key).</summary>
public sealed class StorageQueueAppFixture : StorageAppFixture
{
    protected override IReadOnlyDictionary<string, string?> Values => new Dictionary<string, string?> { ["FunctionKeys__Master"] = TestApps.MasterKey };
}

/// <summary>The queue and blob tests share one host.</summary>
[CollectionDefinition(Name)]
public sealed class StorageAppCollection : ICollectionFixture<StorageQueueAppFixture>
{
    public const string Name = "StorageApp";
}

/// <summary>Log entries of one kind, for assertions.</summary>
internal static class LogEntries
{
    public static IEnumerable<LogCapture.Entry> With(this ConcurrentQueue<LogCapture.Entry> entries, int eventId) =>
        entries.Where(e => e.EventId.Id == eventId);
}
