namespace Fleet.Hosting.Local;

/// <summary>The entry point of <c>./host</c>: the local functions host for .NET isolated apps.</summary>
public static class Program
{
    /// <summary>Runs the command line and returns the process exit code.</summary>
    public static Task<int> Main(string[] args) => HostCommandLine.RunAsync(args, Console.Out, Console.Error);
}
