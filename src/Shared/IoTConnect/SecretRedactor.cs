using System.Collections.Concurrent;
using System.Text.RegularExpressions;

namespace Fleet.Shared.IoTConnect;

/// <summary>
/// Removes the connection's secrets (password, solution key, the current and recent tokens) and anything shaped like
/// a JWT from text that may reach an exception or a log, in case a service or a network error echoes one.
/// </summary>
internal sealed partial class SecretRedactor
{
    private const string Mask = "[redacted]";

    // Tokens rotate; the most recent ones are enough (an old one no longer means anything, but is masked while kept).
    private const int MaxSecrets = 32;

    private readonly ConcurrentQueue<string> _order = new();
    private readonly ConcurrentDictionary<string, bool> _secrets = new(StringComparer.Ordinal);

    public void Add(string? secret)
    {
        // Very short values would mask ordinary words; no real secret is that short.
        if (string.IsNullOrEmpty(secret) || secret.Length < 6 || !_secrets.TryAdd(secret, true))
        {
            return;
        }

        _order.Enqueue(secret);
        while (_order.Count > MaxSecrets && _order.TryDequeue(out var oldest))
        {
            _secrets.TryRemove(oldest, out _);
        }
    }

    public string Redact(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        foreach (var secret in _secrets.Keys)
        {
            text = text.Replace(secret, Mask, StringComparison.Ordinal);
        }

        return JwtPattern().Replace(text, Mask);
    }

    public string? RedactOrNull(string? text) => text is null ? null : Redact(text);

    [GeneratedRegex(@"eyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*")]
    private static partial Regex JwtPattern();
}
