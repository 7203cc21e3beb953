using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;

namespace Fleet.Simulator.Tests;

public sealed class CliTests
{
    [Fact]
    public void Every_option_is_parsed_into_simulator_options()
    {
        var (options, errors) = SimulatorCli.Parse([
            "--port", "6001", "--devices", "10000", "--seed", "7", "--rate-limit", "100", "--burst", "20",
            "--fault-rate", "0.05", "--latency-ms", "15", "--operation-delay-ms", "2000", "--install-delay-ms", "9000",
            "--install-failure-rate", "0.3", "--identity-header", "s3cret", "--token-lifetime", "600",
            "--page-size", "50", "--max-page-size", "500", "--retry-after", "HttpDate",
            "--conflict-reporting", "FailedOperation", "--signing-key", "0123456789abcdef0123",
        ]);

        Assert.Empty(errors);
        Assert.NotNull(options);
        Assert.Equal((6001, 10000, 7, 100.0, 20), (options.Port, options.Devices, options.Seed, options.RateLimit, options.Burst));
        Assert.Equal((0.05, 15, 2000, 9000, 0.3), (options.FaultRate, options.LatencyMs, options.OperationDelayMs, options.InstallDelayMs, options.InstallFailureRate));
        Assert.Equal(("s3cret", TimeSpan.FromMinutes(10), 50, 500), (options.IdentityHeader, options.TokenLifetime, options.DefaultPageSize, options.MaxPageSize));
        Assert.Equal((RetryAfterMode.HttpDate, ConflictReporting.FailedOperation, "0123456789abcdef0123"), (options.RetryAfter, options.ConflictReporting, options.SigningKey));
    }

    [Fact]
    public void Defaults_match_the_documentation()
    {
        var (options, errors) = SimulatorCli.Parse([]);

        Assert.Empty(errors);
        Assert.Equal((5080, 1000, 1, 0.0, 0), (options!.Port, options.Devices, options.Seed, options.RateLimit, options.Burst));
        Assert.Equal((20, 1000, RetryAfterMode.Seconds, TimeSpan.FromHours(1)), (options.DefaultPageSize, options.MaxPageSize, options.RetryAfter, options.TokenLifetime));
        Assert.Equal(string.Empty, options.IdentityHeader);
        Assert.Null(options.SigningKey);
    }

