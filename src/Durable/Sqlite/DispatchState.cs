using Fleet.Durable.Storage;

namespace Fleet.Durable.Sqlite;

/// <summary>
/// The in-memory side of the SQLite store's dispatch: which instances have visible messages (a hint; the messages
/// themselves are read from the database at lock time), pending activities, locks with expiry, and one
/// <see cref="TimeProvider"/> timer for the earliest future message (durable timers, delayed retries, scheduled
/// starts). Everything is fed at commit time, so work is handed to a waiting dispatcher without polling.
/// </summary>
internal sealed class DispatchState : IDisposable
{
    private readonly Lock _gate = new();
    private readonly TimeProvider _time;
    private readonly Queue<string> _readyInstances = new();
    private readonly HashSet<string> _readySet = new(StringComparer.Ordinal);
    private readonly Dictionary<string, InstanceLock> _lockedInstances = new(StringComparer.Ordinal);
    private readonly Queue<TaskCompletionSource<(string InstanceId, InstanceLock Lock)>> _orchestrationWaiters = new();
    private readonly PriorityQueue<string, long> _dueInstances = new();
    private readonly Queue<ActivityEntry> _readyActivities = new();
    private readonly Dictionary<long, ActivityEntry> _lockedActivities = [];
    private readonly PriorityQueue<ActivityEntry, long> _dueActivities = new();
    private readonly Queue<TaskCompletionSource<ActivityEntry>> _activityWaiters = new();
    private readonly ITimer _timer;
    private readonly TimeSpan _lockTimeout;
    private long _armedFor = long.MaxValue;
    private long _nextToken;
    private bool _disposed;

    public DispatchState(TimeProvider time, TimeSpan lockTimeout)
    {
        _time = time;
        _lockTimeout = lockTimeout;
        _timer = time.CreateTimer(static s => ((DispatchState)s!).OnTimer(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    /// <summary>An instance may have messages visible at <paramref name="visibleAtTicks"/> (UTC ticks).</summary>
    public void InstanceHasMessages(string instanceId, long visibleAtTicks)
    {
        if (visibleAtTicks <= _time.GetUtcNow().UtcTicks)
        {
            MarkReady(instanceId);
        }
        else
        {
            ScheduleInstance(instanceId, visibleAtTicks);
        }
    }

    public async Task<(string InstanceId, InstanceLock Lock)> LockNextInstanceAsync(CancellationToken cancellationToken)
    {
        TaskCompletionSource<(string, InstanceLock)> waiter;
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_readyInstances.TryDequeue(out var ready))
            {
                _readySet.Remove(ready);
                return (ready, LockInstance(ready));
            }

            waiter = new(TaskCreationOptions.RunContinuationsAsynchronously);
            _orchestrationWaiters.Enqueue(waiter);
        }

        using var registration = cancellationToken.Register(() => CancelWaiter(_orchestrationWaiters, waiter, cancellationToken));
        return await waiter.Task.ConfigureAwait(false);
    }

    /// <summary>Extends an instance lock; false when the lock was lost.</summary>
    public bool RenewInstance(string instanceId, InstanceLock held, out DateTimeOffset lockedUntil)
    {
        lock (_gate)
        {
            lockedUntil = default;
            if (!_lockedInstances.TryGetValue(instanceId, out var current) || current.Token != held.Token)
            {
                return false;
            }

            current.ExpiresAtTicks = _time.GetUtcNow().UtcTicks + _lockTimeout.Ticks;
            lockedUntil = new DateTimeOffset(current.ExpiresAtTicks, TimeSpan.Zero);
            return true;
        }
    }

    /// <summary>Releases an instance lock; the instance is ready again now or at <paramref name="readyAtTicks"/>.</summary>
    public void ReleaseInstance(string instanceId, long token, long? readyAtTicks)
    {
        bool dirty;
        lock (_gate)
        {
            if (!_lockedInstances.TryGetValue(instanceId, out var current) || current.Token != token)
            {
                return;
            }

            _lockedInstances.Remove(instanceId);
            dirty = current.Dirty;
        }

        if (readyAtTicks is { } at)
        {
            InstanceHasMessages(instanceId, at);
        }

        if (dirty)
        {
            MarkReady(instanceId);
        }
    }

    public void AddActivity(ActivityEntry entry, long visibleAtTicks)
    {
        if (visibleAtTicks > _time.GetUtcNow().UtcTicks)
        {
            long arm;
            lock (_gate)
            {
                _dueActivities.Enqueue(entry, visibleAtTicks);
                arm = visibleAtTicks;
            }

            Arm(arm);
            return;
        }

        TaskCompletionSource<ActivityEntry>? waiter = null;
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            entry.Token = ++_nextToken;
            while (_activityWaiters.TryDequeue(out var candidate))
            {
                if (!candidate.Task.IsCompleted)
                {
                    waiter = candidate;
                    break;
                }
            }

            if (waiter is null)
            {
                _readyActivities.Enqueue(entry);
                return;
            }

            LockActivity(entry);
        }

        if (!waiter.TrySetResult(entry))
        {
            ReleaseActivity(entry.Id, entry.Token, null);
        }
    }

