using Microsoft.Extensions.Logging;

namespace Fleet.ServiceBus.Tests;

/// <summary>Emulator logs on the console when SERVICEBUS_TEST_LOG is set (for diagnosing a failing test); none otherwise.</summary>
internal static class TestLogging
{
    public static ILoggerFactory? Factory { get; } = Environment.GetEnvironmentVariable("SERVICEBUS_TEST_LOG") is { Length: > 0 }
        ? LoggerFactory.Create(b => b.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Debug))
        : null;
}
