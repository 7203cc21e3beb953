using Fleet.Hosting.Rpc;
using Microsoft.Extensions.Configuration;

namespace Fleet.Hosting.Local;

/// <summary>What <c>./host start</c> prints once it serves: the functions (HTTP ones with their URLs), what did not load and why, the storage.</summary>
internal static class StartupSummary
{
    public static void Write(TextWriter output, IReadOnlyList<RegisteredFunction> functions, Uri baseAddress, WorkerSession session, IConfiguration configuration)
    {
        output.WriteLine();
        output.WriteLine("Functions:");
        foreach (var function in functions.OrderBy(f => f.Spec.Name, StringComparer.OrdinalIgnoreCase))
        {
            if (!function.Loaded)
            {
                output.WriteLine($"        {function.Spec.Name}: not loaded ({function.NotLoadedReason})");
            }
            else if (function.Http is { } http)
            {
                var methods = http.Methods.Count == 0 ? "ALL" : string.Join(",", http.Methods);
                var level = http.Level == AuthorizationLevel.Anonymous ? string.Empty : $" (key: {http.Level})";
                output.WriteLine($"        {function.Spec.Name}: [{methods}] {baseAddress}{http.Template}{level}");
            }
            else
            {
                output.WriteLine($"        {function.Spec.Name}: {function.Spec.Trigger.Type}");
            }
        }

        output.WriteLine();
        output.WriteLine($"HTTP model: {(session.HttpUri is null ? "built-in (HttpRequestData)" : "ASP.NET Core integration (worker at " + session.HttpUri + ")")}");
        output.WriteLine($"Storage: {LocalHostComposition.DescribeStorage(configuration)}");
        output.WriteLine($"Worker process {session.Process.ProcessId} (worker {session.Init.WorkerVersion}). Listening on {baseAddress}; press Ctrl+C to stop.");
        output.Flush();
    }
}