    public async Task<ActivityEntry> LockNextActivityAsync(CancellationToken cancellationToken)
    {
        TaskCompletionSource<ActivityEntry> waiter;
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_readyActivities.TryDequeue(out var ready))
            {
                LockActivity(ready);
                return ready;
            }

            waiter = new(TaskCreationOptions.RunContinuationsAsynchronously);
            _activityWaiters.Enqueue(waiter);
        }

        using var registration = cancellationToken.Register(() => CancelWaiter(_activityWaiters, waiter, cancellationToken));
        return await waiter.Task.ConfigureAwait(false);
    }

    public bool RenewActivity(long id, long token, out DateTimeOffset lockedUntil)
    {
        lock (_gate)
        {
            lockedUntil = default;
            if (!_lockedActivities.TryGetValue(id, out var entry) || entry.Token != token)
            {
                return false;
            }

            entry.ExpiresAtTicks = _time.GetUtcNow().UtcTicks + _lockTimeout.Ticks;
            lockedUntil = new DateTimeOffset(entry.ExpiresAtTicks, TimeSpan.Zero);
            return true;
        }
    }

    /// <summary>The activity row is gone (completed): forget it.</summary>
    public void ActivityDone(long id)
    {
        lock (_gate)
        {
            _lockedActivities.Remove(id);
        }
    }

    /// <summary>Hands a locked activity back, now or at <paramref name="readyAtTicks"/>.</summary>
    public void ReleaseActivity(long id, long token, long? readyAtTicks, int? attempts = null)
    {
        ActivityEntry? entry;
        lock (_gate)
        {
            if (!_lockedActivities.TryGetValue(id, out entry) || entry.Token != token)
            {
                return;
            }

            _lockedActivities.Remove(id);
            if (attempts is { } a)
            {
                entry.Attempts = a;
            }
        }

        AddActivity(entry, readyAtTicks ?? 0);
    }

    /// <summary>Releases locks that expired; returns what was released, for logging and attempt counting.</summary>
    public (List<string> Instances, List<ActivityEntry> Activities) ExpireLocks()
    {
        var now = _time.GetUtcNow().UtcTicks;
        var instances = new List<string>();
        var activities = new List<ActivityEntry>();
        lock (_gate)
        {
            foreach (var (id, held) in _lockedInstances)
            {
                if (held.ExpiresAtTicks <= now)
                {
                    instances.Add(id);
                }
            }

            foreach (var id in instances)
            {
                _lockedInstances.Remove(id);
            }

            foreach (var (_, entry) in _lockedActivities)
            {
                if (entry.ExpiresAtTicks <= now)
                {
                    activities.Add(entry);
                }
            }

            foreach (var entry in activities)
            {
                _lockedActivities.Remove(entry.Id);
                entry.Attempts++;
            }
        }

        foreach (var id in instances)
        {
            MarkReady(id);
        }

        foreach (var entry in activities)
        {
            AddActivity(entry, 0);
        }

        return (instances, activities);
    }

    public void Dispose()
    {
        List<TaskCompletionSource<(string, InstanceLock)>> orchestrationWaiters;
        List<TaskCompletionSource<ActivityEntry>> activityWaiters;
        lock (_gate)
        {
            _disposed = true;
            orchestrationWaiters = [.. _orchestrationWaiters];
            activityWaiters = [.. _activityWaiters];
            _orchestrationWaiters.Clear();
            _activityWaiters.Clear();
        }

        _timer.Dispose();
        foreach (var waiter in orchestrationWaiters)
        {
            waiter.TrySetException(new ObjectDisposedException(nameof(SqliteOrchestrationStore)));
        }

        foreach (var waiter in activityWaiters)
        {
            waiter.TrySetException(new ObjectDisposedException(nameof(SqliteOrchestrationStore)));
        }
    }

    private void MarkReady(string instanceId)
    {
        TaskCompletionSource<(string, InstanceLock)>? waiter = null;
        InstanceLock? handed = null;
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            if (_lockedInstances.TryGetValue(instanceId, out var held))
            {
                held.Dirty = true;
                return;
            }

            if (_readySet.Contains(instanceId))
            {
                return;
            }

            while (_orchestrationWaiters.TryDequeue(out var candidate))
            {
                if (!candidate.Task.IsCompleted)
                {
                    waiter = candidate;
                    break;
                }
            }

            if (waiter is null)
            {
                _readySet.Add(instanceId);
                _readyInstances.Enqueue(instanceId);
                return;
            }

            handed = LockInstance(instanceId);
        }

        if (!waiter.TrySetResult((instanceId, handed)))
        {
            ReleaseInstance(instanceId, handed.Token, _time.GetUtcNow().UtcTicks);
        }
    }

    private void ScheduleInstance(string instanceId, long dueTicks)
    {
        lock (_gate)
        {
            _dueInstances.Enqueue(instanceId, dueTicks);
        }

        Arm(dueTicks);
    }

    private InstanceLock LockInstance(string instanceId)
    {
        var held = new InstanceLock(++_nextToken, _time.GetUtcNow().UtcTicks + _lockTimeout.Ticks);
        _lockedInstances[instanceId] = held;
        return held;
    }

    private void LockActivity(ActivityEntry entry)
    {
        entry.Token = ++_nextToken;
        entry.ExpiresAtTicks = _time.GetUtcNow().UtcTicks + _lockTimeout.Ticks;
        _lockedActivities[entry.Id] = entry;
    }

    private void CancelWaiter<T>(Queue<TaskCompletionSource<T>> waiters, TaskCompletionSource<T> waiter, CancellationToken token)
    {
        // A waiter that was already handed work keeps it; the dispatcher processes that item before it stops.
        lock (_gate)
        {
            if (waiter.Task.IsCompleted)
            {
                return;
            }

            waiter.TrySetCanceled(token);
        }
    }

    private void Arm(long dueTicks)
    {
        lock (_gate)
        {
            if (_disposed || dueTicks >= _armedFor)
            {
                return;
            }

            _armedFor = dueTicks;
            var delay = TimeSpan.FromTicks(Math.Max(dueTicks - _time.GetUtcNow().UtcTicks, TimeSpan.TicksPerMillisecond));

            // Changed under the lock so that concurrent arms cannot apply out of order. Long waits are re-armed in
            // steps because timers cannot wait for more than about 49 days.
            _timer.Change(delay > TimeSpan.FromDays(1) ? TimeSpan.FromDays(1) : delay, Timeout.InfiniteTimeSpan);
        }
    }

    private void OnTimer()
    {
        var due = new List<string>();
        var dueActivities = new List<ActivityEntry>();
        long next;
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            var now = _time.GetUtcNow().UtcTicks;
            while (_dueInstances.TryPeek(out var id, out var at) && at <= now)
            {
                _dueInstances.Dequeue();
                due.Add(id);
            }

            while (_dueActivities.TryPeek(out var entry, out var at) && at <= now)
            {
                _dueActivities.Dequeue();
                dueActivities.Add(entry);
            }

            _armedFor = long.MaxValue;
            next = Math.Min(
                _dueInstances.TryPeek(out _, out var nextInstance) ? nextInstance : long.MaxValue,
                _dueActivities.TryPeek(out _, out var nextActivity) ? nextActivity : long.MaxValue);
        }

        foreach (var id in due)
        {
            MarkReady(id);
        }

        foreach (var entry in dueActivities)
        {
            AddActivity(entry, 0);
        }

        if (next != long.MaxValue)
        {
            Arm(next);
        }
    }
}

