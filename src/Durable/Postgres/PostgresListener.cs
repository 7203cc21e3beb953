using Microsoft.Extensions.Logging;
using Npgsql;

namespace Fleet.Durable.Postgres;

/// <summary>
/// LISTENs on the hub's channel over a dedicated connection and passes other stores' notices on. After connecting (and
/// after every reconnect) <c>onConnected</c> runs, because notices sent while disconnected are lost: the store then
/// treats all work and all instances as possibly changed.
/// </summary>
internal sealed class PostgresListener : IAsyncDisposable
{
    private readonly NpgsqlDataSource _dataSource;
    private readonly string _channel;
    private readonly string _sender;
    private readonly string _ownPrefix;
    private readonly Action<Notice> _onNotice;
    private readonly Action _onConnected;
    private readonly ILogger _logger;
    private readonly string _hubName;
    private readonly CancellationTokenSource _closing = new();
    private readonly TaskCompletionSource _firstAttempt = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task? _loop;
    private volatile bool _connected;

    public PostgresListener(NpgsqlDataSource dataSource, string channel, string sender, Action<Notice> onNotice, Action onConnected, ILogger logger, string hubName)
    {
        _dataSource = dataSource;
        _channel = channel;
        _sender = sender;
        _onNotice = onNotice;
        _onConnected = onConnected;
        _logger = logger;
        _hubName = hubName;
        _ownPrefix = "{\"s\":\"" + sender + "\"";
    }

    /// <summary>Whether the LISTEN connection is up.</summary>
    public bool Connected => _connected;

    /// <summary>Starts listening; completes after the first connection attempt, whether or not it worked.</summary>
    public Task StartAsync()
    {
        _loop ??= Task.Run(RunAsync, CancellationToken.None);
        return _firstAttempt.Task;
    }

    public async ValueTask DisposeAsync()
    {
        await _closing.CancelAsync().ConfigureAwait(false);
        if (_loop is not null)
        {
            await _loop.ConfigureAwait(false);
        }

        _closing.Dispose();
    }

    private async Task RunAsync()
    {
        var closing = _closing.Token;
        var outageLogged = false;
        for (var attempt = 1; !closing.IsCancellationRequested; attempt++)
        {
            try
            {
                var connection = await _dataSource.OpenConnectionAsync(closing).ConfigureAwait(false);
                await using (connection.ConfigureAwait(false))
                {
                    connection.Notification += OnNotification;
                    await using (var listen = new NpgsqlCommand($"LISTEN \"{_channel}\"", connection))
                    {
                        await listen.ExecuteNonQueryAsync(closing).ConfigureAwait(false);
                    }

                    _connected = true;
                    outageLogged = false;
                    attempt = 0;
                    _firstAttempt.TrySetResult();
                    _onConnected();
                    try
                    {
                        while (true)
                        {
                            await connection.WaitAsync(closing).ConfigureAwait(false);
                        }
                    }
                    finally
                    {
                        await StopListeningAsync(connection).ConfigureAwait(false);
                    }
                }
            }
            catch (OperationCanceledException) when (closing.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex)
            {
                if (!outageLogged)
                {
                    outageLogged = true;
                    _logger.ListenerDisconnected(ex, _hubName);
                }

                _connected = false;
                _firstAttempt.TrySetResult();
                try
                {
                    await Transient.PauseAsync(Math.Max(attempt, 1), closing).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    break;
                }
            }
        }

        _connected = false;
        _firstAttempt.TrySetResult();
    }

    /// <summary>Pooled connections keep session state: a connection going back to the pool must not keep listening.</summary>
    private static async Task StopListeningAsync(NpgsqlConnection connection)
    {
        if (connection.State != System.Data.ConnectionState.Open)
        {
            return;
        }

        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await using var unlisten = new NpgsqlCommand("UNLISTEN *", connection);
            await unlisten.ExecuteNonQueryAsync(timeout.Token).ConfigureAwait(false);
        }
        catch (Exception)
        {
            // A broken connection is discarded by the pool, and its session state with it.
        }
    }

    private void OnNotification(object sender, NpgsqlNotificationEventArgs e)
    {
        // This store's own notices come back too: recognise them by their first property without parsing them.
        if (e.Channel != _channel || e.Payload.StartsWith(_ownPrefix, StringComparison.Ordinal)
            || Notice.Parse(e.Payload) is not { } notice || notice.Sender == _sender)
        {
            return;
        }

        _onNotice(notice);
    }
}
