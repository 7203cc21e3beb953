namespace Fleet.ServiceBus;

/// <summary>Entry point of <c>dotnet Fleet.ServiceBus.dll --config Config.json [--port N|0] [--data DIR | --in-memory]</c>.</summary>
public static class Program
{
    /// <summary>Parses the command line, starts the emulator and serves until Ctrl+C or SIGTERM.</summary>
    public static Task<int> Main(string[] args) => ServiceBusCli.RunAsync(args, Console.Out, Console.Error);
}
