using System.Globalization;
using Azure;

namespace Fleet.Shared.Resilience;

/// <summary>Reads an HTTP <c>Retry-After</c> value, which is either delta-seconds or an HTTP date.</summary>
public static class RetryAfter
{
    /// <summary>
    /// The wait a response asks for: <c>retry-after-ms</c> or <c>x-ms-retry-after-ms</c> (milliseconds) when
    /// present, otherwise <c>Retry-After</c>; null when it says nothing readable.
    /// </summary>
    public static TimeSpan? FromHeaders(Response response, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(response);
        if (response.Headers.TryGetValue("retry-after-ms", out var ms)
            || response.Headers.TryGetValue("x-ms-retry-after-ms", out ms))
        {
            if (double.TryParse(ms, NumberStyles.Float, CultureInfo.InvariantCulture, out var milliseconds)
                && milliseconds >= 0)
            {
                return TimeSpan.FromMilliseconds(milliseconds);
            }
        }

        return response.Headers.TryGetValue("Retry-After", out var value) ? Parse(value, now) : null;
    }

    /// <summary>
    /// The wait the header asks for, measured from <paramref name="now"/>; zero for a date in the past, null when the
    /// value is absent or unreadable.
    /// </summary>
    public static TimeSpan? Parse(string? value, DateTimeOffset now)
    {
        if (string.IsNullOrWhiteSpace(value))
        {
            return null;
        }

        value = value.Trim();
        if (long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds))
        {
            return TimeSpan.FromSeconds(Math.Min(seconds, (long)TimeSpan.FromDays(1).TotalSeconds));
        }

        if (DateTimeOffset.TryParseExact(value, "r", CultureInfo.InvariantCulture,
                DateTimeStyles.AssumeUniversal | DateTimeStyles.AllowWhiteSpaces, out var date)
            || DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out date))
        {
            var wait = date - now;
            return wait > TimeSpan.Zero ? wait : TimeSpan.Zero;
        }

        return null;
    }
}
