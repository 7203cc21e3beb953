using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Configuration;

namespace Fleet.Hosting.Configuration;

/// <summary>
/// The keys HTTP functions and the Durable management API accept, from the <c>FunctionKeys</c> settings:
/// <c>FunctionKeys:Master</c> (every level), <c>FunctionKeys:Host</c> or <c>FunctionKeys:Host:&lt;name&gt;</c>
/// (every function-level function), <c>FunctionKeys:Functions:&lt;function&gt;</c> or
/// <c>FunctionKeys:Functions:&lt;function&gt;:&lt;name&gt;</c> (one function) and <c>FunctionKeys:DurableTask</c>
/// (the Durable management API's system key). Comparisons take constant time; keys never reach logs.
/// </summary>
internal sealed class FunctionKeys
{
    public const string SectionName = "FunctionKeys";
    public const int MinimumKeyLength = 16;

    private static readonly string[] KnownEntries = ["Master", "Host", "Functions", "DurableTask"];

    private readonly byte[]? _master;
    private readonly IReadOnlyList<byte[]> _host;
    private readonly IReadOnlyDictionary<string, IReadOnlyList<byte[]>> _functions;
    private readonly byte[]? _durable;

    private FunctionKeys(byte[]? master, IReadOnlyList<byte[]> host, IReadOnlyDictionary<string, IReadOnlyList<byte[]>> functions, string? durableTask)
    {
        _master = master;
        _host = host;
        _functions = functions;
        DurableTaskKey = durableTask;
        _durable = durableTask is null ? null : Encoding.UTF8.GetBytes(durableTask);
    }

    /// <summary>The system key put into Durable management URLs (never the master key); null when none is set.</summary>
    public string? DurableTaskKey { get; }

    /// <summary>Whether a master key is set.</summary>
    public bool HasMasterKey => _master is not null;

    /// <summary>No keys at all.</summary>
    public static FunctionKeys None { get; } = new(null, [], new Dictionary<string, IReadOnlyList<byte[]>>(), null);

    /// <summary>Whether any key could open a function-level function.</summary>
    public bool HasKeyFor(string functionName) =>
        _master is not null || _host.Count > 0 || _functions.ContainsKey(functionName);

    /// <summary>Reads and validates the <c>FunctionKeys</c> section.</summary>
    /// <exception cref="HostConfigurationException">An unknown entry or a key shorter than 16 characters.</exception>
    public static FunctionKeys Read(IConfiguration configuration)
    {
        var section = configuration.GetSection(SectionName);
        foreach (var child in section.GetChildren())
        {
            if (!KnownEntries.Contains(child.Key, StringComparer.OrdinalIgnoreCase))
            {
                throw new HostConfigurationException(
                    $"{SectionName}:{child.Key}",
                    $"Setting '{SectionName}:{child.Key}' is not known; use {SectionName}:Master, {SectionName}:Host, {SectionName}:Functions:<function> or {SectionName}:DurableTask.");
            }
        }

        var master = Single(section.GetSection("Master"));
        var host = Many(section.GetSection("Host"));
        var functions = new Dictionary<string, IReadOnlyList<byte[]>>(StringComparer.OrdinalIgnoreCase);
        foreach (var function in section.GetSection("Functions").GetChildren())
        {
            var keys = Many(function);
            if (keys.Count > 0)
            {
                functions[function.Key] = keys;
            }
        }

        var durable = Single(section.GetSection("DurableTask"));
        return new FunctionKeys(
            master is null ? null : Encoding.UTF8.GetBytes(master),
            host,
            functions,
            durable);

        static string? Single(IConfigurationSection entry)
        {
            if (entry.GetChildren().Any())
            {
                throw new HostConfigurationException(entry.Path, $"Setting '{entry.Path}' must be a single key value.");
            }

            return Check(entry);
        }

        static List<byte[]> Many(IConfigurationSection entry)
        {
            var values = new List<string>();
            if (Check(entry) is { } value)
            {
                values.Add(value);
            }

            foreach (var named in entry.GetChildren())
            {
                if (named.GetChildren().Any())
                {
                    throw new HostConfigurationException(named.Path, $"Setting '{named.Path}' must be a single key value.");
                }

                if (Check(named) is { } key)
                {
                    values.Add(key);
                }
            }

            return values.Select(Encoding.UTF8.GetBytes).ToList();
        }

        static string? Check(IConfigurationSection entry)
        {
            var value = entry.Value;
            if (string.IsNullOrEmpty(value))
            {
                return null;
            }

            if (value.Length < MinimumKeyLength || value.Any(char.IsWhiteSpace))
            {
                throw new HostConfigurationException(
                    entry.Path,
                    $"Setting '{entry.Path}' is not a usable key: use at least {MinimumKeyLength} characters without spaces (e.g. 32 random base64url characters).");
            }

            return value;
        }
    }

    /// <summary>Whether <paramref name="presented"/> opens a function of <paramref name="level"/>.</summary>
    public bool Authorizes(string? presented, AuthorizationLevel level, string functionName)
    {
        if (level == AuthorizationLevel.Anonymous)
        {
            return true;
        }

        if (string.IsNullOrEmpty(presented))
        {
            return false;
        }

        var bytes = Encoding.UTF8.GetBytes(presented);
        if (Matches(bytes, _master))
        {
            return true;
        }

        if (level == AuthorizationLevel.Admin)
        {
            return false;
        }

        return _host.Any(k => Matches(bytes, k))
            || (_functions.TryGetValue(functionName, out var keys) && keys.Any(k => Matches(bytes, k)));
    }

    /// <summary>Whether <paramref name="presented"/> opens the Durable management API (system key or master key).</summary>
    public bool AuthorizesDurableApi(string? presented)
    {
        if (string.IsNullOrEmpty(presented))
        {
            return false;
        }

        var bytes = Encoding.UTF8.GetBytes(presented);
        return Matches(bytes, _durable) || Matches(bytes, _master);
    }

    private static bool Matches(byte[] presented, byte[]? key) =>
        key is not null && CryptographicOperations.FixedTimeEquals(presented, key);
}
