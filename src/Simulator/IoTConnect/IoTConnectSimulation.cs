using Fleet.Simulator.Model;
using Fleet.Simulator.Traffic;

namespace Fleet.Simulator.IoTConnect;

/// <summary>
/// The simulated Avnet IoTConnect: its settings, sessions and account data, served by <see cref="IoTConnectApi"/>
/// under <c>/iotconnect/{service}/api/v2/…</c> beside the Sphere API, and steered by the control API under
/// <c>/_sim/iotconnect/…</c>. Rate limits use a throttle of its own (one token bucket per solution, at IoTConnect's
/// settings) and faults the Sphere side's seeded fault draw.
/// </summary>
internal sealed class IoTConnectSimulation
{
    private readonly Throttle _throttle;

    public IoTConnectSimulation(SimulatorOptions options, TimeProvider time, FaultInjector faults, SettingsStore simulatorSettings, ILogger logger)
    {
        Settings = new IoTConnectSettingsStore(options.IoTConnect);
        Cloud = new IoTConnectCloud(options.Seed, options.Devices, Settings, time);
        Sessions = new IoTConnectSessions(options.Seed, time, Settings);
        _throttle = new Throttle(time, () => (Settings.Current.RateLimit, Settings.Current.EffectiveBurst));
        Gate = new IoTConnectGate(this, _throttle, faults, simulatorSettings, options.Seed, time, logger);
        Logger = logger;
        Settings.Changed += _throttle.Clear;
    }

    public IoTConnectSettingsStore Settings { get; }

    public IoTConnectCloud Cloud { get; }

    public IoTConnectSessions Sessions { get; }

    public IoTConnectGate Gate { get; }

    public ILogger Logger { get; }

    /// <summary>Back to the seeded solutions and the start settings; every session ends.</summary>
    public void Reset()
    {
        Settings.Reset();
        _throttle.Clear();
        Sessions.Clear();
        Cloud.Reset();
        Gate.Reset();
    }

    /// <summary>Resolves a control-API solution scope ("A", "Contoso" or null for all); false when it names none.</summary>
    public bool TryResolveScope(string? solution, out string? solutionKey)
    {
        solutionKey = null;
        if (string.IsNullOrEmpty(solution))
        {
            return true;
        }

        solutionKey = Cloud.ResolveSolutionKey(solution);
        return solutionKey is not null;
    }
}
