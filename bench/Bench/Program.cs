using System.Reflection;
using Fleet.Bench;

// Usage: Fleet.Bench [filter ...]
// Runs every benchmark whose name or one of whose figure names contains a filter (all when none is given).
var filters = args.Where(a => !a.StartsWith('-')).ToArray();
var benchmarks = typeof(IBenchmark).Assembly.GetTypes()
    .Where(t => t is { IsAbstract: false, IsInterface: false } && typeof(IBenchmark).IsAssignableFrom(t))
    .Select(t => (IBenchmark)Activator.CreateInstance(t)!)
    .OrderBy(b => b.Name, StringComparer.Ordinal)
    .Where(b => filters.Length == 0 || filters.Any(f =>
        b.Name.Contains(f, StringComparison.OrdinalIgnoreCase) ||
        b.Figures.Any(n => n.Contains(f, StringComparison.OrdinalIgnoreCase))))
    .ToList();

if (benchmarks.Count == 0)
{
    Console.Error.WriteLine($"No benchmark matches '{string.Join(' ', filters)}'.");
    return 2;
}

var reporter = new BenchReporter(Console.Out);
reporter.Note($"machine: {Environment.ProcessorCount} cores, {Environment.OSVersion}, .NET {Environment.Version}, " +
    $"{typeof(IBenchmark).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration} build");
using var cts = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; cts.Cancel(); };
var failed = 0;
foreach (var benchmark in benchmarks)
{
    reporter.Note($"running {benchmark.Name}");
    try
    {
        await benchmark.RunAsync(reporter, cts.Token);
    }
    catch (Exception ex) when (ex is not OperationCanceledException)
    {
        failed++;
        Console.Error.WriteLine($"benchmark {benchmark.Name} failed: {ex}");
    }
}

return failed == 0 ? 0 : 1;
