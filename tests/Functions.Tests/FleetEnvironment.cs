using Azure.Storage.Blobs;
using Azure.Storage.Queues;
using Fleet.Simulator;
using Fleet.Testing;

namespace Fleet.Functions.Tests;

/// <summary>Every end-to-end test shares one Azurite and the process's one managed-identity endpoint.</summary>
[CollectionDefinition(Name)]
public sealed class FleetCollection : ICollectionFixture<FleetEnvironment>
{
    public const string Name = "Fleet app";
}

/// <summary>
/// A private Azurite, and the identity endpoint of the test process: IDENTITY_ENDPOINT/IDENTITY_HEADER point at it
/// before any ManagedIdentityCredential runs (MSAL detects the managed-identity source once per process). Every
/// simulator the tests start shares its signing key, so they accept its tokens; the app authenticates with the real
/// ManagedIdentityCredential.
/// </summary>
public sealed class FleetEnvironment : IAsyncLifetime
{
    public const string SigningKey = "fleet-functions-tests-signing-key-0123456789";

    private AzuriteInstance? _azurite;
    private SimulatorHost? _identity;

    public AzuriteInstance Azurite => _azurite ?? throw new InvalidOperationException("Not initialised.");

    public SimulatorHost Identity => _identity ?? throw new InvalidOperationException("Not initialised.");

    /// <summary>Azurite's queues with the host's default message encoding (Base64).</summary>
    public QueueServiceClient Queues { get; private set; } = null!;

    /// <summary>Azurite's blobs (the app's report store writes here).</summary>
    public BlobServiceClient Blobs { get; private set; } = null!;

    /// <summary>A queue without message encoding: the text exactly as it is on the wire.</summary>
    public QueueClient RawQueue(string name) => new(Azurite.ConnectionString, name, new QueueClientOptions { MessageEncoding = QueueMessageEncoding.None });

    public async Task InitializeAsync()
    {
        _identity = await SimulatorHost.StartAsync(new SimulatorOptions { SigningKey = SigningKey, Devices = 10 });
        Environment.SetEnvironmentVariable("IDENTITY_ENDPOINT", _identity.IdentityEndpoint.AbsoluteUri);
        Environment.SetEnvironmentVariable("IDENTITY_HEADER", _identity.IdentityHeader);
        // The app's own blob client (the report store, in the worker) sends the SDK's newest API version, which this
        // Azurite does not know yet.
        _azurite = await AzuriteInstance.StartAsync(new AzuriteOptions { SkipApiVersionCheck = true });
        Blobs = new BlobServiceClient(_azurite.ConnectionString);
        Queues = new QueueServiceClient(_azurite.ConnectionString, new QueueClientOptions { MessageEncoding = QueueMessageEncoding.Base64 });
    }

    public async Task DisposeAsync()
    {
        if (_azurite is not null)
        {
            await _azurite.DisposeAsync();
        }

        if (_identity is not null)
        {
            await _identity.DisposeAsync();
        }
    }
}
