using System.Globalization;

namespace Fleet.Bench;

/// <summary>Prints figures in the one format scripts read: <c>BENCH &lt;name&gt; &lt;value&gt; &lt;unit&gt;</c>.</summary>
public sealed class BenchReporter(TextWriter output)
{
    private readonly List<(string Name, double Value, string Unit)> _figures = [];

    /// <summary>Every figure reported so far, in order.</summary>
    public IReadOnlyList<(string Name, double Value, string Unit)> Figures => _figures;

    /// <summary>Reports one figure.</summary>
    public void Report(string name, double value, string unit)
    {
        _figures.Add((name, value, unit));
        output.WriteLine(string.Create(CultureInfo.InvariantCulture, $"BENCH {name} {Format(value)} {unit}"));
        output.Flush();
    }

    /// <summary>Prints a context line (machine, settings) that is not a figure.</summary>
    public void Note(string text)
    {
        output.WriteLine($"# {text}");
        output.Flush();
    }

    private static string Format(double value) =>
        Math.Abs(value) >= 100 ? value.ToString("0.0", CultureInfo.InvariantCulture)
        : Math.Abs(value) >= 1 ? value.ToString("0.00", CultureInfo.InvariantCulture)
        : value.ToString("0.0000", CultureInfo.InvariantCulture);
}
