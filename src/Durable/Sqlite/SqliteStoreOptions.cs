namespace Fleet.Durable.Sqlite;

/// <summary>How the SQLite store commits.</summary>
public enum SqliteDurability
{
    /// <summary>
    /// <c>synchronous=NORMAL</c> in WAL mode (the default): a committed episode survives a process crash or SIGKILL;
    /// an operating-system crash or power loss can lose the last moments of commits (never corrupt the database).
    /// </summary>
    Normal,

    /// <summary><c>synchronous=FULL</c>: every commit batch is fsynced, so commits also survive power loss; slower.</summary>
    Full,
}

/// <summary>Settings of the embedded SQLite store.</summary>
public sealed class SqliteStoreOptions
{
    /// <summary>The database file; created with its schema when missing. Required.</summary>
    public string DatabasePath { get; set; } = string.Empty;

    /// <summary>Commit durability; default <see cref="SqliteDurability.Normal"/>.</summary>
    public SqliteDurability Durability { get; set; } = SqliteDurability.Normal;

    /// <summary>The largest accepted <see cref="MaxWriteBatch"/>.</summary>
    public const int MaxWriteBatchLimit = 100_000;

    /// <summary>
    /// Most write operations grouped into one transaction (group commit). Default 512; 1 to
    /// <see cref="MaxWriteBatchLimit"/>, checked when the store is created (at start-up).
    /// </summary>
    public int MaxWriteBatch { get; set; } = 512;
}
