namespace Fleet.Durable.Storage;

/// <summary>
/// Least-recently-used set of per-instance state kept between episodes (the sidecar backend's
/// histories). An entry is taken out while an episode runs and put back after its commit, so only one episode ever
/// uses it.
/// </summary>
/// <typeparam name="T">What is kept per instance.</typeparam>
internal sealed class InstanceCache<T>(int capacity, Func<T, string> instanceIdOf)
    where T : class
{
    private readonly Dictionary<string, LinkedListNode<T>> _byInstance = new(StringComparer.Ordinal);
    private readonly LinkedList<T> _order = new();
    private readonly Lock _gate = new();

    public T? Take(string instanceId)
    {
        lock (_gate)
        {
            if (!_byInstance.Remove(instanceId, out var node))
            {
                return null;
            }

            _order.Remove(node);
            return node.Value;
        }
    }

    public void Put(T entry)
    {
        if (capacity == 0)
        {
            return;
        }

        var instanceId = instanceIdOf(entry);
        lock (_gate)
        {
            if (_byInstance.Remove(instanceId, out var existing))
            {
                _order.Remove(existing);
            }

            _byInstance[instanceId] = _order.AddFirst(entry);
            while (_byInstance.Count > capacity)
            {
                var last = _order.Last!;
                _order.RemoveLast();
                _byInstance.Remove(instanceIdOf(last.Value));
            }
        }
    }

    public void Remove(string instanceId) => Take(instanceId);
}