    [Theory]
    [InlineData("--port abc", "--port")]
    [InlineData("--port 70000", "--port")]
    [InlineData("--fault-rate 2", "--fault-rate")]
    [InlineData("--install-failure-rate -0.1", "--install-failure-rate")]
    [InlineData("--latency-ms -5", "--latency-ms")]
    [InlineData("--retry-after Sometimes", "Sometimes")]
    [InlineData("--token-lifetime soon", "--token-lifetime")]
    [InlineData("--devices", "--devices")]
    [InlineData("--bogus 1", "--bogus")]
    public async Task Invalid_values_give_a_clear_error_and_a_non_zero_exit(string commandLine, string mentioned)
    {
        var args = commandLine.Split(' ');
        var (options, errors) = SimulatorCli.Parse(args);
        Assert.Null(options);
        Assert.Contains(errors, e => e.Contains(mentioned, StringComparison.Ordinal));

        using var output = new StringWriter();
        using var error = new StringWriter();
        var exit = await SimulatorCli.RunAsync(args, output, error);

        Assert.NotEqual(0, exit);
        Assert.Contains(mentioned, error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Options_that_parse_but_do_not_validate_exit_with_code_2()
    {
        using var output = new StringWriter();
        using var error = new StringWriter();

        var exit = await SimulatorCli.RunAsync(["--page-size", "50", "--max-page-size", "10"], output, error);

        Assert.Equal(SimulatorCli.InvalidOptionsExitCode, exit);
        Assert.Contains("DefaultPageSize", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_taken_port_exits_with_code_3()
    {
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        using var output = new StringWriter();
        using var error = new StringWriter();

        var exit = await SimulatorCli.RunAsync(["--port", port.ToString(System.Globalization.CultureInfo.InvariantCulture)], output, error)
            .WaitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(SimulatorCli.StartFailedExitCode, exit);
        Assert.Contains($"127.0.0.1:{port}", error.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Run_prints_the_banner_serves_and_stops_when_cancelled()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var output = new LineWriter();
        using var error = new StringWriter();

        var run = SimulatorCli.RunAsync(["--port", "0", "--devices", "30", "--identity-header", "cli-secret"], output, error, cts.Token);
        var banner = await output.WaitForLineAsync(l => l.StartsWith("Fleet: ", StringComparison.Ordinal), cts.Token);

        var baseUrl = output.Lines.First(l => l.StartsWith("Fleet simulator", StringComparison.Ordinal)).Split(' ')[^1];
        Assert.Contains(output.Lines, l => l == $"IDENTITY_ENDPOINT={baseUrl}msi/token");
        Assert.Contains(output.Lines, l => l == "IDENTITY_HEADER=cli-secret");
        Assert.Contains("Contoso Fleet", banner, StringComparison.Ordinal);
        using (var http = TestSim.NewClient(new Uri(baseUrl)))
        {
            var fleet = JsonDocument.Parse(await http.GetStringAsync("_sim/fleet", cts.Token)).RootElement;
            Assert.Equal(30, fleet.GetProperty("DeviceCount").GetInt32());
        }

        await cts.CancelAsync();
        Assert.Equal(0, await run.WaitAsync(TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task The_executable_runs_as_a_process()
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "Fleet.Simulator.dll");
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { "exec", dll, "--port", "0", "--devices", "20", "--seed", "3" })
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        try
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            string? baseUrl = null;
            string? identityHeader = null;
            while (identityHeader is null)
            {
                var line = await process.StandardOutput.ReadLineAsync(cts.Token)
                           ?? throw new InvalidOperationException("The simulator exited: " + await process.StandardError.ReadToEndAsync(cts.Token));
                if (line.StartsWith("Fleet simulator", StringComparison.Ordinal))
                {
                    baseUrl = line.Split(' ')[^1];
                }
                else if (line.StartsWith("IDENTITY_HEADER=", StringComparison.Ordinal))
                {
                    identityHeader = line["IDENTITY_HEADER=".Length..];
                }
            }

            Assert.Equal(32, identityHeader.Length);
            using var http = TestSim.NewClient(new Uri(baseUrl!));
            using var request = new HttpRequestMessage(HttpMethod.Get, "msi/token?resource=https://firstparty.sphere.azure.net/api&api-version=2019-08-01");
            request.Headers.Add("X-IDENTITY-HEADER", identityHeader);
            using var response = await http.SendAsync(request, cts.Token);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var fleet = JsonDocument.Parse(await http.GetStringAsync("_sim/fleet", cts.Token)).RootElement;
            Assert.Equal(3, fleet.GetProperty("Seed").GetInt32());

            // SIGTERM (what ./run and process managers send) stops it cleanly.
            using (var term = Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
            {
                await term.WaitForExitAsync(cts.Token);
            }

            var rest = await process.StandardOutput.ReadToEndAsync(cts.Token);
            await process.WaitForExitAsync(cts.Token);
            Assert.Contains("Fleet simulator stopping.", rest, StringComparison.Ordinal);
            Assert.Equal(0, process.ExitCode);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
            }
        }
    }

    [Fact]
    public async Task The_process_exits_non_zero_on_a_bad_option()
    {
        var dll = Path.Combine(AppContext.BaseDirectory, "Fleet.Simulator.dll");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in new[] { "exec", dll, "--fault-rate", "3" })
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var stderr = await process.StandardError.ReadToEndAsync(cts.Token);
        await process.WaitForExitAsync(cts.Token);

        Assert.NotEqual(0, process.ExitCode);
        Assert.Contains("--fault-rate must be between 0 and 1", stderr, StringComparison.Ordinal);
    }

    /// <summary>Collects written lines thread-safely and lets a test wait for one.</summary>
    private sealed class LineWriter : TextWriter
    {
        private readonly object _gate = new();
        private readonly StringBuilder _current = new();
        private readonly ConcurrentQueue<string> _lines = new();
        private readonly SemaphoreSlim _signal = new(0);

        public override Encoding Encoding => Encoding.UTF8;

        public IReadOnlyCollection<string> Lines => _lines.ToArray();

        public override void Write(char value)
        {
            lock (_gate)
            {
                if (value == '\n')
                {
                    _lines.Enqueue(_current.ToString().TrimEnd('\r'));
                    _current.Clear();
                    _signal.Release();
                }
                else
                {
                    _current.Append(value);
                }
            }
        }

        public async Task<string> WaitForLineAsync(Func<string, bool> predicate, CancellationToken cancellationToken)
        {
            while (true)
            {
                if (_lines.FirstOrDefault(predicate) is { } line)
                {
                    return line;
                }

                await _signal.WaitAsync(cancellationToken);
            }
        }

        protected override void Dispose(bool disposing)
        {
            _signal.Dispose();
            base.Dispose(disposing);
        }
    }
}
