using System.ComponentModel.DataAnnotations;

namespace Fleet.Durable.Grpc;

/// <summary>Settings of the sidecar backend (section <c>DurableTask:Backend</c>); store settings stay in <see cref="DurableTaskOptions"/>.</summary>
public sealed class DurableBackendOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "DurableTask:Backend";

    /// <summary>
    /// How long a worker keeps an orchestration's state between episodes (the SDK's extended sessions) when the work is
    /// handed out through <see cref="DurableBackend.LockNextOrchestrationAsync(CancellationToken)"/>; then only new
    /// events are sent. 0 turns extended sessions off (every episode carries the full history). Default 30 seconds.
    /// The standalone <c>GetWorkItems</c> stream always sends the full history: the SDK's standalone worker keeps no state.
    /// </summary>
    [Range(0, 3600)]
    public int ExtendedSessionIdleTimeoutSeconds { get; set; } = 30;

    /// <summary>Instance histories kept in memory between episodes (LRU), saving a store read per episode. Default 10,000.</summary>
    [Range(0, 1_000_000)]
    public int HistoryCacheSize { get; set; } = 10_000;
}

/// <summary>Where the backend keeps its data, as set in configuration (section <c>DurableTask:Backend</c>).</summary>
public sealed class DurableBackendStoreOptions
{
    /// <summary>A PostgreSQL connection string; when set the PostgreSQL store runs, otherwise SQLite.</summary>
    public string? PostgresConnectionString { get; set; }

    /// <summary>The SQLite database file used when no PostgreSQL connection string is set. Default <c>durable.db</c>.</summary>
    public string SqlitePath { get; set; } = "durable.db";
}
