using System.Globalization;
using System.Text.RegularExpressions;
using Azure.Storage.Queues;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;

namespace Fleet.Hosting.Configuration;

/// <summary>
/// Turns configuration into <see cref="HostSettings"/>, refusing unknown host.json keys and invalid values with a
/// <see cref="HostConfigurationException"/> that names the key.
/// </summary>
internal static partial class HostSettingsReader
{
    public const string HostIdSetting = "AzureFunctionsWebHost:hostid";
    public const string PortSetting = "Host:LocalHttpPort";
    public const string ShutdownTimeoutSetting = "Host:ShutdownTimeout";
    public const string CorsSetting = "Host:CORS";
    public const string CorsCredentialsSetting = "Host:CORSCredentials";
    public const string TimeZoneSetting = "WEBSITE_TIME_ZONE";
    public const int DefaultPort = 7071;

    // The host.json keys this host understands; a null value is a leaf, "*" accepts any child name (leaf values).
    private static readonly Schema HostJsonSchema = new()
    {
        ["version"] = null,
        ["functionTimeout"] = null,
        ["functions"] = Schema.AnyLeaf,
        ["logging"] = new Schema
        {
            ["logLevel"] = Schema.AnyLeaf,

            // In every function app template; Application Insights is not used locally, so it is accepted and ignored.
            ["applicationInsights"] = Schema.Ignored,
        },
        ["extensions"] = new Schema
        {
            ["queues"] = new Schema
            {
                ["batchSize"] = null,
                ["newBatchThreshold"] = null,
                ["maxDequeueCount"] = null,
                ["visibilityTimeout"] = null,
                ["messageLeaseDuration"] = null,
                ["maxPollingInterval"] = null,
                ["messageEncoding"] = null,
            },
            ["http"] = new Schema
            {
                ["routePrefix"] = null,
            },
            ["durableTask"] = new Schema
            {
                ["hubName"] = null,
                ["storageProvider"] = new Schema
                {
                    ["type"] = null,
                    ["connectionStringName"] = null,
                },
                ["maxConcurrentActivityFunctions"] = null,
                ["maxConcurrentOrchestratorFunctions"] = null,
            },
        },
    };

    // The local functions host runs an app built for Azure: host.json's durableTask section may carry everything Azure
    // reads (the storage provider's own settings, extended sessions), and the store is chosen by a local setting.
    private static readonly Schema LocalHostJsonSchema = WithDurableTask(new Schema
    {
        ["hubName"] = null,
        ["storageProvider"] = Schema.AnyLeaf,
        ["maxConcurrentActivityFunctions"] = null,
        ["maxConcurrentOrchestratorFunctions"] = null,
        ["maxConcurrentEntityFunctions"] = null,
        ["extendedSessionsEnabled"] = null,
        ["extendedSessionIdleTimeoutInSeconds"] = null,
        ["maxGrpcMessageSizeInBytes"] = null,
    });

    /// <summary>Reads and validates every host setting.</summary>
    /// <param name="configuration">The app's configuration (host.json under <c>AzureFunctionsJobHost</c>).</param>
    /// <param name="contentRoot">The folder holding host.json.</param>
    /// <param name="applicationName">The app's name, for the default host id.</param>
    /// <param name="hostIdOverride">An explicit host id (tests), or null.</param>
    /// <param name="portOverride">An explicit HTTP port (tests; 0 picks a free one), or null.</param>
    /// <param name="durableStoreFromLocalSettings">
    /// The local functions host: host.json's <c>storageProvider</c> names an Azure provider and is not validated here
    /// (the store is a local setting), and the durableTask keys Azure reads are accepted.
    /// </param>
    public static HostSettings Read(
        IConfiguration configuration, string contentRoot, string applicationName, string? hostIdOverride, int? portOverride,
        bool durableStoreFromLocalSettings = false)
    {
        var hostJson = configuration.GetSection(ConfigurationFiles.HostJsonPrefix);
        CheckKnownKeys(hostJson, durableStoreFromLocalSettings ? LocalHostJsonSchema : HostJsonSchema, path: string.Empty);

        var version = hostJson["version"];
        if (!string.Equals(version, "2.0", StringComparison.Ordinal))
        {
            throw Invalid("version", version, "host.json must declare \"version\": \"2.0\"");
        }

        var functionTimeout = ReadFunctionTimeout(hostJson);
        var functionNames = hostJson.GetSection("functions").GetChildren().Select(c => c.Value ?? string.Empty).ToList();
        if (functionNames.Any(string.IsNullOrWhiteSpace))
        {
            throw Invalid("functions", null, "list function names as strings");
        }

        return new HostSettings
        {
            HostId = ReadHostId(configuration, applicationName, hostIdOverride),
            ContentRoot = contentRoot,
            FunctionTimeout = functionTimeout,
            FunctionNames = hostJson.GetSection("functions").Exists() ? functionNames : null,
            LogLevels = ReadLogLevels(hostJson.GetSection("logging:logLevel")),
            Queues = ReadQueues(hostJson.GetSection("extensions:queues")),
            Http = ReadHttp(configuration, hostJson.GetSection("extensions:http"), portOverride),
            Durable = durableStoreFromLocalSettings
                ? ReadDurableHub(configuration, hostJson.GetSection("extensions:durableTask")).AsSettings()
                : ReadDurable(configuration, hostJson.GetSection("extensions:durableTask")),
            Keys = FunctionKeys.Read(configuration),
            ShutdownTimeout = ReadSettingTimeSpan(configuration, ShutdownTimeoutSetting, TimeSpan.FromSeconds(30), TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(10)),
            TimeZone = ReadTimeZone(configuration),
        };
    }

