
namespace Fleet.Simulator.Model;

/// <summary>The run-time settings: an immutable snapshot swapped whole, so readers never see half an update.</summary>
internal sealed class SettingsStore(SimulatorOptions startOptions)
{
    private readonly object _gate = new();
    private volatile SimulatorSettings _current = SimulatorSettings.From(startOptions);

    public SimulatorOptions StartOptions { get; } = startOptions;

    public SimulatorSettings Current => _current;

    /// <summary>Raised after every change (the throttle rebuilds its buckets).</summary>
    public event Action<SimulatorSettings>? Changed;

    /// <summary>Applies an update; returns the validation failures, empty when applied.</summary>
    public IReadOnlyList<string> Update(SimulatorSettingsUpdate update)
    {
        SimulatorSettings next;
        lock (_gate)
        {
            var c = _current;
            var candidate = new SimulatorOptions
            {
                FaultRate = update.FaultRate ?? c.FaultRate,
                LatencyMs = update.LatencyMs ?? c.LatencyMs,
                RateLimit = update.RateLimit ?? c.RateLimit,
                Burst = update.Burst ?? c.Burst,
                RetryAfter = update.RetryAfter ?? c.RetryAfter,
                OperationDelayMs = update.OperationDelayMs ?? c.OperationDelayMs,
                InstallDelayMs = update.InstallDelayMs ?? c.InstallDelayMs,
                InstallFailureRate = update.InstallFailureRate ?? c.InstallFailureRate,
                DefaultPageSize = update.DefaultPageSize ?? c.DefaultPageSize,
                MaxPageSize = update.MaxPageSize ?? c.MaxPageSize,
                TokenLifetime = update.TokenLifetime ?? c.TokenLifetime,
                ConflictReporting = update.ConflictReporting ?? c.ConflictReporting,
            };
            var result = SimulatorOptionsValidator.Instance.Validate(null, candidate);
            if (result.Failed)
            {
                return result.Failures.ToList();
            }

            next = SimulatorSettings.From(candidate);
            _current = next;
        }

        Changed?.Invoke(next);
        return [];
    }

    public void Reset()
    {
        var next = SimulatorSettings.From(StartOptions);
        lock (_gate)
        {
            _current = next;
        }

        Changed?.Invoke(next);
    }
}
