using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Fleet.Shared.Resilience;

/// <summary>
/// The process-wide set of <see cref="AdaptiveRateLimiter"/>s, one per remote budget (for the Sphere client: one
/// per endpoint and tenant). Every client that shares a registry shares the limiters, so all concurrent callers of
/// a tenant draw from one learned rate. Register one instance per process (the DI extensions do).
/// </summary>
public sealed class RateLimiterRegistry : IDisposable
{
    private readonly ConcurrentDictionary<string, Lazy<AdaptiveRateLimiter>> _limiters = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, RememberedRate> _remembered = new(StringComparer.Ordinal);
    private readonly TimeProvider _timeProvider;
    private readonly ILogger _logger;

    /// <summary>Creates an empty registry.</summary>
    public RateLimiterRegistry(TimeProvider? timeProvider = null, ILoggerFactory? loggerFactory = null)
    {
        _timeProvider = timeProvider ?? TimeProvider.System;
        _logger = (loggerFactory ?? NullLoggerFactory.Instance).CreateLogger("Fleet.Shared.Resilience.RateLimiter");
    }

    /// <summary>
    /// The limiter for <paramref name="key"/>, created with <paramref name="options"/> on first use; later callers get
    /// the same instance whatever options they pass.
    /// </summary>
    public AdaptiveRateLimiter GetOrAdd(string key, AdaptiveRateLimiterOptions options)
    {
        ArgumentNullException.ThrowIfNull(key);
        ArgumentNullException.ThrowIfNull(options);
        return _limiters.GetOrAdd(
            key,
            static (k, state) => new Lazy<AdaptiveRateLimiter>(() =>
            {
                var limiter = new AdaptiveRateLimiter(k, state.options, state.registry._timeProvider, state.registry._logger);
                if (state.registry._remembered.TryGetValue(k, out var remembered))
                {
                    limiter.Recall(remembered);
                }

                return limiter;
            }),
            (options, registry: this)).Value;
    }

    /// <summary>
    /// Server rates measured by an earlier process (see <see cref="LearnedRates"/>): each limiter of those keys,
    /// created now or later, starts from its rate instead of slow-starting (<see cref="AdaptiveRateLimiter.Recall"/>).
    /// </summary>
    public void Remember(IReadOnlyDictionary<string, RememberedRate> rates)
    {
        ArgumentNullException.ThrowIfNull(rates);
        foreach (var (key, rate) in rates)
        {
            _remembered[key] = rate;
            if (TryGet(key, out var limiter))
            {
                limiter!.Recall(rate);
            }
        }
    }

    /// <summary>The server rate each limiter has learned so far (or was told to remember), by key.</summary>
    public IReadOnlyDictionary<string, RememberedRate> LearnedRates()
    {
        var rates = new Dictionary<string, RememberedRate>(StringComparer.Ordinal);
        foreach (var (key, lazy) in _limiters)
        {
            if (lazy.IsValueCreated && lazy.Value.Learned is { } learned)
            {
                rates[key] = learned;
            }
        }

        return rates;
    }

    /// <summary>The limiter for <paramref name="key"/> if one was created.</summary>
    public bool TryGet(string key, out AdaptiveRateLimiter? limiter)
    {
        if (_limiters.TryGetValue(key, out var lazy) && lazy.IsValueCreated)
        {
            limiter = lazy.Value;
            return true;
        }

        limiter = null;
        return false;
    }

    /// <summary>Keys of the limiters created so far.</summary>
    public IReadOnlyCollection<string> Keys => [.. _limiters.Keys];

    /// <inheritdoc />
    public void Dispose()
    {
        foreach (var lazy in _limiters.Values)
        {
            if (lazy.IsValueCreated)
            {
                lazy.Value.Dispose();
            }
        }

        _limiters.Clear();
    }
}

/// <summary>A server rate a limiter measured (requests per second), and when.</summary>
/// <param name="Rate">Requests per second the server accepted.</param>
/// <param name="LearnedAt">When it was measured.</param>
public sealed record RememberedRate(double Rate, DateTimeOffset LearnedAt);
