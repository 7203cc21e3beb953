using Microsoft.Extensions.Logging;
using Npgsql;

namespace Fleet.Durable.Postgres;

/// <summary>
/// Whether the store's last database operations failed: logs the start and end of an outage once each (not every
/// retry) and keeps a description of the last problem for health reports. Never holds secrets: Npgsql messages name
/// the server and the error, not credentials.
/// </summary>
internal sealed class HealthState(ILogger logger, string hubName)
{
    private readonly Lock _gate = new();
    private long? _failingSince;
    private string? _problem;

    /// <summary>The last problem while the database is failing; null when the last operation worked.</summary>
    public string? Problem
    {
        get
        {
            lock (_gate)
            {
                return _failingSince is null ? null : _problem;
            }
        }
    }

    public void Failed(Exception exception, string operation)
    {
        var first = false;
        lock (_gate)
        {
            _problem = $"{operation} failed: {Describe(exception)}";
            if (_failingSince is null)
            {
                _failingSince = Transient.Clock.GetTimestamp();
                first = true;
            }
        }

        if (first)
        {
            logger.DatabaseUnavailable(exception, operation, hubName);
        }
    }

    public void Succeeded()
    {
        long? since;
        lock (_gate)
        {
            since = _failingSince;
            _failingSince = null;
            _problem = null;
        }

        if (since is { } started)
        {
            var seconds = Transient.Clock.GetElapsedTime(started).TotalSeconds;
            logger.DatabaseRecovered(hubName, seconds);
        }
    }

    /// <summary>A one-line description of a database error: its type, SQLSTATE and message.</summary>
    public static string Describe(Exception exception) => exception switch
    {
        PostgresException pg => $"PostgreSQL {pg.SqlState}: {pg.MessageText}",
        _ when exception.InnerException is { } inner && exception is NpgsqlException => $"{exception.Message} ({inner.GetType().Name}: {inner.Message})",
        _ => $"{exception.GetType().Name}: {exception.Message}",
    };
}
