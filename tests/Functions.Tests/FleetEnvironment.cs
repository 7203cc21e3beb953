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

    public async Task InitializeAsync()
    {
        _identity = await SimulatorHost.StartAsync(new SimulatorOptions { SigningKey = SigningKey, Devices = 10 });
        Environment.SetEnvironmentVariable("IDENTITY_ENDPOINT", _identity.IdentityEndpoint.AbsoluteUri);
        Environment.SetEnvironmentVariable("IDENTITY_HEADER", _identity.IdentityHeader);
        _azurite = await AzuriteInstance.StartAsync();
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
