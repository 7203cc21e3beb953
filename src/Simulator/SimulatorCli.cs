using System.CommandLine;
using System.CommandLine.Parsing;
using System.Globalization;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Options;

namespace Fleet.Simulator;

/// <summary>The <c>Fleet.Simulator</c> command line.</summary>
public static class SimulatorCli
{
    /// <summary>Exit code when the options parse but fail validation.</summary>
    public const int InvalidOptionsExitCode = 2;

    /// <summary>Exit code when the simulator cannot start (e.g. the port is taken).</summary>
    public const int StartFailedExitCode = 3;

    /// <summary>Parses <paramref name="args"/>, starts the simulator, prints the banner and runs until cancelled or Ctrl+C.</summary>
    /// <returns>0 after a clean stop; 1 for a command-line error; <see cref="InvalidOptionsExitCode"/>; <see cref="StartFailedExitCode"/>.</returns>
    public static Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, CancellationToken cancellationToken = default)
    {
        var command = new SimulatorCommand();
        var parse = command.Root.Parse(args);
        return parse.InvokeAsync(new InvocationConfiguration { Output = output, Error = error }, cancellationToken);
    }

    /// <summary>Parses the command line into options without starting anything.</summary>
    /// <returns>The options, or null with the parse errors.</returns>
    public static (SimulatorOptions? Options, IReadOnlyList<string> Errors) Parse(string[] args)
    {
        var command = new SimulatorCommand();
        var result = command.Root.Parse(args);
        return result.Errors.Count > 0
            ? (null, result.Errors.Select(e => e.Message).ToList())
            : (command.Bind(result), []);
    }

    private sealed class SimulatorCommand
    {
        private readonly Option<int> _port = new("--port") { Description = "Loopback TCP port (0 = any free port).", DefaultValueFactory = _ => 5080 };
        private readonly Option<int> _devices = new("--devices") { Description = "Size of the seeded fleet.", DefaultValueFactory = _ => 1000 };
        private readonly Option<int> _seed = new("--seed") { Description = "Seed of the deterministic fleet and faults.", DefaultValueFactory = _ => 1 };
        private readonly Option<double> _rateLimit = new("--rate-limit") { Description = "Requests per second per tenant (0 = unlimited)." };
        private readonly Option<int> _burst = new("--burst") { Description = "Token-bucket capacity per tenant (0 = same as --rate-limit)." };
        private readonly Option<double> _faultRate = new("--fault-rate") { Description = "Fraction (0-1) of API requests answered 500/503." };
        private readonly Option<int> _latency = new("--latency-ms") { Description = "Milliseconds added to every API response." };
        private readonly Option<int> _operationDelay = new("--operation-delay-ms") { Description = "Milliseconds from an Operation's creation to Complete/Failed." };
        private readonly Option<int> _installDelay = new("--install-delay-ms") { Description = "Milliseconds from targeting to a device reporting a deployment installed." };
        private readonly Option<double> _installFailureRate = new("--install-failure-rate") { Description = "Fraction (0-1) of devices that never install a deployment." };
        private readonly Option<string> _identityHeader = new("--identity-header") { Description = "The X-IDENTITY-HEADER secret of the token endpoint (random when omitted)." };
        private readonly Option<TimeSpan> _tokenLifetime = new("--token-lifetime")
        {
            Description = "Lifetime of issued tokens: seconds or hh:mm:ss.",
            DefaultValueFactory = _ => TimeSpan.FromHours(1),
            CustomParser = ParseLifetime,
        };

        private readonly Option<int> _pageSize = new("--page-size") { Description = "Default page size of list calls.", DefaultValueFactory = _ => 20 };
        private readonly Option<int> _maxPageSize = new("--max-page-size") { Description = "Largest maxPageSize honoured.", DefaultValueFactory = _ => 1000 };
        private readonly Option<RetryAfterMode> _retryAfter = new("--retry-after") { Description = "Retry-After on 429: Seconds, HttpDate or None.", DefaultValueFactory = _ => RetryAfterMode.Seconds };
        private readonly Option<ConflictReporting> _conflicts = new("--conflict-reporting") { Description = "Conflicts on Operation calls: Synchronous (409) or FailedOperation." };
        private readonly Option<string> _signingKey = new("--signing-key") { Description = "HMAC key for tokens (random when omitted); simulators sharing it accept each other's tokens." };
        private readonly Option<int> _iotcDevices = new("--iotc-devices") { Description = "Devices seeded in each IoT Central application.", DefaultValueFactory = _ => 100 };
        private readonly Option<double> _iotcRateLimit = new("--iotc-rate-limit") { Description = "Requests per second per IoT Central application (0 = unlimited).", DefaultValueFactory = _ => 20 };
        private readonly Option<double> _iotcJobFailureRate = new("--iotc-job-failure-rate") { Description = "Fraction (0-1) of devices on which an IoT Central job fails." };
        private readonly Option<double> _iotConnectRateLimit = new("--iotconnect-rate-limit") { Description = "IoTConnect requests per second per solution (0 = unlimited)." };
        private readonly Option<TimeSpan> _iotConnectTokenLifetime = new("--iotconnect-token-lifetime")
        {
            Description = "Lifetime of IoTConnect access tokens: seconds or hh:mm:ss.",
            DefaultValueFactory = _ => TimeSpan.FromHours(24),
            CustomParser = ParseLifetime,
        };

        private readonly Option<int> _iotConnectOtaDelay = new("--iotconnect-ota-delay-ms") { Description = "Milliseconds from an IoTConnect OTA update's start to each device's outcome." };
        private readonly Option<double> _iotConnectOtaFailureRate = new("--iotconnect-ota-failure-rate") { Description = "Fraction (0-1) of devices whose IoTConnect OTA update fails." };

        public SimulatorCommand()
        {
            Root = new RootCommand("Fleet simulator: a local Azure Sphere public API v2 cloud with a managed-identity token endpoint.")
            {
                _port, _devices, _seed, _rateLimit, _burst, _faultRate, _latency, _operationDelay, _installDelay,
                _installFailureRate, _identityHeader, _tokenLifetime, _pageSize, _maxPageSize, _retryAfter, _conflicts, _signingKey,
                _iotcDevices, _iotcRateLimit, _iotcJobFailureRate,
                _iotConnectRateLimit, _iotConnectTokenLifetime, _iotConnectOtaDelay, _iotConnectOtaFailureRate,
            };
            Range(_iotcDevices, 0, 1_000_000);
            NonNegative(_iotcRateLimit);
            Fraction(_iotcJobFailureRate);
            Range(_port, 0, 65535);
            Range(_devices, 0, 1_000_000);
            Fraction(_faultRate);
            Fraction(_installFailureRate);
            NonNegative(_rateLimit);
            NonNegative(_burst);
            NonNegative(_latency);
            NonNegative(_operationDelay);
            NonNegative(_installDelay);
            Range(_pageSize, 1, 1_000_000);
            Range(_maxPageSize, 1, 1_000_000);
            NonNegative(_iotConnectRateLimit);
            NonNegative(_iotConnectOtaDelay);
            Fraction(_iotConnectOtaFailureRate);
            Root.SetAction(RunAsync);
        }

        public RootCommand Root { get; }

        public SimulatorOptions Bind(ParseResult result) => new()
        {
            Port = result.GetValue(_port),
            Devices = result.GetValue(_devices),
            Seed = result.GetValue(_seed),
            RateLimit = result.GetValue(_rateLimit),
            Burst = result.GetValue(_burst),
            FaultRate = result.GetValue(_faultRate),
            LatencyMs = result.GetValue(_latency),
            OperationDelayMs = result.GetValue(_operationDelay),
            InstallDelayMs = result.GetValue(_installDelay),
            InstallFailureRate = result.GetValue(_installFailureRate),
            IdentityHeader = result.GetValue(_identityHeader) ?? string.Empty,
            TokenLifetime = result.GetValue(_tokenLifetime),
            DefaultPageSize = result.GetValue(_pageSize),
            MaxPageSize = result.GetValue(_maxPageSize),
            RetryAfter = result.GetValue(_retryAfter),
            ConflictReporting = result.GetValue(_conflicts),
            SigningKey = result.GetValue(_signingKey),
            IoTCentral = new IoTCentralSimulatorOptions
            {
                Devices = result.GetValue(_iotcDevices),
                RateLimit = result.GetValue(_iotcRateLimit),
                JobDeviceFailureRate = result.GetValue(_iotcJobFailureRate),
            },
            IoTConnect =
            {
                RateLimit = result.GetValue(_iotConnectRateLimit),
                AccessTokenLifetime = result.GetValue(_iotConnectTokenLifetime),
                OtaDelayMs = result.GetValue(_iotConnectOtaDelay),
                OtaFailureRate = result.GetValue(_iotConnectOtaFailureRate),
            },
        };

        private async Task<int> RunAsync(ParseResult result, CancellationToken cancellationToken)
        {
            var output = result.InvocationConfiguration.Output;
            var error = result.InvocationConfiguration.Error;
            var options = Bind(result);
            var validation = SimulatorOptionsValidator.Instance.Validate(null, options);
            if (validation.Failed)
            {
                foreach (var failure in validation.Failures)
                {
                    await error.WriteLineAsync(failure);
                }

                return InvalidOptionsExitCode;
            }

            SimulatorHost host;
            try
            {
                host = await SimulatorHost.StartAsync(options, TimeProvider.System, ConfigureConsoleLogging, cancellationToken);
            }
            catch (OptionsValidationException ex)
            {
                await error.WriteLineAsync(ex.Message);
                return InvalidOptionsExitCode;
            }
            catch (IOException ex)
            {
                await error.WriteLineAsync($"The simulator could not start on 127.0.0.1:{options.Port}: {ex.Message}");
                return StartFailedExitCode;
            }

            // Ctrl+C and SIGTERM (what ./run and process managers send) end the run cleanly with exit code 0.
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
            using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
            await using (host)
            {
                await output.WriteLineAsync($"Fleet simulator (Azure Sphere public API v2) listening on {host.BaseAddress}");
                await output.WriteLineAsync($"IDENTITY_ENDPOINT={host.IdentityEndpoint}");
                await output.WriteLineAsync($"IDENTITY_HEADER={host.IdentityHeader}");
                await output.WriteLineAsync($"Fleet: {host.FleetSummary}");
                await output.WriteLineAsync($"IoT Central applications: {host.IoTCentralEndpoint("contoso")} and {host.IoTCentralEndpoint("fabrikam")}");
                await output.WriteLineAsync($"IoTConnect: discovery {host.IoTConnect.Discovery}, auth {host.IoTConnect.Auth} (solutions and credentials: {host.BaseAddress}_sim/iotconnect)");
                await output.WriteLineAsync($"Control API: {host.BaseAddress}_sim/fleet   (Ctrl+C stops)");
                await output.FlushAsync(CancellationToken.None);
                try
                {
                    await Task.Delay(Timeout.InfiniteTimeSpan, stop.Token);
                }
                catch (OperationCanceledException)
                {
                    await output.WriteLineAsync("Fleet simulator stopping.");
                }
            }

            return 0;

            void Stop(PosixSignalContext context)
            {
                context.Cancel = true;
                stop.Cancel();
            }
        }

        private static void ConfigureConsoleLogging(ILoggingBuilder logging)
        {
            logging.AddSimpleConsole(o => o.SingleLine = true);
            logging.SetMinimumLevel(LogLevel.Information);
            logging.AddFilter("Microsoft", LogLevel.Warning);
        }

        private static TimeSpan ParseLifetime(ArgumentResult result)
        {
            var text = result.Tokens.Count > 0 ? result.Tokens[0].Value : string.Empty;
            if (int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var seconds) && seconds > 0)
            {
                return TimeSpan.FromSeconds(seconds);
            }

            if (TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out var span) && span > TimeSpan.Zero)
            {
                return span;
            }

            var option = result.Parent is OptionResult o ? o.Option.Name : "--token-lifetime";
            result.AddError($"{option} must be a positive number of seconds or hh:mm:ss (was '{text}').");
            return default;
        }

        private static void Range(Option<int> option, int min, int max) =>
            option.CustomParser = result =>
            {
                var text = result.Tokens.Count > 0 ? result.Tokens[0].Value : string.Empty;
                if (!int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value))
                {
                    result.AddError($"{option.Name} must be a whole number (was '{text}').");
                }
                else if (value < min || value > max)
                {
                    result.AddError($"{option.Name} must be between {min} and {max} (was {value}).");
                }

                return value;
            };

        private static void NonNegative(Option<int> option) => Range(option, 0, int.MaxValue);

        private static void Fraction(Option<double> option) => Real(option, 1);

        private static void NonNegative(Option<double> option) => Real(option, double.MaxValue);

        private static void Real(Option<double> option, double max) =>
            option.CustomParser = result =>
            {
                var text = result.Tokens.Count > 0 ? result.Tokens[0].Value : string.Empty;
                if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || !double.IsFinite(value))
                {
                    result.AddError($"{option.Name} must be a number (was '{text}').");
                }
                else if (value < 0 || value > max)
                {
                    result.AddError(max == 1
                        ? $"{option.Name} must be between 0 and 1 (was {text})."
                        : $"{option.Name} must not be negative (was {text}).");
                }

                return value;
            };
    }
}
