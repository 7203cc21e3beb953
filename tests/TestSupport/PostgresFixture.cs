using Xunit;

namespace Fleet.Testing;

/// <summary>
/// One private <see cref="PostgresInstance"/> for a test class (<c>IClassFixture&lt;PostgresFixture&gt;</c>) or a
/// collection. Tests isolate themselves with their own database or schema (see <see cref="NewName"/>). Override
/// <see cref="Options"/> for password authentication or fsync.
/// </summary>
public class PostgresFixture : IAsyncLifetime
{
    private PostgresInstance? _instance;
    private int _names;

    /// <summary>The running instance.</summary>
    public PostgresInstance Instance => _instance ?? throw new InvalidOperationException("The PostgreSQL fixture is not initialised.");

    /// <summary>A connection string to the <c>postgres</c> database as the superuser.</summary>
    public string ConnectionString => Instance.ConnectionString();

    /// <summary>How the instance is started.</summary>
    protected virtual PostgresOptions Options => new();

    /// <summary>A name unique within this fixture, usable as a schema or database name (<c>{prefix}_{n}</c>).</summary>
    public string NewName(string prefix = "t") => $"{prefix}_{Interlocked.Increment(ref _names)}";

    /// <inheritdoc />
    public async Task InitializeAsync() => _instance = await PostgresInstance.StartAsync(Options);

    /// <inheritdoc />
    public async Task DisposeAsync()
    {
        if (_instance is not null)
        {
            await _instance.DisposeAsync();
        }
    }
}
