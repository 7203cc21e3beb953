namespace Fleet.Hosting.Queues;

/// <summary>
/// Randomized exponential backoff for polling an empty queue: from 100 ms, doubling per empty poll with ±20 % jitter,
/// never above <c>maxPollingInterval</c>; a poll that finds messages resets it.
/// </summary>
internal sealed class QueuePollingBackoff
{
    public static readonly TimeSpan Minimum = TimeSpan.FromMilliseconds(100);

    private readonly TimeSpan _maximum;
    private readonly Func<double> _random;
    private TimeSpan _current = TimeSpan.Zero;

    /// <param name="maximum">The cap (host.json <c>maxPollingInterval</c>).</param>
    /// <param name="random">A source of numbers in [0, 1) for the jitter.</param>
    public QueuePollingBackoff(TimeSpan maximum, Func<double> random)
    {
        _maximum = maximum < Minimum ? Minimum : maximum;
        _random = random;
    }

    /// <summary>The wait before the next poll after an empty one.</summary>
    public TimeSpan Next()
    {
        _current = _current == TimeSpan.Zero ? Minimum : TimeSpan.FromTicks(Math.Min(_current.Ticks * 2, _maximum.Ticks));
        var jittered = TimeSpan.FromTicks((long)(_current.Ticks * (0.8 + (0.4 * _random()))));
        return jittered < Minimum ? Minimum : jittered > _maximum ? _maximum : jittered;
    }

    /// <summary>Messages were found: poll again at once, and back off from the start next time.</summary>
    public void Reset() => _current = TimeSpan.Zero;
}
