using Fleet.Functions;
using Fleet.Hosting;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

// The fleet automation app as a process: settings from host.json, local.settings.json, the environment and the
// command line (see docs/functions.md); runs until Ctrl+C or SIGTERM, then shuts down gracefully.
try
{
    await using var host = FleetApp.CreateBuilder(args).Build();
    await host.RunAsync();
    return 0;
}
catch (Exception ex) when (ex is HostConfigurationException or FunctionIndexingException or OptionsValidationException)
{
    // A setting is wrong: say which, without a stack trace, and exit non-zero so scripts notice.
    await Console.Error.WriteLineAsync($"Fleet.Functions cannot start: {ex.Message}");
    return 2;
}