    /// <summary>
    /// host.json <c>extensions.queues</c> from the same configuration <see cref="Read"/> takes (for the local functions
    /// host's queue bindings, after <see cref="Read"/> validated it at start-up).
    /// </summary>
    internal static QueueSettings ReadQueueSettings(IConfiguration configuration) =>
        ReadQueues(configuration.GetSection(ConfigurationFiles.HostJsonPrefix).GetSection("extensions:queues"));

    /// <summary>The host id: explicit, <c>AzureFunctionsWebHost:hostid</c>, or derived from the site or app name.</summary>
    internal static string ReadHostId(IConfiguration configuration, string applicationName, string? hostIdOverride)
    {
        var explicitId = hostIdOverride ?? configuration[HostIdSetting];
        if (!string.IsNullOrEmpty(explicitId))
        {
            if (!HostIdPattern().IsMatch(explicitId))
            {
                throw new HostConfigurationException(
                    HostIdSetting,
                    $"Setting '{HostIdSetting}' ('{explicitId}') is not a valid host id: use 1-32 lowercase letters, digits and dashes, not starting or ending with a dash.");
            }

            return explicitId;
        }

        var source = configuration["WEBSITE_SITE_NAME"];
        return DeriveHostId(string.IsNullOrWhiteSpace(source) ? applicationName : source);
    }

    /// <summary>Lowercase letters, digits and single dashes, at most 32 characters, as Azure Functions derives it.</summary>
    internal static string DeriveHostId(string name)
    {
        var lowered = NotHostIdCharacters().Replace(name.ToLowerInvariant(), "-");
        lowered = RepeatedDashes().Replace(lowered, "-").Trim('-');
        if (lowered.Length > 32)
        {
            lowered = lowered[..32].TrimEnd('-');
        }

        return lowered.Length == 0 ? "functions-host" : lowered;
    }

    private static TimeSpan? ReadFunctionTimeout(IConfigurationSection hostJson)
    {
        var raw = hostJson["functionTimeout"];
        if (string.IsNullOrEmpty(raw))
        {
            return TimeSpan.FromMinutes(30);
        }

        if (raw.Trim() == "-1")
        {
            return null;
        }

        if (!TimeSpan.TryParse(raw, CultureInfo.InvariantCulture, out var timeout) || timeout < TimeSpan.FromSeconds(1))
        {
            throw Invalid("functionTimeout", raw, "use a duration such as \"00:10:00\" (at least 1 second), or \"-1\" for no limit");
        }

        return timeout;
    }

    private static Dictionary<string, LogLevel> ReadLogLevels(IConfigurationSection section)
    {
        var levels = new Dictionary<string, LogLevel>(StringComparer.OrdinalIgnoreCase);
        foreach (var entry in section.GetChildren())
        {
            if (!Enum.TryParse<LogLevel>(entry.Value, ignoreCase: true, out var level) || !Enum.IsDefined(level) || int.TryParse(entry.Value, out _))
            {
                throw Invalid(
                    $"logging.logLevel.{entry.Key}", entry.Value,
                    "use Trace, Debug, Information, Warning, Error, Critical or None");
            }

            levels[entry.Key] = level;
        }

        return levels;
    }

