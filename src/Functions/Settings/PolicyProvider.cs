using Fleet.Shared.DesiredState;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Fleet.Functions.Settings;

/// <summary>
/// The configured desired-state policy (<c>ComplianceSweep:Policy</c> or the file <c>ComplianceSweep:PolicyPath</c>),
/// read afresh on each use so an edited file takes effect for the next sweep or provisioning; parsed only when its
/// text changed.
/// </summary>
public sealed class PolicyProvider(IOptionsMonitor<ComplianceSweepOptions> options, IHostEnvironment environment)
{
    private ParsedPolicy? _last;

    /// <summary>The policy, or null when none is configured.</summary>
    /// <exception cref="InvalidOperationException">The file cannot be read or the policy is invalid; the message names the setting.</exception>
    public DesiredStatePolicy? Current()
    {
        if (PolicySetting.ReadJson(options.CurrentValue, environment.ContentRootPath) is not { } read)
        {
            return null;
        }

        if (_last is { } last && string.Equals(last.Json, read.Json, StringComparison.Ordinal))
        {
            return last.Policy;
        }

        var policy = PolicySetting.Parse(read.Json, read.Source);
        _last = new ParsedPolicy(read.Json, policy);
        return policy;
    }

    private sealed record ParsedPolicy(string Json, DesiredStatePolicy Policy);
}
