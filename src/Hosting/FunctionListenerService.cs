using Fleet.Hosting.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Fleet.Hosting;

/// <summary>
/// Starts every queue and timer listener with the host and, at shutdown, stops them together: no new work is taken,
/// in-flight invocations get until the host's shutdown timeout, then are cancelled and their work handed back.
/// </summary>
internal sealed class FunctionListenerService(
    IReadOnlyList<IFunctionListener> listeners, HostSettings settings, ILoggerFactory loggerFactory) : IHostedService, IDisposable
{
    private readonly ILogger _logger = loggerFactory.CreateLogger("Fleet.Hosting.Host");

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        foreach (var listener in listeners)
        {
            await listener.StartAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        _logger.HostStopping(settings.HostId, settings.ShutdownTimeout);
        await Task.WhenAll(listeners.Select(l => l.StopAsync(cancellationToken))).ConfigureAwait(false);
        _logger.HostStopped(settings.HostId);
    }

    public void Dispose()
    {
        foreach (var listener in listeners)
        {
            listener.Dispose();
        }
    }
}