    // The Queue service hands out at most 32 messages per receive, so that is the largest batch.
    private const int MaxMessagesPerReceive = 32;

    private static QueueSettings ReadQueues(IConfigurationSection section)
    {
        var batchSize = ReadInt(section, "extensions.queues.batchSize", 16, 1, MaxMessagesPerReceive);
        return new QueueSettings
        {
            BatchSize = batchSize,

            // Azure Functions' default: half a batch per processor.
            NewBatchThreshold = ReadInt(section, "extensions.queues.newBatchThreshold", (batchSize / 2) * Environment.ProcessorCount, 0, 10_000),
            MaxDequeueCount = ReadInt(section, "extensions.queues.maxDequeueCount", 5, 1, 1000),
            VisibilityTimeout = ReadTimeSpan(section, "extensions.queues.visibilityTimeout", TimeSpan.Zero, TimeSpan.Zero, TimeSpan.FromDays(7)),

            // Not an Azure Functions setting (its queue trigger hides messages for a fixed 10 minutes): ours, so
            // operators choose how soon a dead host's messages come back.
            MessageLeaseDuration = ReadTimeSpan(
                section, "extensions.queues.messageLeaseDuration", QueueSettings.DefaultMessageLeaseDuration,
                QueueSettings.MinMessageLeaseDuration, QueueSettings.MaxMessageLeaseDuration),
            MaxPollingInterval = ReadTimeSpan(section, "extensions.queues.maxPollingInterval", TimeSpan.FromMinutes(1), TimeSpan.FromMilliseconds(100), TimeSpan.FromDays(1)),
            MessageEncoding = ReadChoice(section, "extensions.queues.messageEncoding", QueueMessageEncoding.Base64,
                ("base64", QueueMessageEncoding.Base64), ("none", QueueMessageEncoding.None)),
        };
    }

    private static HttpSettings ReadHttp(IConfiguration configuration, IConfigurationSection section, int? portOverride)
    {
        var prefix = section["routePrefix"] ?? "api";
        prefix = prefix.Trim().Trim('/');
        if (prefix.IndexOfAny(['{', '}', '?', '#', '\\']) >= 0 || prefix.Contains("//", StringComparison.Ordinal))
        {
            throw Invalid("extensions.http.routePrefix", section["routePrefix"], "use a plain path such as \"api\", or \"\" for none");
        }

        int port;
        if (portOverride is { } explicitPort)
        {
            port = explicitPort;
        }
        else
        {
            var raw = configuration[PortSetting];
            port = DefaultPort;
            if (!string.IsNullOrWhiteSpace(raw) && (!int.TryParse(raw, NumberStyles.None, CultureInfo.InvariantCulture, out port)))
            {
                throw new HostConfigurationException(PortSetting, $"Setting '{PortSetting}' ('{raw}') is not a port number (0-65535).");
            }
        }

        if (port is < 0 or > 65535)
        {
            throw new HostConfigurationException(PortSetting, $"Setting '{PortSetting}' ({port}) is not a port number (0-65535).");
        }

        var cors = (configuration[CorsSetting] ?? string.Empty)
            .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .ToList();
        foreach (var origin in cors)
        {
            if (origin != "*" && !Uri.TryCreate(origin, UriKind.Absolute, out _))
            {
                throw new HostConfigurationException(CorsSetting, $"Setting '{CorsSetting}' has '{origin}', which is not '*' or an absolute origin such as https://portal.example.com.");
            }
        }

        return new HttpSettings
        {
            RoutePrefix = prefix,
            Port = port,
            CorsOrigins = cors,
            CorsCredentials = ReadSettingBool(configuration, CorsCredentialsSetting, false),
        };
    }

