namespace Fleet.Simulator;

/// <summary>Entry point of <c>dotnet run --project src/Simulator -- --port 5080 --devices 10000 --seed 1</c>.</summary>
public static class Program
{
    /// <summary>Parses the command line, starts the simulator and runs until Ctrl+C.</summary>
    public static Task<int> Main(string[] args) => SimulatorCli.RunAsync(args, Console.Out, Console.Error);
}
