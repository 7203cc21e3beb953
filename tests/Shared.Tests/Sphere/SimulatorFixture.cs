using Azure.Core;
using Azure.Identity;
using Fleet.Shared.Resilience;
using Fleet.Shared.Sphere;
using Fleet.Simulator;

namespace Fleet.Shared.Tests.Sphere;

/// <summary>Every test that fetches managed-identity tokens belongs here, so they share one identity endpoint.</summary>
[CollectionDefinition(Name)]
public sealed class SimulatorCollection : ICollectionFixture<SimulatorFixture>
{
    public const string Name = "Sphere simulator";
}

/// <summary>
/// Starts the process's one identity endpoint and points IDENTITY_ENDPOINT/IDENTITY_HEADER at it before any
/// ManagedIdentityCredential runs (MSAL detects the managed-identity source once per process). Every simulator the
/// tests start shares its signing key, so they accept its tokens.
/// </summary>
public sealed class SimulatorFixture : IAsyncLifetime
{
    public const string SigningKey = "fleet-shared-tests-signing-key-0123456789";

    public SimulatorHost Identity { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Identity = await SimulatorHost.StartAsync(new SimulatorOptions { SigningKey = SigningKey, Devices = 50 });
        Environment.SetEnvironmentVariable("IDENTITY_ENDPOINT", Identity.IdentityEndpoint.AbsoluteUri);
        Environment.SetEnvironmentVariable("IDENTITY_HEADER", Identity.IdentityHeader);
    }

    public async Task DisposeAsync() => await Identity.DisposeAsync();

    /// <summary>A fresh simulator for one test (dispose it with <c>await using</c>).</summary>
    public static Task<SimulatorHost> StartSimulatorAsync(SimulatorOptions? options = null, TimeProvider? time = null)
    {
        options ??= new SimulatorOptions { Devices = 200 };
        options.SigningKey = SigningKey;
        return SimulatorHost.StartAsync(options, time);
    }

    /// <summary>Client settings for tests: fast polls and backoff; a limiter that starts fast unless a test says otherwise.</summary>
    public static SphereClientOptions ClientOptions(SimulatorHost simulator, Action<SphereClientOptions>? configure = null)
    {
        var options = new SphereClientOptions
        {
            Endpoint = simulator.BaseAddress,
            OperationPollInterval = TimeSpan.FromMilliseconds(20),
            OperationTimeout = TimeSpan.FromSeconds(30),
        };
        options.Retry.Delay = TimeSpan.FromMilliseconds(10);
        options.Retry.MaxDelay = TimeSpan.FromMilliseconds(200);
        options.Retry.MaxElapsedTime = TimeSpan.FromSeconds(30);
        options.RateLimiter.InitialRate = 500;
        configure?.Invoke(options);
        return options;
    }

    /// <summary>A client of <paramref name="simulator"/> authenticated by the real ManagedIdentityCredential.</summary>
    public static SphereClient CreateClient(
        SimulatorHost simulator,
        Action<SphereClientOptions>? configure = null,
        TokenCredential? credential = null,
        TimeProvider? time = null,
        RateLimiterRegistry? rateLimiters = null) =>
        new(credential ?? new ManagedIdentityCredential(ManagedIdentityId.SystemAssigned),
            ClientOptions(simulator, configure), rateLimiters, time, loggerFactory: null);

    /// <summary>A token that cancels after a minute: every integration test passes it, so a hang fails the test.</summary>
    public static CancellationToken Timeout(TimeSpan? limit = null) =>
        new CancellationTokenSource(limit ?? TimeSpan.FromSeconds(60)).Token;
}