    /// <summary>
    /// host.json <c>extensions.durableTask</c>'s task hub name (with <c>%setting%</c> references resolved; the Azure
    /// default when absent) and concurrency limits, validated: the part every durable host reads, whichever store it runs.
    /// </summary>
    internal static DurableTaskHubSettings ReadDurableHub(IConfiguration configuration, IConfigurationSection section)
    {
        var hubName = section["hubName"];
        if (string.IsNullOrWhiteSpace(hubName))
        {
            // Azure Functions' default: the site name in Azure, TestHubName locally.
            var site = configuration["WEBSITE_SITE_NAME"];
            hubName = string.IsNullOrWhiteSpace(site) ? "TestHubName" : NotHubNameCharacters().Replace(site, string.Empty);
        }
        else
        {
            try
            {
                hubName = SettingExpressions.Resolve(hubName, configuration);
            }
            catch (KeyNotFoundException ex)
            {
                throw Invalid("extensions.durableTask.hubName", hubName, ex.Message);
            }
        }

        if (!HubNamePattern().IsMatch(hubName))
        {
            throw Invalid("extensions.durableTask.hubName", hubName, "use 1-64 letters, digits, '-' or '_'");
        }

        return new DurableTaskHubSettings(
            hubName,
            ReadOptionalInt(section, "extensions.durableTask.maxConcurrentActivityFunctions", 1, 10_000),
            ReadOptionalInt(section, "extensions.durableTask.maxConcurrentOrchestratorFunctions", 1, 10_000));
    }

    private static DurableSettings ReadDurable(IConfiguration configuration, IConfigurationSection section)
    {
        var hub = ReadDurableHub(configuration, section);
        var provider = section.GetSection("storageProvider");
        var type = ReadChoice(provider, "extensions.durableTask.storageProvider.type", DurableStorageType.Sqlite,
            ("sqlite", DurableStorageType.Sqlite), ("postgres", DurableStorageType.Postgres));
        var connectionStringName = provider["connectionStringName"];
        if (connectionStringName is not null && string.IsNullOrWhiteSpace(connectionStringName))
        {
            throw Invalid("extensions.durableTask.storageProvider.connectionStringName", connectionStringName, "name the setting that holds the connection string");
        }

        if (type == DurableStorageType.Postgres && connectionStringName is null)
        {
            throw Invalid(
                "extensions.durableTask.storageProvider.connectionStringName", null,
                "the postgres store needs \"connectionStringName\": the name of the setting (or ConnectionStrings entry) holding the PostgreSQL connection string");
        }

        return new DurableSettings
        {
            HubName = hub.HubName,
            StorageType = type,
            ConnectionStringName = connectionStringName,
            MaxConcurrentActivityFunctions = hub.MaxConcurrentActivityFunctions,
            MaxConcurrentOrchestratorFunctions = hub.MaxConcurrentOrchestratorFunctions,
        };
    }

    internal static TimeZoneInfo ReadTimeZone(IConfiguration configuration)
    {
        var id = configuration[TimeZoneSetting];
        if (string.IsNullOrWhiteSpace(id))
        {
            return TimeZoneInfo.Utc;
        }

        try
        {
            return TimeZoneInfo.FindSystemTimeZoneById(id);
        }
        catch (Exception ex) when (ex is TimeZoneNotFoundException or InvalidTimeZoneException)
        {
            throw new HostConfigurationException(TimeZoneSetting, $"Setting '{TimeZoneSetting}' ('{id}') is not a time zone this machine knows (use an IANA id such as Europe/Berlin).", ex);
        }
    }

    private static Schema WithDurableTask(Schema durableTask)
    {
        var extensions = new Schema();
        foreach (var (key, value) in HostJsonSchema["extensions"]!)
        {
            extensions[key] = key == "durableTask" ? durableTask : value;
        }

        var root = new Schema();
        foreach (var (key, value) in HostJsonSchema)
        {
            root[key] = key == "extensions" ? extensions : value;
        }

        return root;
    }

    private static void CheckKnownKeys(IConfigurationSection section, Schema schema, string path)
    {
        foreach (var child in section.GetChildren())
        {
            var childPath = path.Length == 0 ? child.Key : path + "." + child.Key;
            if (ReferenceEquals(schema, Schema.Ignored))
            {
                return;
            }

            if (ReferenceEquals(schema, Schema.AnyLeaf))
            {
                if (child.GetChildren().Any())
                {
                    throw new HostConfigurationException(childPath, $"host.json key '{childPath}' must be a single value.");
                }

                continue;
            }

            if (!schema.TryGetValue(child.Key, out var childSchema))
            {
                var known = string.Join(", ", schema.Keys.Select(k => path.Length == 0 ? k : path + "." + k));
                throw new HostConfigurationException(
                    childPath,
                    $"host.json key '{childPath}' is not supported by this host (in host.json, or an AzureFunctionsJobHost__ setting). Supported here: {known}.");
            }

            if (childSchema is null)
            {
                if (child.GetChildren().Any())
                {
                    throw new HostConfigurationException(childPath, $"host.json key '{childPath}' must be a single value, not an object or array.");
                }
            }
            else
            {
                if (child.Value is not null && !child.GetChildren().Any())
                {
                    throw new HostConfigurationException(childPath, $"host.json key '{childPath}' must be an object.");
                }

                CheckKnownKeys(child, childSchema, childPath);
            }
        }
    }

