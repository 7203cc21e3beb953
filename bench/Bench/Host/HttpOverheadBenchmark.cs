using System.Diagnostics;
using System.Net;
using Fleet.Hosting.Local;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Fleet.Bench.Host;

/// <summary>
/// What the local functions host adds to an HTTP call: the p50 latency of a trivial built-in-model function
/// (tests/TestApps/HttpApp, <c>GET api/ping</c>) through the host and its real worker, minus the p50 of a bare
/// Kestrel hello on the same machine in the same run. Sequential requests over one keep-alive connection, after
/// a warm-up of each.
/// </summary>
internal sealed class HttpOverheadBenchmark : IBenchmark
{
    private const int WarmUp = 300;
    private const int Measured = 2000;

    public string Name => "host_http";

    public IReadOnlyList<string> Figures => ["kestrel_hello_p50_ms", "host_http_p50_ms", "host_http_overhead_p50_ms"];

    public async Task RunAsync(BenchReporter reporter, CancellationToken cancellationToken)
    {
        var kestrel = await MeasureKestrelAsync(cancellationToken);
        var host = await MeasureHostAsync(cancellationToken);
        reporter.Report("kestrel_hello_p50_ms", kestrel, "ms");
        reporter.Report("host_http_p50_ms", host, "ms");
        reporter.Report("host_http_overhead_p50_ms", host - kestrel, "ms");
        reporter.Note($"{Measured} sequential GETs each after {WarmUp} warm-up; target overhead <= 1 ms.");
    }

    private static async Task<double> MeasureKestrelAsync(CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        await using var app = builder.Build();
        app.MapGet("/hello", () => Results.Text("hello"));
        await app.StartAsync(cancellationToken);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        var p50 = await P50Async(new Uri(address + "/hello"), cancellationToken);
        await app.StopAsync(cancellationToken);
        return p50;
    }

    private static async Task<double> MeasureHostAsync(CancellationToken cancellationToken)
    {
        await using var host = await LocalFunctionsHost.StartAsync(
            new LocalHostOptions
            {
                ScriptRoot = BenchApps.Output("tests/TestApps/HttpApp"),
                Port = 0,
                Output = TextWriter.Null,
                ConsoleLogs = false,

                // As a user would run it, minus the per-invocation console lines (their cost is the console's, not the host's).
                ConfigureLogging = l => l.SetMinimumLevel(LogLevel.Warning),
            },
            cancellationToken);
        var p50 = await P50Async(new Uri(host.BaseAddress, "api/ping"), cancellationToken);
        await host.StopAsync();
        return p50;
    }

    private static async Task<double> P50Async(Uri uri, CancellationToken cancellationToken)
    {
        using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(30) };
        for (var i = 0; i < WarmUp; i++)
        {
            await SendAsync(client, uri, cancellationToken);
        }

        var samples = new double[Measured];
        for (var i = 0; i < Measured; i++)
        {
            var started = Stopwatch.GetTimestamp();
            await SendAsync(client, uri, cancellationToken);
            samples[i] = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        }

        Array.Sort(samples);
        return Math.Round(samples[Measured / 2], 3);
    }

    private static async Task SendAsync(HttpClient client, Uri uri, CancellationToken cancellationToken)
    {
        using var response = await client.GetAsync(uri, cancellationToken);
        response.EnsureSuccessStatusCode();
        await response.Content.ReadAsByteArrayAsync(cancellationToken);
    }
}
