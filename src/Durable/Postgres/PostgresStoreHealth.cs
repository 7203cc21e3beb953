namespace Fleet.Durable.Postgres;

/// <summary>How usable the PostgreSQL store is.</summary>
public enum PostgresHealthStatus
{
    /// <summary>The database answers and the store's connections work.</summary>
    Healthy,

    /// <summary>The database answers, but the store is starting, recovering from errors or without notifications.</summary>
    Degraded,

    /// <summary>The database cannot be reached (or the store could not start): work waits until it is back.</summary>
    Unhealthy,
}

/// <summary>The result of <see cref="PostgresOrchestrationStore.CheckHealthAsync"/>.</summary>
/// <param name="Status">The status.</param>
/// <param name="Description">What was found, for a health endpoint (no secrets).</param>
public sealed record PostgresStoreHealth(PostgresHealthStatus Status, string Description);