    private static int ReadInt(IConfigurationSection section, string path, int defaultValue, int min, int max) =>
        ReadOptionalInt(section, path, min, max) ?? defaultValue;

    private static int? ReadOptionalInt(IConfigurationSection section, string path, int min, int max)
    {
        var raw = section[LastSegment(path)];
        if (string.IsNullOrWhiteSpace(raw))
        {
            return null;
        }

        if (!int.TryParse(raw, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value) || value < min || value > max)
        {
            throw Invalid(path, raw, $"use a whole number from {min} to {max}");
        }

        return value;
    }

    private static TimeSpan ReadTimeSpan(IConfigurationSection section, string path, TimeSpan defaultValue, TimeSpan min, TimeSpan max)
    {
        var raw = section[LastSegment(path)];
        if (string.IsNullOrWhiteSpace(raw))
        {
            return defaultValue;
        }

        if (!TimeSpan.TryParse(raw, CultureInfo.InvariantCulture, out var value) || value < min || value > max)
        {
            throw Invalid(path, raw, $"use a duration (hh:mm:ss) from {min:c} to {max:c}");
        }

        return value;
    }

    private static T ReadChoice<T>(IConfigurationSection section, string path, T defaultValue, params (string Name, T Value)[] choices)
    {
        var raw = section[LastSegment(path)];
        if (string.IsNullOrWhiteSpace(raw))
        {
            return defaultValue;
        }

        foreach (var (name, value) in choices)
        {
            if (string.Equals(raw.Trim(), name, StringComparison.OrdinalIgnoreCase))
            {
                return value;
            }
        }

        throw Invalid(path, raw, "use one of: " + string.Join(", ", choices.Select(c => c.Name)));
    }

    private static TimeSpan ReadSettingTimeSpan(IConfiguration configuration, string setting, TimeSpan defaultValue, TimeSpan min, TimeSpan max)
    {
        var raw = configuration[setting];
        if (string.IsNullOrWhiteSpace(raw))
        {
            return defaultValue;
        }

        if (!TimeSpan.TryParse(raw, CultureInfo.InvariantCulture, out var value) || value < min || value > max)
        {
            throw new HostConfigurationException(setting, $"Setting '{setting}' ('{raw}') is invalid: use a duration (hh:mm:ss) from {min:c} to {max:c}.");
        }

        return value;
    }

    internal static bool ReadSettingBool(IConfiguration configuration, string setting, bool defaultValue)
    {
        var raw = configuration[setting];
        if (string.IsNullOrWhiteSpace(raw))
        {
            return defaultValue;
        }

        return bool.TryParse(raw.Trim(), out var value)
            ? value
            : raw.Trim() switch
            {
                "1" => true,
                "0" => false,
                _ => throw new HostConfigurationException(setting, $"Setting '{setting}' ('{raw}') must be true or false."),
            };
    }

    private static string LastSegment(string path) => path[(path.LastIndexOf('.') + 1)..];

    private static HostConfigurationException Invalid(string path, string? raw, string advice) =>
        new(path, raw is null
            ? $"host.json value '{path}' is invalid: {advice}."
            : $"host.json value '{path}' (\"{raw}\") is invalid: {advice}.");

    [GeneratedRegex("^[a-z0-9](?:[a-z0-9-]{0,30}[a-z0-9])?$")]
    private static partial Regex HostIdPattern();

    [GeneratedRegex("[^a-z0-9-]")]
    private static partial Regex NotHostIdCharacters();

    [GeneratedRegex("-{2,}")]
    private static partial Regex RepeatedDashes();

    [GeneratedRegex("^[A-Za-z0-9_-]{1,64}$")]
    private static partial Regex HubNamePattern();

    [GeneratedRegex("[^A-Za-z0-9]")]
    private static partial Regex NotHubNameCharacters();

    /// <summary>Known child keys (case-insensitive); a null child is a leaf.</summary>
    private sealed class Schema() : Dictionary<string, Schema?>(StringComparer.OrdinalIgnoreCase)
    {
        public static readonly Schema AnyLeaf = [];

        /// <summary>A section accepted whole and not read.</summary>
        public static readonly Schema Ignored = [];
    }
}
