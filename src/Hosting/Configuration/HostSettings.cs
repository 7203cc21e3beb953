using Azure.Storage.Queues;
using Microsoft.Extensions.Logging;

namespace Fleet.Hosting.Configuration;

/// <summary>Everything the host reads from host.json and the app settings, validated at start-up.</summary>
internal sealed record HostSettings
{
    public required string HostId { get; init; }

    public required string ContentRoot { get; init; }

    /// <summary>Null: no limit (<c>functionTimeout: "-1"</c>).</summary>
    public TimeSpan? FunctionTimeout { get; init; }

    /// <summary>host.json <c>functions</c>: when set, only these functions are loaded.</summary>
    public IReadOnlyList<string>? FunctionNames { get; init; }

    public required IReadOnlyDictionary<string, LogLevel> LogLevels { get; init; }

    public required QueueSettings Queues { get; init; }

    public required HttpSettings Http { get; init; }

    public required DurableSettings Durable { get; init; }

    public required FunctionKeys Keys { get; init; }

    public TimeSpan ShutdownTimeout { get; init; } = TimeSpan.FromSeconds(30);

    public TimeZoneInfo TimeZone { get; init; } = TimeZoneInfo.Utc;
}

/// <summary>host.json <c>extensions.queues</c>.</summary>
internal sealed record QueueSettings
{
    public static readonly TimeSpan DefaultMessageLeaseDuration = TimeSpan.FromSeconds(30);

    /// <summary>Shortest lease: renewals at half of it must still have time to get through.</summary>
    public static readonly TimeSpan MinMessageLeaseDuration = TimeSpan.FromSeconds(5);

    /// <summary>Longest lease: the longest visibility timeout Azure Storage queues accept.</summary>
    public static readonly TimeSpan MaxMessageLeaseDuration = TimeSpan.FromDays(7);

    public int BatchSize { get; init; } = 16;

    public int NewBatchThreshold { get; init; }

    public int MaxDequeueCount { get; init; } = 5;

    /// <summary>How long a failed message stays hidden before its next attempt.</summary>
    public TimeSpan VisibilityTimeout { get; init; } = TimeSpan.Zero;

    /// <summary>
    /// How long a received message stays hidden while its function runs (renewed at half of it): how soon the
    /// messages of a host that died come back.
    /// </summary>
    public TimeSpan MessageLeaseDuration { get; init; } = DefaultMessageLeaseDuration;

    public TimeSpan MaxPollingInterval { get; init; } = TimeSpan.FromMinutes(1);

    public QueueMessageEncoding MessageEncoding { get; init; } = QueueMessageEncoding.Base64;
}

/// <summary>host.json <c>extensions.http</c> plus the <c>Host</c> settings of local.settings.json.</summary>
internal sealed record HttpSettings
{
    public string RoutePrefix { get; init; } = "api";

    public int Port { get; init; } = 7071;

    public IReadOnlyList<string> CorsOrigins { get; init; } = [];

    public bool CorsCredentials { get; init; }
}

/// <summary>The durable store kinds host.json can select.</summary>
internal enum DurableStorageType
{
    Sqlite,
    Postgres,
}

/// <summary>host.json <c>extensions.durableTask</c>'s task hub and concurrency limits (null: the host's default).</summary>
internal sealed record DurableTaskHubSettings(string HubName, int? MaxConcurrentActivityFunctions, int? MaxConcurrentOrchestratorFunctions)
{
    /// <summary>As <see cref="DurableSettings"/> with the default store (the local host chooses its store elsewhere).</summary>
    public DurableSettings AsSettings() => new()
    {
        HubName = HubName,
        MaxConcurrentActivityFunctions = MaxConcurrentActivityFunctions,
        MaxConcurrentOrchestratorFunctions = MaxConcurrentOrchestratorFunctions,
    };
}

/// <summary>host.json <c>extensions.durableTask</c>.</summary>
internal sealed record DurableSettings
{
    public required string HubName { get; init; }

    public DurableStorageType StorageType { get; init; } = DurableStorageType.Sqlite;

    /// <summary>The setting (or connection string) that holds the store's connection; null for the default SQLite file.</summary>
    public string? ConnectionStringName { get; init; }

    public int? MaxConcurrentActivityFunctions { get; init; }

    public int? MaxConcurrentOrchestratorFunctions { get; init; }
}
