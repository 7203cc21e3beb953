using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Fleet.Hosting.Local;

/// <summary>How <c>./host start</c> runs an app.</summary>
public sealed record LocalHostOptions
{
    /// <summary>The built app's output folder (host.json, worker.config.json, the app's assemblies).</summary>
    public required string ScriptRoot { get; init; }

    /// <summary>The HTTP port (0: a free one); null reads <c>Host:LocalHttpPort</c>, default 7071.</summary>
    public int? Port { get; init; }

    /// <summary>The address the HTTP front door listens on (loopback unless told otherwise).</summary>
    public IPAddress ListenAddress { get; init; } = IPAddress.Loopback;

    /// <summary>Debug-level logs from the host and the worker.</summary>
    public bool Verbose { get; init; }

    /// <summary>Where the list of functions and the listening address are printed.</summary>
    public TextWriter Output { get; init; } = Console.Out;

    /// <summary>More registrations (trigger listener factories, binding providers and handlers) for the host's composition.</summary>
    public Action<IServiceCollection>? ConfigureServices { get; init; }

    /// <summary>More logging set-up (tests capture logs here); the console logger is added unless <see cref="ConsoleLogs"/> is false.</summary>
    public Action<ILoggingBuilder>? ConfigureLogging { get; init; }

    /// <summary>
    /// Settings that take precedence over local.settings.json <c>Values</c> and the environment, for the host and the
    /// worker alike, as app settings do in Azure (keys with <c>:</c> or <c>__</c>). Tests and tools set per-run settings
    /// here instead of editing the app's files.
    /// </summary>
    public IReadOnlyDictionary<string, string?> AppSettings { get; init; } = new Dictionary<string, string?>();

    /// <summary>Whether logs go to the console.</summary>
    public bool ConsoleLogs { get; init; } = true;
}