/// <summary>An in-memory lock on an instance.</summary>
internal sealed class InstanceLock(long token, long expiresAtTicks)
{
    public long Token { get; } = token;

    public long ExpiresAtTicks { get; set; } = expiresAtTicks;

    /// <summary>New messages arrived while locked: the instance is ready again on release.</summary>
    public bool Dirty { get; set; }
}

/// <summary>A pending activity row held in memory.</summary>
internal sealed class ActivityEntry
{
    public required long Id { get; init; }

    public required string InstanceId { get; init; }

    public required string ExecutionId { get; init; }

    public required int TaskId { get; init; }

    public required string Name { get; init; }

    public string? Input { get; init; }

    public int Attempts { get; set; }

    /// <summary>Found at start-up: a dead predecessor may have been running it.</summary>
    public bool Recovered { get; set; }

    public long Token { get; set; }

    public long ExpiresAtTicks { get; set; }

    public ActivityWorkItem ToWorkItem() => new()
    {
        Id = Id,
        InstanceId = InstanceId,
        ExecutionId = ExecutionId,
        TaskId = TaskId,
        Name = Name,
        Input = Input,
        Attempts = Attempts,
        LockToken = Token.ToString(System.Globalization.CultureInfo.InvariantCulture),
        LockedUntil = new DateTimeOffset(ExpiresAtTicks, TimeSpan.Zero),
    };
}
