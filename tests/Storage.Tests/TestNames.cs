namespace Fleet.Storage.Tests;

/// <summary>Unique resource names and bounded waits for tests sharing one Azurite.</summary>
internal static class TestNames
{
    public static string Queue(string purpose) => $"{purpose}-{Guid.NewGuid():N}"[..Math.Min(63, purpose.Length + 33)];

    public static string Container(string purpose) => Queue(purpose);

    /// <summary>A token that cancels after <paramref name="seconds"/>, so a hang fails the test instead of blocking.</summary>
    public static CancellationTokenSource Bounded(int seconds = 30) => new(TimeSpan.FromSeconds(seconds));
}
