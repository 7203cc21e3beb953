using Microsoft.Extensions.Logging;

namespace Fleet.Shared.Resilience;

/// <summary>Log events of the shared rate limiters (Shared range, 1100–1199).</summary>
internal static partial class Log
{
    [LoggerMessage(EventId = 1100, EventName = "LimiterRateDecreased", Level = LogLevel.Information,
        Message = "Rate limiter {Limiter} lowered its rate from {OldRate:F1}/s to {NewRate:F1}/s after a 429 (measured accepted rate {MeasuredRate:F1}/s).")]
    public static partial void LimiterRateDecreased(this ILogger logger, string limiter, double oldRate, double newRate,
        double? measuredRate);

    [LoggerMessage(EventId = 1101, EventName = "LimiterRateRaised", Level = LogLevel.Debug,
        Message = "Rate limiter {Limiter} raised its rate to {NewRate:F1}/s.")]
    public static partial void LimiterRateRaised(this ILogger logger, string limiter, double newRate);

    [LoggerMessage(EventId = 1102, EventName = "LimiterPaused", Level = LogLevel.Information,
        Message = "Rate limiter {Limiter} paused every caller until {PausedUntil:O} as Retry-After asked.")]
    public static partial void LimiterPaused(this ILogger logger, string limiter, DateTimeOffset pausedUntil);

    [LoggerMessage(EventId = 1103, EventName = "LimiterBurstLowered", Level = LogLevel.Information,
        Message = "Rate limiter {Limiter} lowered its burst from {OldBurst:F0} to {NewBurst:F0} permits after a 429 to a request sent back to back when a pause ended.")]
    public static partial void LimiterBurstLowered(this ILogger logger, string limiter, double oldBurst, double newBurst);

    [LoggerMessage(EventId = 1104, EventName = "LimiterRateRecalled", Level = LogLevel.Information,
        Message = "Rate limiter {Limiter} starts at {Rate:F1}/s: the server was measured at {LearnedRate:F1}/s at {LearnedAt:O} (remembered).")]
    public static partial void LimiterRateRecalled(this ILogger logger, string limiter, double rate, double learnedRate, DateTimeOffset learnedAt);
}
