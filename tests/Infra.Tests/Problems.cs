namespace Fleet.Infra.Tests;

/// <summary>Asserts on lists of problems, printing every one in full (xunit shortens collection items).</summary>
internal static class Problems
{
    /// <summary>Fails with all <paramref name="problems"/>, one a line, unless there are none.</summary>
    public static void AssertNone(IEnumerable<string> problems)
    {
        var list = problems.ToList();
        Assert.True(list.Count == 0, $"{list.Count} problem(s):{Environment.NewLine}{string.Join(Environment.NewLine, list)}");
    }
}
