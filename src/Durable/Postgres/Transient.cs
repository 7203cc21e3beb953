using System.Net.Sockets;
using Npgsql;

namespace Fleet.Durable.Postgres;

/// <summary>
/// Which database errors are worth retrying, and the pause between attempts. Every write the store makes is safe to
/// repeat even when a lost connection leaves its outcome unknown (version checks, row-existence checks, message keys),
/// so a transient error is always retried, for as long as it takes.
/// </summary>
internal static class Transient
{
    private static readonly TimeSpan FirstDelay = TimeSpan.FromMilliseconds(50);
    private static readonly TimeSpan MaxDelay = TimeSpan.FromSeconds(5);

    /// <summary>
    /// The pauses run on the real clock: they pace reconnects to a real server, which a test's fake clock must not
    /// freeze.
    /// </summary>
    public static TimeProvider Clock { get; } = TimeProvider.System;

    public static bool IsTransient(Exception exception) => exception switch
    {
        PostgresException pg => pg.IsTransient
            || pg.SqlState.StartsWith("08", StringComparison.Ordinal) // connection exception
            || pg.SqlState.StartsWith("53", StringComparison.Ordinal) // insufficient resources (e.g. too many connections)
            || pg.SqlState is "40001" or "40P01" // serialization failure, deadlock: the transaction was rolled back
                or "57P01" or "57P02" or "57P03" // admin or crash shutdown, server starting up
                or "55P03", // lock not available
        NpgsqlException npgsql => npgsql.IsTransient || npgsql.InnerException is IOException or SocketException or TimeoutException,
        IOException or SocketException or TimeoutException => true,
        _ => false,
    };

    /// <summary>The pause before retry number <paramref name="attempt"/> (1-based): 50 ms doubling to 5 s.</summary>
    public static TimeSpan Delay(int attempt)
    {
        var factor = Math.Pow(2, Math.Min(attempt - 1, 10));
        var delay = TimeSpan.FromTicks((long)(FirstDelay.Ticks * factor));
        return delay < MaxDelay ? delay : MaxDelay;
    }

    public static Task PauseAsync(int attempt, CancellationToken cancellationToken) =>
        Task.Delay(Delay(attempt), Clock, cancellationToken);
}
