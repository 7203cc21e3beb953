using Fleet.Hosting.Indexing;

namespace Fleet.Hosting;

/// <summary>Feeds a trigger's events to its function (queue poller, timer schedule).</summary>
internal interface IFunctionListener : IDisposable
{
    FunctionDescriptor Function { get; }

    ListenerHealth Health { get; }

    /// <summary>Starts listening in the background; never waits for storage to be reachable.</summary>
    Task StartAsync(CancellationToken cancellationToken);

    /// <summary>Stops taking new work, lets in-flight invocations finish until <paramref name="cancellationToken"/>
    /// fires, then cancels them and hands unfinished work back (messages released, leases released).</summary>
    Task StopAsync(CancellationToken cancellationToken);
}

/// <summary>A listener's last known state, for the health endpoint.</summary>
internal sealed class ListenerHealth
{
    private readonly Lock _gate = new();
    private string? _problem;

    /// <summary>Null when the last attempt to reach the trigger source worked; otherwise what went wrong (no secrets).</summary>
    public string? Problem
    {
        get
        {
            lock (_gate)
            {
                return _problem;
            }
        }
    }

    public void Ok()
    {
        lock (_gate)
        {
            _problem = null;
        }
    }

    public void Failed(string problem)
    {
        lock (_gate)
        {
            _problem = problem;
        }
    }
}
