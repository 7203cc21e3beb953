namespace Fleet.ServiceBus.Tests;

/// <summary>Bounds for every waiting test, so a hang fails instead of blocking the run.</summary>
internal static class Timeouts
{
    public static CancellationToken Test(int seconds = 30) => new CancellationTokenSource(TimeSpan.FromSeconds(seconds)).Token;

    /// <summary>How long a receive waits when the test expects nothing to arrive.</summary>
    public static readonly TimeSpan Nothing = TimeSpan.FromMilliseconds(500);

    /// <summary>How long a receive waits when a message is expected.</summary>
    public static readonly TimeSpan Message = TimeSpan.FromSeconds(10);
}
