namespace Fleet.Hosting;

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
