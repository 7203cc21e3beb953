using Xunit;

namespace Fleet.Testing;

/// <summary>
/// One <see cref="AzuriteInstance"/> for a test class (<c>IClassFixture&lt;AzuriteFixture&gt;</c>) or a collection
/// (declare <c>[CollectionDefinition("Azurite")] class AzuriteCollection : ICollectionFixture&lt;AzuriteFixture&gt;</c>
/// in the test project; xunit needs the definition in the test assembly). Override <see cref="Options"/> for HTTPS
/// or OAuth.
/// </summary>
public class AzuriteFixture : IAsyncLifetime
{
    private AzuriteInstance? _instance;

    /// <summary>The running instance.</summary>
    public AzuriteInstance Instance => _instance ?? throw new InvalidOperationException("The Azurite fixture is not initialised.");

    /// <summary>A connection string for the instance (explicit endpoints, well-known account and key).</summary>
    public string ConnectionString => Instance.ConnectionString;

    /// <summary>How the instance is started.</summary>
    protected virtual AzuriteOptions Options => new();

    /// <inheritdoc />
    public async Task InitializeAsync() => _instance = await AzuriteInstance.StartAsync(Options);

    /// <inheritdoc />
    public async Task DisposeAsync()
    {
        if (_instance is not null)
        {
            await _instance.DisposeAsync();
        }
    }
}
