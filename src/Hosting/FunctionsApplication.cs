namespace Fleet.Hosting;

/// <summary>Entry point of a function app, as in the isolated worker: <c>FunctionsApplication.CreateBuilder(args)</c>.</summary>
public static class FunctionsApplication
{
    /// <summary>
    /// Creates a builder that has read host.json and local.settings.json from the content root and the environment;
    /// add the app's services to <see cref="FunctionsApplicationBuilder.Services"/>, then <c>Build()</c> and run.
    /// </summary>
    /// <exception cref="HostConfigurationException">host.json is missing or malformed, or local.settings.json is malformed.</exception>
    public static FunctionsApplicationBuilder CreateBuilder(string[] args) =>
        CreateBuilder(new FunctionsApplicationOptions { Args = args ?? [] });

    /// <summary>Creates a builder with explicit options (content root, function types, port, clock, settings).</summary>
    /// <exception cref="HostConfigurationException">host.json is missing or malformed, or local.settings.json is malformed.</exception>
    public static FunctionsApplicationBuilder CreateBuilder(FunctionsApplicationOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new FunctionsApplicationBuilder(options);
    }
}
