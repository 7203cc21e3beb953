using System.Collections.Concurrent;
using System.Runtime.CompilerServices;

namespace Fleet.Simulator.Traffic;

/// <summary>
/// Exact request counters (lock-free increments). A reset swaps in a fresh set, so a snapshot is always
/// a consistent view of one counting period.
/// </summary>
internal sealed class RequestCounters(TimeProvider time)
{
    private volatile Period _current = new(time.GetUtcNow());

    public void Reset() => _current = new Period(time.GetUtcNow());

    public void Record(string method, string route, int status, Guid? tenantId)
    {
        var period = _current;
        Interlocked.Increment(ref period.Total);
        Increment(period.Endpoints, (method, route, status));
        Increment(period.ByStatus, status);
        if (status == 429)
        {
            Interlocked.Increment(ref period.Throttled);
        }

        if (tenantId is { } t)
        {
            var tenant = period.Tenants.GetOrAdd(t, static _ => new TenantCount());
            Interlocked.Increment(ref tenant.Total);
            if (status == 429)
            {
                Interlocked.Increment(ref tenant.Throttled);
            }
        }
    }

    public CounterSnapshot Snapshot()
    {
        var p = _current;
        return new CounterSnapshot(
            p.Since,
            Interlocked.Read(ref p.Total),
            Interlocked.Read(ref p.Throttled),
            p.ByStatus.OrderBy(s => s.Key).ToDictionary(s => s.Key, s => Interlocked.Read(ref s.Value.Value)),
            p.Endpoints
                .Select(e => new EndpointCounter(e.Key.Method, e.Key.Route, e.Key.Status, Interlocked.Read(ref e.Value.Value)))
                .OrderBy(e => e.Route, StringComparer.Ordinal).ThenBy(e => e.Method, StringComparer.Ordinal).ThenBy(e => e.Status)
                .ToList(),
            p.Tenants
                .Select(t => new TenantCounter(t.Key, Interlocked.Read(ref t.Value.Total), Interlocked.Read(ref t.Value.Throttled)))
                .OrderBy(t => t.TenantId)
                .ToList());
    }

    private static void Increment<TKey>(ConcurrentDictionary<TKey, StrongBox<long>> counters, TKey key)
        where TKey : notnull
    {
        var box = counters.GetOrAdd(key, static _ => new StrongBox<long>());
        Interlocked.Increment(ref box.Value);
    }

    private sealed class Period(DateTimeOffset since)
    {
        public long Total;
        public long Throttled;

        public DateTimeOffset Since { get; } = since;

        public ConcurrentDictionary<(string Method, string Route, int Status), StrongBox<long>> Endpoints { get; } = new();

        public ConcurrentDictionary<int, StrongBox<long>> ByStatus { get; } = new();

        public ConcurrentDictionary<Guid, TenantCount> Tenants { get; } = new();
    }

    private sealed class TenantCount
    {
        public long Total;
        public long Throttled;
    }
}
