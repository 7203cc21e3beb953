namespace Fleet.Bench;

/// <summary>A benchmark that measures one scenario and reports one or more figures.</summary>
public interface IBenchmark
{
    /// <summary>Short name used to select the benchmark from the command line.</summary>
    string Name { get; }

    /// <summary>The figure names this benchmark reports, e.g. <c>hello5_orch_per_s</c>.</summary>
    IReadOnlyList<string> Figures { get; }

    /// <summary>Runs the scenario and reports its figures.</summary>
    Task RunAsync(BenchReporter reporter, CancellationToken cancellationToken);
}
