using NCrontab;

namespace Fleet.Hosting.Timers;

/// <summary>
/// An NCRONTAB schedule evaluated in a time zone (UTC unless <c>WEBSITE_TIME_ZONE</c> says otherwise): wall-clock
/// times skipped by a daylight-saving jump do not occur, and ambiguous ones occur once.
/// </summary>
internal sealed class TimerSchedule(CrontabSchedule schedule, TimeZoneInfo zone)
{
    /// <summary>The first occurrence strictly after <paramref name="instant"/>.</summary>
    public DateTimeOffset NextAfter(DateTimeOffset instant)
    {
        var local = TimeZoneInfo.ConvertTime(instant, zone).DateTime;
        for (var attempt = 0; attempt < 10_000; attempt++)
        {
            var next = schedule.GetNextOccurrence(DateTime.SpecifyKind(local, DateTimeKind.Unspecified));
            local = next;
            if (zone.IsInvalidTime(next))
            {
                continue;
            }

            var candidate = new DateTimeOffset(next, zone.GetUtcOffset(next));
            if (candidate > instant)
            {
                return candidate.ToUniversalTime();
            }
        }

        throw new InvalidOperationException("The schedule has no next occurrence.");
    }
}
