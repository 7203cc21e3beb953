namespace Fleet.ServiceBus.Entities;

/// <summary>
/// Remembers message ids for an entity's duplicate-detection window. Not thread-safe: used under its entity's lock.
/// In SQLite mode the accepted ids are stored too and restored at start-up.
/// </summary>
internal sealed class DuplicateDetector(TimeSpan window)
{
    private readonly Dictionary<string, DateTimeOffset> _seen = new(StringComparer.Ordinal);
    private readonly Queue<(string Id, DateTimeOffset At)> _history = new();

    /// <summary>True when <paramref name="messageId"/> was accepted within the window; otherwise records it.</summary>
    public bool IsDuplicate(string messageId, DateTimeOffset now)
    {
        while (_history.TryPeek(out var oldest) && oldest.At + window <= now)
        {
            _history.Dequeue();
            if (_seen.TryGetValue(oldest.Id, out var at) && at == oldest.At)
            {
                _seen.Remove(oldest.Id);
            }
        }

        if (_seen.ContainsKey(messageId))
        {
            return true;
        }

        _seen[messageId] = now;
        _history.Enqueue((messageId, now));
        return false;
    }
}
