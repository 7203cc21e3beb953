using Fleet.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace Fleet.Hosting.Tests;

[CollectionDefinition("Azurite")]
public sealed class AzuriteCollection : ICollectionFixture<AzuriteFixture>;

/// <summary>
/// A function app in a temporary content root (host.json, optional local.settings.json), started in-process on a
/// free port against the collection's Azurite. Disposing stops every host it started and deletes the folder.
/// </summary>
public sealed class TestApp : IAsyncDisposable
{
    public const string MasterKey = "master-key-0123456789abcdef";
    public const string DurableKey = "durable-key-0123456789abcdef";

    private readonly List<FunctionsHost> _hosts = [];

    private TestApp(string contentRoot) => ContentRoot = contentRoot;

    public string ContentRoot { get; }

    /// <summary>A host id unique to this app, so timer leases, status and poison records of tests never meet.</summary>
    public string HostId { get; } = "t-" + Guid.NewGuid().ToString("N")[..20];

    public static TestApp Create(string hostJson = """{ "version": "2.0" }""", string? localSettings = null)
    {
        var folder = Directory.CreateTempSubdirectory("fleet-hosting-").FullName;
        File.WriteAllText(Path.Combine(folder, "host.json"), hostJson);
        if (localSettings is not null)
        {
            File.WriteAllText(Path.Combine(folder, "local.settings.json"), localSettings);
        }

        return new TestApp(folder);
    }

    public FunctionsApplicationBuilder Builder(
        IEnumerable<Type> functionTypes, IDictionary<string, string?>? settings = null, TimeProvider? time = null, string? hostId = null,
        string? environment = null, StorageFaults? faults = null)
    {
        var all = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase)
        {
            ["FunctionKeys:Master"] = MasterKey,
            ["FunctionKeys:DurableTask"] = DurableKey,
            ["DurableStore"] = "Data Source=" + Path.Combine(ContentRoot, "durable.db"),
            ["Host:ShutdownTimeout"] = "00:00:10",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string?>())
        {
            all[key] = value;
        }

        return FunctionsApplication.CreateBuilder(new FunctionsApplicationOptions
        {
            ContentRoot = ContentRoot,
            FunctionTypes = functionTypes.ToList(),
            HostId = hostId ?? HostId,
            HttpPort = 0,
            TimeProvider = time,
            Settings = all,
            EnvironmentName = environment,
            ConfigureStorage = faults is null ? null : options => options.AddPolicy(faults, Azure.Core.HttpPipelinePosition.BeforeTransport),
        });
    }

    public async Task<FunctionsHost> StartAsync(
        IEnumerable<Type> functionTypes, IDictionary<string, string?>? settings = null, TimeProvider? time = null,
        Action<IServiceCollection>? services = null, string? hostId = null, string? environment = null, StorageFaults? faults = null)
    {
        var builder = Builder(functionTypes, settings, time, hostId, environment, faults);
        services?.Invoke(builder.Services);
        var host = builder.Build();
        _hosts.Add(host);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await host.StartAsync(timeout.Token);
        return host;
    }

    public static HttpClient Client(FunctionsHost host) => new() { BaseAddress = host.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };

    public async ValueTask DisposeAsync()
    {
        foreach (var host in _hosts)
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            try
            {
                await host.StopAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                // Already stopping or stopped.
            }

            await host.DisposeAsync();
        }

        try
        {
            Directory.Delete(ContentRoot, recursive: true);
        }
        catch (IOException)
        {
            // A temp folder left behind is harmless.
        }
    }
}

/// <summary>Bounded waiting for a condition, so a hang fails the test instead of blocking the run.</summary>
public static class Wait
{
    public static async Task UntilAsync(Func<Task<bool>> condition, string what, TimeSpan? timeout = null)
    {
        var limit = timeout ?? TimeSpan.FromSeconds(20);
        var started = DateTime.UtcNow;
        while (!await condition())
        {
            if (DateTime.UtcNow - started > limit)
            {
                throw new TimeoutException($"Timed out after {limit.TotalSeconds:0} s waiting for {what}.");
            }

            await Task.Delay(25);
        }
    }

    public static Task UntilAsync(Func<bool> condition, string what, TimeSpan? timeout = null) =>
        UntilAsync(() => Task.FromResult(condition()), what, timeout);
}
