using System.Diagnostics;
using System.Globalization;
using Fleet.Durable;
using Fleet.Durable.Client;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace Fleet.Bench.Durable;

/// <summary>
/// A worker and client on a fresh SQLite database in a temp folder, with default settings and the real clock: what a
/// host gets from <c>AddDurableTask(b => b.UseSqlite(path))</c>.
/// </summary>
internal sealed class DurableBenchHost : IAsyncDisposable
{
    private readonly ServiceProvider _services;
    private readonly string _directory;

    private DurableBenchHost(ServiceProvider services, string directory)
    {
        _services = services;
        _directory = directory;
        Client = services.GetRequiredService<DurableTaskClient>();
    }

    public DurableTaskClient Client { get; }

    public static async Task<DurableBenchHost> StartAsync(Action<DurableTaskRegistry> tasks, Action<DurableTaskOptions>? configure = null)
    {
        var directory = Path.Combine(Path.GetTempPath(), "fleet-bench", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(directory);
        var services = new ServiceCollection();
        services.AddDurableTask(b =>
        {
            b.AddTasks(tasks);
            b.UseSqlite(Path.Combine(directory, "bench.db"));
            if (configure is not null)
            {
                b.Configure(configure);
            }
        });
        var provider = services.BuildServiceProvider();
        foreach (var hosted in provider.GetServices<IHostedService>())
        {
            await hosted.StartAsync(CancellationToken.None);
        }

        return new DurableBenchHost(provider, directory);
    }

    public async ValueTask DisposeAsync()
    {
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        foreach (var hosted in _services.GetServices<IHostedService>())
        {
            await hosted.StopAsync(stop.Token);
        }

        await _services.DisposeAsync();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
            // Left for the OS to clean up.
        }
    }
}

/// <summary>Small statistics helpers.</summary>
internal static class Stats
{
    public static double Percentile(IReadOnlyList<double> values, double percentile)
    {
        var sorted = values.Order().ToArray();
        var index = (int)Math.Ceiling(percentile / 100 * sorted.Length) - 1;
        return sorted[Math.Clamp(index, 0, sorted.Length - 1)];
    }

    public static double Milliseconds(long fromTimestamp, long toTimestamp) =>
        (toTimestamp - fromTimestamp) * 1000.0 / Stopwatch.Frequency;

    public static string Format(double value) => value.ToString("0.00", CultureInfo.InvariantCulture);
}
