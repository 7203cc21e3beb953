namespace Fleet.Simulator.IoTConnect;

/// <summary>IoTConnect's run-time settings: an immutable snapshot swapped whole, like the Sphere side's store.</summary>
internal sealed class IoTConnectSettingsStore(IoTConnectSimulatorOptions startOptions)
{
    private readonly object _gate = new();
    private volatile IoTConnectSettings _current = IoTConnectSettings.From(startOptions);

    public IoTConnectSettings Current => _current;

    /// <summary>Raised after every change and reset (the throttle refills its buckets).</summary>
    public event Action? Changed;

    /// <summary>Applies an update; returns the validation failures, empty when applied.</summary>
    public IReadOnlyList<string> Update(IoTConnectSettingsUpdate update)
    {
        lock (_gate)
        {
            var c = _current;
            var candidate = new IoTConnectSimulatorOptions
            {
                RateLimit = update.RateLimit ?? c.RateLimit,
                Burst = update.Burst ?? c.Burst,
                ThrottleResponse = update.ThrottleResponse ?? c.ThrottleResponse,
                RetryAfter = update.RetryAfter ?? c.RetryAfter,
                AccessTokenLifetime = update.AccessTokenLifetime ?? c.AccessTokenLifetime,
                RefreshTokenLifetime = update.RefreshTokenLifetime ?? c.RefreshTokenLifetime,
                OtaDelayMs = update.OtaDelayMs ?? c.OtaDelayMs,
                OtaFailureRate = update.OtaFailureRate ?? c.OtaFailureRate,
                DropRate = update.DropRate ?? c.DropRate,
                DefaultPageSize = update.DefaultPageSize ?? c.DefaultPageSize,
                MaxPageSize = update.MaxPageSize ?? c.MaxPageSize,
            };
            var failures = new List<string>();
            candidate.Validate(failures);
            if (failures.Count > 0)
            {
                return failures;
            }

            _current = IoTConnectSettings.From(candidate);
        }

        Changed?.Invoke();
        return [];
    }

    public void Reset()
    {
        _current = IoTConnectSettings.From(startOptions);
        Changed?.Invoke();
    }
}
