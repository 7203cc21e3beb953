using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;

namespace Fleet.Functions.Settings;

/// <summary>
/// Binds the app's settings and checks them when the host starts: an invalid value stops start-up with an
/// <see cref="OptionsValidationException"/> whose message names the setting (values are not echoed).
/// </summary>
internal static partial class SettingsRegistration
{
    public static void AddFleetSettings(this IServiceCollection services, IConfiguration configuration)
    {
        Add<ProvisioningOptions>(services, configuration, ProvisioningOptions.Section, (o, _, fail) =>
        {
            fail(!string.IsNullOrWhiteSpace(o.Queue), nameof(o.Queue), "must name a queue");
            fail(o.DefaultTenant is null || !string.IsNullOrWhiteSpace(o.DefaultTenant), nameof(o.DefaultTenant), "must not be blank");
            fail(Enum.IsDefined(o.DefaultCloud), nameof(o.DefaultCloud), "must be 'sphere', 'iotcentral' or 'iotconnect'");
        });

        Add<ComplianceSweepOptions>(services, configuration, ComplianceSweepOptions.Section, (o, sp, fail) =>
        {
            fail(Enum.IsDefined(o.Mode), nameof(o.Mode), "must be 'report' or 'remediate'");
            fail(o.MaxParallelRemediations is >= 1 and <= 1000, nameof(o.MaxParallelRemediations), "must be between 1 and 1000");
            fail(o.PageSize is >= 1 and <= 1000, nameof(o.PageSize), "must be between 1 and 1000");
            fail(o.ChunkPages is >= 1 and <= 1000, nameof(o.ChunkPages), "must be between 1 and 1000");
            fail(ComplianceSweepOptions.IsValidContainerName(o.ReportContainer), nameof(o.ReportContainer),
                "must be a blob container name (3-63 lowercase letters, digits and single dashes)");
            try
            {
                if (PolicySetting.ReadJson(o, sp.GetRequiredService<IHostEnvironment>().ContentRootPath) is { } policy)
                {
                    PolicySetting.Parse(policy.Json, policy.Source);
                }
            }
            catch (InvalidOperationException ex)
            {
                fail(false, null, ex.Message);
            }
        });

        Add<OrchestrationOptions>(services, configuration, OrchestrationOptions.Section, (o, _, fail) =>
        {
            fail(o.OperationPollInterval >= TimeSpan.FromMilliseconds(10) && o.OperationPollInterval <= TimeSpan.FromMinutes(5),
                nameof(o.OperationPollInterval), "must be between 00:00:00.010 and 00:05:00");
            fail(o.OperationTimeout >= o.OperationPollInterval && o.OperationTimeout <= TimeSpan.FromDays(1),
                nameof(o.OperationTimeout), "must be at least OperationPollInterval and at most 1.00:00:00");
            fail(o.RetryMaxAttempts is >= 1 and <= 20, nameof(o.RetryMaxAttempts), "must be between 1 and 20");
            fail(o.RetryFirstInterval > TimeSpan.Zero && o.RetryFirstInterval <= TimeSpan.FromHours(1),
                nameof(o.RetryFirstInterval), "must be greater than 0 and at most 01:00:00");
            fail(o.RetryMaxInterval >= o.RetryFirstInterval && o.RetryMaxInterval <= TimeSpan.FromDays(1),
                nameof(o.RetryMaxInterval), "must be at least RetryFirstInterval and at most 1.00:00:00");
        });

        Add<LearnedRateOptions>(services, configuration, LearnedRateOptions.Section, (o, _, fail) =>
            fail(o.MaxAge >= TimeSpan.FromMinutes(1) && o.MaxAge <= TimeSpan.FromDays(90), nameof(o.MaxAge), "must be between 00:01:00 and 90.00:00:00"));
    }

    /// <summary>
    /// Registers options bound from <paramref name="section"/> and a start-up validator. Binding failures are
    /// swallowed while binding and reported by the validator (which binds a fresh copy to find them), so every bad
    /// setting is named at once.
    /// </summary>
    private static void Add<T>(
        IServiceCollection services, IConfiguration configuration, string section, Action<T, IServiceProvider, Check> rules)
        where T : class, new()
    {
        services.AddOptions<T>()
            .Configure(options =>
            {
                try
                {
                    configuration.GetSection(section).Bind(options);
                }
                catch (InvalidOperationException)
                {
                    // Reported by the validator below.
                }
            })
            .ValidateOnStart();
        services.AddSingleton<IValidateOptions<T>>(sp => new Validator<T>(sp, configuration, section, rules));
    }

    /// <summary>Records a failure of setting <paramref name="member"/> (or a whole message when null) unless <paramref name="ok"/>.</summary>
    private delegate void Check(bool ok, string? member, string rule);

    private sealed class Validator<T>(IServiceProvider services, IConfiguration configuration, string section, Action<T, IServiceProvider, Check> rules)
        : IValidateOptions<T>
        where T : class, new()
    {
        public ValidateOptionsResult Validate(string? name, T options)
        {
            var failures = new List<string>();
            try
            {
                configuration.GetSection(section).Bind(new T());
            }
            catch (InvalidOperationException ex)
            {
                var match = BinderFailure().Match(ex.Message);
                failures.Add(match.Success
                    ? $"Setting '{match.Groups["path"].Value}' has a value that is not a valid {match.Groups["type"].Value}."
                    : $"Settings under '{section}' could not be read ({ex.GetType().Name}).");
                return ValidateOptionsResult.Fail(failures);
            }

            rules(options, services, (ok, member, rule) =>
            {
                if (!ok)
                {
                    failures.Add(member is null ? rule : $"Setting '{section}:{member}' {rule}.");
                }
            });
            return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
        }
    }

    [GeneratedRegex("at '(?<path>[^']+)' to type '(?<type>[^']+)'")]
    private static partial Regex BinderFailure();
}
