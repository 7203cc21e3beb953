namespace Fleet.ServiceBus;

/// <summary>Settings of a <see cref="ServiceBusEmulator"/>; the CLI options map onto these.</summary>
public sealed class ServiceBusEmulatorOptions
{
    /// <summary>The default AMQP port, as the official emulator uses.</summary>
    public const int DefaultPort = 5672;

    /// <summary>The largest message the service's standard tier accepts (256 KiB), the default here.</summary>
    public const int StandardMaxMessageSize = 256 * 1024;

    /// <summary>Path of an official-shape <c>Config.json</c>. Exactly one of this and <see cref="ConfigJson"/> is required.</summary>
    public string? ConfigPath { get; set; }

    /// <summary>The configuration's text (tests and hosts that build it in memory).</summary>
    public string? ConfigJson { get; set; }

    /// <summary>Port on 127.0.0.1; 0 (default) picks a free one.</summary>
    public int Port { get; set; }

    /// <summary>When <see cref="Port"/> is taken, use a free port instead of failing (the CLI does when no --port is given).</summary>
    public bool FallBackToFreePort { get; set; }

    /// <summary>Directory of the SQLite state; null (default) keeps everything in memory, lost at stop.</summary>
    public string? DataDirectory { get; set; }

    /// <summary>The shared access key name tokens must be signed with.</summary>
    public string SharedAccessKeyName { get; set; } = "RootManageSharedAccessKey";

    /// <summary>The shared access key (the official emulator's well-known value by default).</summary>
    public string SharedAccessKey { get; set; } = "SAS_KEY_VALUE";

    /// <summary>The largest message (or batch) a sender may transfer, in bytes.</summary>
    public int MaxMessageSizeBytes { get; set; } = StandardMaxMessageSize;

    /// <summary>How often lock expiry, time to live and scheduled delivery are applied.</summary>
    public TimeSpan ClockInterval { get; set; } = TimeSpan.FromMilliseconds(50);

    /// <summary>Returns the problems of these options, each naming its setting; empty when valid.</summary>
    public IReadOnlyList<string> Validate()
    {
        var failures = new List<string>();
        if ((ConfigPath is null) == (ConfigJson is null))
        {
            failures.Add("ConfigPath (--config): exactly one of a configuration file and configuration text is required.");
        }

        if (Port is < 0 or > 65535)
        {
            failures.Add($"Port (--port): must be between 0 and 65535 (was {Port}).");
        }

        if (DataDirectory is { Length: 0 })
        {
            failures.Add("DataDirectory (--data): must not be empty.");
        }

        if (string.IsNullOrWhiteSpace(SharedAccessKeyName) || string.IsNullOrEmpty(SharedAccessKey))
        {
            failures.Add("SharedAccessKeyName / SharedAccessKey: both are required.");
        }

        if (MaxMessageSizeBytes is < 1024 or > 100 * 1024 * 1024)
        {
            failures.Add($"MaxMessageSizeBytes: must be between 1024 and 104857600 (was {MaxMessageSizeBytes}).");
        }

        if (ClockInterval <= TimeSpan.Zero || ClockInterval > TimeSpan.FromSeconds(10))
        {
            failures.Add($"ClockInterval: must be positive and at most 10 s (was {ClockInterval}).");
        }

        return failures;
    }
}
