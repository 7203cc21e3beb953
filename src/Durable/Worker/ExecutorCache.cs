using Fleet.Durable.Runtime;

namespace Fleet.Durable.Worker;

/// <summary>
/// Least-recently-used set of orchestration executors kept between episodes. An executor is taken out while an episode
/// runs and put back after its commit, so only one episode ever uses it.
/// </summary>
internal sealed class ExecutorCache(int capacity)
{
    private readonly Dictionary<string, LinkedListNode<OrchestrationExecutor>> _byInstance = new(StringComparer.Ordinal);
    private readonly LinkedList<OrchestrationExecutor> _order = new();
    private readonly Lock _gate = new();

    public OrchestrationExecutor? Take(string instanceId)
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

    public void Put(OrchestrationExecutor executor)
    {
        if (capacity == 0)
        {
            return;
        }

        lock (_gate)
        {
            if (_byInstance.Remove(executor.InstanceId, out var existing))
            {
                _order.Remove(existing);
            }

            _byInstance[executor.InstanceId] = _order.AddFirst(executor);
            while (_byInstance.Count > capacity)
            {
                var last = _order.Last!;
                _order.RemoveLast();
                _byInstance.Remove(last.Value.InstanceId);
            }
        }
    }

    public void Remove(string instanceId) => Take(instanceId);
}
