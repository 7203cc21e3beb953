using System.Reflection;

namespace Fleet.Hosting;

/// <summary>
/// How <see cref="FunctionsApplication.CreateBuilder(FunctionsApplicationOptions)"/> sets a host up. Every property is
/// optional; the defaults run the entry assembly's functions from the app's folder, as <c>func start</c> would.
/// Tests use them to start a host in-process from a temporary content root on a free port with a fake clock.
/// </summary>
public sealed class FunctionsApplicationOptions
{
    /// <summary>Command-line arguments: <c>--port 7072</c> sets <c>Host:LocalHttpPort</c>; <c>--Key=value</c> sets any setting.</summary>
    public IReadOnlyList<string> Args { get; init; } = [];

    /// <summary>
    /// The folder with host.json and (locally) local.settings.json. Default: the <c>AzureWebJobsScriptRoot</c>
    /// environment variable, else the app's base directory.
    /// </summary>
    public string? ContentRoot { get; init; }

    /// <summary>Assemblies whose public classes hold the functions. Default: the entry assembly.</summary>
    public IReadOnlyList<Assembly>? Assemblies { get; init; }

    /// <summary>Exactly these classes hold the functions (instead of scanning <see cref="Assemblies"/>).</summary>
    public IReadOnlyList<Type>? FunctionTypes { get; init; }

    /// <summary>The app's name, from which the default host id is derived. Default: the entry assembly's name.</summary>
    public string? ApplicationName { get; init; }

    /// <summary>The host id (instead of <c>AzureFunctionsWebHost:hostid</c> or the derived one).</summary>
    public string? HostId { get; init; }

    /// <summary>The HTTP port (instead of <c>Host:LocalHttpPort</c>); 0 picks a free port, see <see cref="FunctionsHost.BaseAddress"/>.</summary>
    public int? HttpPort { get; init; }

    /// <summary>The clock of timers, polling backoff, timeouts and the durable runtime. Default: the system clock.</summary>
    public TimeProvider? TimeProvider { get; init; }

    /// <summary>Settings that override every other source (host.json, local.settings.json, environment, command line).</summary>
    public IReadOnlyDictionary<string, string?>? Settings { get; init; }

    /// <summary>The environment name. Default: <c>AZURE_FUNCTIONS_ENVIRONMENT</c>, else the ASP.NET Core default.</summary>
    public string? EnvironmentName { get; init; }

    /// <summary>
    /// Whether local.settings.json <c>Values</c> are put into the process environment (variables already set keep
    /// their values), as Core Tools does, so SDKs that read the environment see them. Default true. Set it to false
    /// when several hosts share one process (tests), or one host's Values become every later host's environment,
    /// which outranks their own local.settings.json.
    /// </summary>
    public bool ExportLocalSettingsToEnvironment { get; init; } = true;

    /// <summary>Adjusts the options of every storage client the host creates (tests put fault-injecting policies here).</summary>
    internal Action<Azure.Core.ClientOptions>? ConfigureStorage { get; init; }
}
