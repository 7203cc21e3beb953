using System.Threading.Channels;
using Fleet.ServiceBus.Entities;
using Microsoft.Data.Sqlite;

namespace Fleet.ServiceBus.Persistence;

/// <summary>
/// Keeps the broker's messages, delivery counts, sequence numbers, rules and session states in one SQLite file (WAL). One writer task
/// takes every batch waiting and commits them in one transaction, so many concurrent sends and completions share a
/// commit; a caller's task completes only after its changes are committed.
/// </summary>
internal sealed class SqliteMessageStore : IMessageStore
{
    private const int MaxBatchesPerCommit = 512;
    private readonly Channel<PendingSave> _pending = Channel.CreateUnbounded<PendingSave>(new UnboundedChannelOptions { SingleReader = true });
    private readonly SqliteConnection _connection;
    private readonly Task _writer;

    private SqliteMessageStore(SqliteConnection connection)
    {
        _connection = connection;
        _writer = Task.Run(WriteLoopAsync);
    }

    /// <summary>The file inside the data directory.</summary>
    public const string FileName = "servicebus.db";

    /// <summary>Opens (creating when missing) the store in <paramref name="directory"/>.</summary>
    public static SqliteMessageStore Open(string directory)
    {
        Directory.CreateDirectory(directory);
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = Path.Combine(directory, FileName),
            Pooling = false,
        }.ToString());
        connection.Open();
        Execute(connection, """
            PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=30000;
            CREATE TABLE IF NOT EXISTS messages (
                entity TEXT NOT NULL, seq INTEGER NOT NULL, state INTEGER NOT NULL, delivery_count INTEGER NOT NULL,
                enqueued_at INTEGER NOT NULL, scheduled_at INTEGER, ttl_ticks INTEGER, message_id TEXT, body BLOB NOT NULL,
                PRIMARY KEY (entity, seq)) WITHOUT ROWID;
            CREATE TABLE IF NOT EXISTS sequences (entity TEXT PRIMARY KEY, last_seq INTEGER NOT NULL) WITHOUT ROWID;
            CREATE TABLE IF NOT EXISTS rules (subscription TEXT PRIMARY KEY, rules_json TEXT NOT NULL) WITHOUT ROWID;
            CREATE TABLE IF NOT EXISTS message_ids (entity TEXT NOT NULL, message_id TEXT NOT NULL, accepted_at INTEGER NOT NULL,
                PRIMARY KEY (entity, message_id)) WITHOUT ROWID;
            CREATE TABLE IF NOT EXISTS session_states (entity TEXT NOT NULL, session_id TEXT NOT NULL COLLATE NOCASE, state BLOB NOT NULL,
                PRIMARY KEY (entity, session_id)) WITHOUT ROWID;
            """);
        return new SqliteMessageStore(connection);
    }

    public StoredState Load()
    {
        var messages = new Dictionary<string, List<MessageRow>>(StringComparer.OrdinalIgnoreCase);
        using (var command = _connection.CreateCommand())
        {
            command.CommandText = "SELECT entity, seq, state, delivery_count, enqueued_at, scheduled_at, ttl_ticks, message_id, body FROM messages ORDER BY entity, seq";
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                var entity = reader.GetString(0);
                if (!messages.TryGetValue(entity, out var rows))
                {
                    messages[entity] = rows = [];
                }

                rows.Add(new MessageRow(
                    reader.GetInt64(1),
                    (MessageState)reader.GetInt32(2),
                    reader.GetInt32(3),
                    DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(4)),
                    reader.IsDBNull(5) ? null : DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(5)),
                    reader.IsDBNull(6) ? null : TimeSpan.FromTicks(reader.GetInt64(6)),
                    reader.IsDBNull(7) ? null : reader.GetString(7),
                    (byte[])reader.GetValue(8)));
            }
        }

        var ids = ReadGroups("SELECT entity, message_id, accepted_at FROM message_ids ORDER BY accepted_at",
            r => (r.GetString(1), DateTimeOffset.FromUnixTimeMilliseconds(r.GetInt64(2))));
        var sessionStates = ReadGroups("SELECT entity, session_id, state FROM session_states", r => (r.GetString(1), (byte[])r.GetValue(2)));
        return new StoredState(messages, ReadPairs("SELECT entity, last_seq FROM sequences", r => r.GetInt64(1)),
            ReadPairs("SELECT subscription, rules_json FROM rules", r => r.GetString(1)), ids, sessionStates);
    }

    public Task Save(IReadOnlyList<StoreChange> changes)
    {
        if (changes.Count == 0)
        {
            return Task.CompletedTask;
        }

        var save = new PendingSave(changes);
        return _pending.Writer.TryWrite(save)
            ? save.Done.Task
            : Task.FromException(new ObjectDisposedException(nameof(SqliteMessageStore), "The Service Bus emulator's store is closed."));
    }

    public async ValueTask DisposeAsync()
    {
        _pending.Writer.TryComplete();
        await _writer.ConfigureAwait(false);
        await _connection.DisposeAsync().ConfigureAwait(false);
    }

    private async Task WriteLoopAsync()
    {
        var reader = _pending.Reader;
        var batch = new List<PendingSave>(MaxBatchesPerCommit);
        using var statements = new Statements(_connection);
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            batch.Clear();
            while (batch.Count < MaxBatchesPerCommit && reader.TryRead(out var save))
            {
                batch.Add(save);
            }

            try
            {
                using (var transaction = _connection.BeginTransaction())
                {
                    statements.Enlist(transaction);
                    foreach (var save in batch)
                    {
                        foreach (var change in save.Changes)
                        {
                            statements.Apply(change);
                        }
                    }

                    transaction.Commit();
                }

                foreach (var save in batch)
                {
                    save.Done.TrySetResult();
                }
            }
            catch (Exception ex)
            {
                // A failed commit fails its callers, never the loop: later saves must still be written.
                foreach (var save in batch)
                {
                    save.Done.TrySetException(ex);
                }
            }
        }
    }

    /// <summary>Rows keyed by their first column (an entity), in the query's order.</summary>
    private Dictionary<string, List<T>> ReadGroups<T>(string sql, Func<SqliteDataReader, T> value)
    {
        var result = new Dictionary<string, List<T>>(StringComparer.OrdinalIgnoreCase);
        using var command = _connection.CreateCommand();
        command.CommandText = sql;
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            if (!result.TryGetValue(reader.GetString(0), out var list))
            {
                result[reader.GetString(0)] = list = [];
            }

            list.Add(value(reader));
        }

        return result;
    }

    private Dictionary<string, T> ReadPairs<T>(string sql, Func<SqliteDataReader, T> value)
    {
        var result = new Dictionary<string, T>(StringComparer.OrdinalIgnoreCase);
        using var command = _connection.CreateCommand();
        command.CommandText = sql;
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            result[reader.GetString(0)] = value(reader);
        }

        return result;
    }

    private static void Execute(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private sealed record PendingSave(IReadOnlyList<StoreChange> Changes)
    {
        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }

    /// <summary>The store's prepared statements, reused for every commit.</summary>
    private sealed class Statements : IDisposable
    {
        private readonly SqliteCommand _put;
        private readonly SqliteCommand _delete;
        private readonly SqliteCommand _sequence;
        private readonly SqliteCommand _rules;
        private readonly SqliteCommand _messageId;
        private readonly SqliteCommand _sessionState;
        private readonly SqliteCommand _deleteSessionState;

        public Statements(SqliteConnection connection)
        {
            _put = Command(connection, """
                INSERT OR REPLACE INTO messages (entity, seq, state, delivery_count, enqueued_at, scheduled_at, ttl_ticks, message_id, body)
                VALUES ($entity, $seq, $state, $count, $enqueued, $scheduled, $ttl, $id, $body)
                """, "$entity", "$seq", "$state", "$count", "$enqueued", "$scheduled", "$ttl", "$id", "$body");
            _delete = Command(connection, "DELETE FROM messages WHERE entity = $entity AND seq = $seq", "$entity", "$seq");
            _sequence = Command(connection, """
                INSERT INTO sequences (entity, last_seq) VALUES ($entity, $seq)
                ON CONFLICT (entity) DO UPDATE SET last_seq = max(last_seq, excluded.last_seq)
                """, "$entity", "$seq");
            _rules = Command(connection, "INSERT OR REPLACE INTO rules (subscription, rules_json) VALUES ($sub, $json)", "$sub", "$json");
            // Recording an id also drops the entity's ids older than the one just recorded by more than a day, so the
            // table stays small; the detector itself forgets them after its (shorter) window.
            _messageId = Command(connection, """
                INSERT OR REPLACE INTO message_ids (entity, message_id, accepted_at) VALUES ($entity, $id, $at);
                DELETE FROM message_ids WHERE entity = $entity AND accepted_at < $at - 86400000;
                """, "$entity", "$id", "$at");
            _sessionState = Command(connection, "INSERT OR REPLACE INTO session_states (entity, session_id, state) VALUES ($entity, $session, $state)",
                "$entity", "$session", "$state");
            _deleteSessionState = Command(connection, "DELETE FROM session_states WHERE entity = $entity AND session_id = $session", "$entity", "$session");
        }

        public void Enlist(SqliteTransaction transaction)
        {
            _put.Transaction = transaction;
            _delete.Transaction = transaction;
            _sequence.Transaction = transaction;
            _rules.Transaction = transaction;
            _messageId.Transaction = transaction;
            _sessionState.Transaction = transaction;
            _deleteSessionState.Transaction = transaction;
        }

        public void Apply(StoreChange change)
        {
            switch (change)
            {
                case PutMessage put:
                    var row = put.Row;
                    Run(_put, Key(put.Entity), row.SequenceNumber, (int)row.State, row.DeliveryCount, row.EnqueuedAt.ToUnixTimeMilliseconds(),
                        row.ScheduledAt?.ToUnixTimeMilliseconds(), row.TimeToLive?.Ticks, row.MessageId, row.Body);
                    break;
                case DeleteMessage delete:
                    Run(_delete, Key(delete.Entity), delete.SequenceNumber);
                    break;
                case SetSequence sequence:
                    Run(_sequence, Key(sequence.Entity), sequence.LastSequenceNumber);
                    break;
                case PutRules rules:
                    Run(_rules, Key(rules.Subscription), rules.RulesJson);
                    break;
                case PutMessageId id:
                    Run(_messageId, Key(id.Entity), id.MessageId, id.AcceptedAt.ToUnixTimeMilliseconds());
                    break;
                case PutSessionState { State: null } cleared:
                    Run(_deleteSessionState, Key(cleared.Entity), cleared.SessionId);
                    break;
                case PutSessionState session:
                    Run(_sessionState, Key(session.Entity), session.SessionId, session.State);
                    break;
                default:
                    throw new ArgumentOutOfRangeException(nameof(change), change.GetType().Name, "Unknown store change.");
            }
        }

        public void Dispose()
        {
            _put.Dispose();
            _delete.Dispose();
            _sequence.Dispose();
            _rules.Dispose();
            _messageId.Dispose();
            _sessionState.Dispose();
            _deleteSessionState.Dispose();
        }

        // Entity names are case-insensitive in the service; one spelling per entity keeps its rows together.
        private static string Key(string entity) => entity.ToLowerInvariant();

        private static SqliteCommand Command(SqliteConnection connection, string sql, params string[] parameters)
        {
            var command = connection.CreateCommand();
            command.CommandText = sql;
            foreach (var name in parameters)
            {
                command.Parameters.Add(new SqliteParameter { ParameterName = name });
            }

            return command;
        }

        private static void Run(SqliteCommand command, params object?[] values)
        {
            for (var i = 0; i < values.Length; i++)
            {
                command.Parameters[i].Value = values[i] ?? DBNull.Value;
            }

            command.ExecuteNonQuery();
        }
    }
}
