using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Fleet.Hosting.Tests;

/// <summary>Captures structured log entries (state properties and scopes) for assertions.</summary>
public sealed class LogCapture : ILoggerProvider, ISupportExternalScope
{
    private IExternalScopeProvider _scopes = new LoggerExternalScopeProvider();

    public ConcurrentQueue<Entry> Entries { get; } = new();

    public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

    public void SetScopeProvider(IExternalScopeProvider scopeProvider) => _scopes = scopeProvider;

    public void Dispose()
    {
    }

    public sealed record Entry(
        string Category, EventId EventId, LogLevel Level, string Message, IReadOnlyDictionary<string, object?> State,
        IReadOnlyDictionary<string, object?> Scope, Exception? Exception);

    private sealed class Logger(LogCapture owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => owner._scopes.Push(state);

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var values = new Dictionary<string, object?>();
            if (state is IEnumerable<KeyValuePair<string, object?>> pairs)
            {
                foreach (var (key, value) in pairs)
                {
                    values[key] = value;
                }
            }

            var scope = new Dictionary<string, object?>();
            owner._scopes.ForEachScope(
                (s, acc) =>
                {
                    if (s is IEnumerable<KeyValuePair<string, object?>> scopePairs)
                    {
                        foreach (var (key, value) in scopePairs)
                        {
                            acc[key] = value;
                        }
                    }
                },
                scope);
            owner.Entries.Enqueue(new Entry(category, eventId, logLevel, formatter(state, exception), values, scope, exception));
        }
    }
}
