using System.Globalization;
using NCrontab;

namespace Fleet.Hosting.Timers;

/// <summary>
/// A timer schedule: an NCRONTAB expression evaluated in a time zone (UTC unless <c>WEBSITE_TIME_ZONE</c> says
/// otherwise; wall-clock times skipped by a daylight-saving jump do not occur, ambiguous ones occur once), or a fixed
/// interval (a TimeSpan schedule such as <c>00:00:10</c>, each occurrence one interval after the one before).
/// </summary>
internal sealed class TimerSchedule
{
    private static readonly CrontabSchedule.ParseOptions SixFields = new() { IncludingSeconds = true };

    private readonly CrontabSchedule? _cron;
    private readonly TimeSpan _interval;
    private readonly TimeZoneInfo _zone;

    public TimerSchedule(CrontabSchedule schedule, TimeZoneInfo zone)
    {
        _cron = schedule;
        _zone = zone;
    }

    private TimerSchedule(TimeSpan interval)
    {
        _interval = interval;
        _zone = TimeZoneInfo.Utc;
    }

    /// <summary>
    /// Parses a six-field NCRONTAB expression (<c>{second} {minute} {hour} {day} {month} {day-of-week}</c>) or a
    /// TimeSpan of at least one second; <paramref name="error"/> says why not.
    /// </summary>
    public static bool TryParse(string expression, TimeZoneInfo zone, out TimerSchedule? schedule, out string? error)
    {
        ArgumentNullException.ThrowIfNull(expression);
        var trimmed = expression.Trim();
        if (!trimmed.Contains(' ', StringComparison.Ordinal)
            && TimeSpan.TryParse(trimmed, CultureInfo.InvariantCulture, out var interval))
        {
            schedule = interval >= TimeSpan.FromSeconds(1) ? new TimerSchedule(interval) : null;
            error = schedule is null ? $"the TimeSpan schedule '{expression}' must be at least one second" : null;
            return schedule is not null;
        }

        try
        {
            schedule = new TimerSchedule(CrontabSchedule.Parse(trimmed, SixFields), zone);
            error = null;
            return true;
        }
        catch (CrontabException ex)
        {
            schedule = null;
            error = $"the schedule '{expression}' is neither a six-field NCRONTAB expression " +
                $"({{second}} {{minute}} {{hour}} {{day}} {{month}} {{day-of-week}}, e.g. \"0 */5 * * * *\") nor a TimeSpan such as \"00:05:00\": {ex.Message}";
            return false;
        }
    }

    /// <summary>True for a TimeSpan schedule.</summary>
    public bool IsInterval => _cron is null;

    /// <summary>The first occurrence strictly after <paramref name="instant"/>.</summary>
    public DateTimeOffset NextAfter(DateTimeOffset instant)
    {
        if (_cron is null)
        {
            return (instant + _interval).ToUniversalTime();
        }

        var local = TimeZoneInfo.ConvertTime(instant, _zone).DateTime;
        for (var attempt = 0; attempt < 10_000; attempt++)
        {
            var next = _cron.GetNextOccurrence(DateTime.SpecifyKind(local, DateTimeKind.Unspecified));
            local = next;
            if (_zone.IsInvalidTime(next))
            {
                continue;
            }

            var candidate = new DateTimeOffset(next, _zone.GetUtcOffset(next));
            if (candidate > instant)
            {
                return candidate.ToUniversalTime();
            }
        }

        throw new InvalidOperationException("The schedule has no next occurrence.");
    }

    /// <summary>
    /// The shortest gap between occurrences. As in Azure Functions, schedules that fire more than once a minute are
    /// not monitored.
    /// </summary>
    public TimeSpan MinimumInterval()
    {
        if (_cron is null)
        {
            return _interval;
        }

        // A fixed reference keeps this deterministic; twenty occurrences show the shortest gap of any NCRONTAB
        // pattern that repeats within a day.
        var current = new DateTime(2026, 1, 5, 0, 0, 0, DateTimeKind.Utc);
        var occurrences = new List<DateTime>();
        for (var i = 0; i < 20; i++)
        {
            current = _cron.GetNextOccurrence(current);
            occurrences.Add(current);
        }

        return occurrences.Zip(occurrences.Skip(1), (a, b) => b - a).Min();
    }
}
