using System.CommandLine;
using System.Runtime.InteropServices;
using Fleet.ServiceBus.Config;

namespace Fleet.ServiceBus;

/// <summary>
/// The <c>Fleet.ServiceBus</c> command line. On start it prints <c>SERVICEBUS_PORT=…</c> and
/// <c>SERVICEBUS_CONNECTION_STRING=…</c> lines for scripts, then serves until Ctrl+C or SIGTERM and exits 0.
/// </summary>
public static class ServiceBusCli
{
    /// <summary>Exit code when the options or the configuration are invalid.</summary>
    public const int InvalidOptionsExitCode = 2;

    /// <summary>Exit code when the emulator cannot start (e.g. the given port is taken).</summary>
    public const int StartFailedExitCode = 3;

    /// <summary>Parses <paramref name="args"/>, starts the emulator and runs until cancelled, Ctrl+C or SIGTERM.</summary>
    public static Task<int> RunAsync(string[] args, TextWriter output, TextWriter error, CancellationToken cancellationToken = default)
    {
        var config = new Option<FileInfo>("--config") { Description = "Entities in the official emulator's Config.json shape.", Required = true };
        var port = new Option<int?>("--port") { Description = $"Port on 127.0.0.1 (0 = any free port). Default {ServiceBusEmulatorOptions.DefaultPort}, or a free port when that is taken." };
        var data = new Option<DirectoryInfo>("--data") { Description = "Directory of the SQLite state (kept across restarts)." };
        var inMemory = new Option<bool>("--in-memory") { Description = "Keep state in memory only (lost at stop)." };
        var root = new RootCommand("Fleet Service Bus emulator: queues, topics and subscriptions over AMQP for Service Bus clients.")
        {
            config, port, data, inMemory,
        };
        root.SetAction((parse, token) => RunAsync(
            new Settings(parse.GetValue(config)!, parse.GetValue(port), parse.GetValue(data), parse.GetValue(inMemory)),
            parse.InvocationConfiguration.Output, parse.InvocationConfiguration.Error, token));
        return root.Parse(args).InvokeAsync(new InvocationConfiguration { Output = output, Error = error }, cancellationToken);
    }

    private sealed record Settings(FileInfo Config, int? Port, DirectoryInfo? Data, bool InMemory);

    private static async Task<int> RunAsync(Settings settings, TextWriter output, TextWriter error, CancellationToken cancellationToken)
    {
        if (settings.InMemory == (settings.Data is not null))
        {
            await error.WriteLineAsync("Give exactly one of --data DIR (state kept in SQLite) and --in-memory.");
            return InvalidOptionsExitCode;
        }

        var options = new ServiceBusEmulatorOptions
        {
            ConfigPath = settings.Config.FullName,
            Port = settings.Port ?? ServiceBusEmulatorOptions.DefaultPort,
            FallBackToFreePort = settings.Port is null,
            DataDirectory = settings.Data?.FullName,
        };
        using var loggers = LoggerFactory.Create(logging =>
        {
            // Logs go to standard error, so standard output carries only the lines scripts read.
            logging.AddSimpleConsole(o => o.SingleLine = true);
            logging.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
            logging.SetMinimumLevel(LogLevel.Information);
        });
        ServiceBusEmulator emulator;
        try
        {
            emulator = await ServiceBusEmulator.StartAsync(options, TimeProvider.System, loggers);
        }
        catch (Exception ex) when (ex is ArgumentException or EmulatorConfigException)
        {
            await error.WriteLineAsync(ex.Message);
            return InvalidOptionsExitCode;
        }
        catch (IOException ex)
        {
            await error.WriteLineAsync($"The Service Bus emulator could not start: {ex.Message}");
            return StartFailedExitCode;
        }

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
        await using (emulator)
        {
            await output.WriteLineAsync($"Fleet Service Bus emulator (namespace {emulator.NamespaceName}) listening on 127.0.0.1:{emulator.Port}, " +
                (options.DataDirectory is null ? "state in memory" : $"state in {options.DataDirectory}"));
            await output.WriteLineAsync($"SERVICEBUS_PORT={emulator.Port}");
            await output.WriteLineAsync($"SERVICEBUS_CONNECTION_STRING={emulator.ConnectionString}");
            await output.WriteLineAsync("Ctrl+C stops.");
            await output.FlushAsync(CancellationToken.None);
            try
            {
                await Task.Delay(Timeout.InfiniteTimeSpan, stop.Token);
            }
            catch (OperationCanceledException)
            {
                await output.WriteLineAsync("Fleet Service Bus emulator stopping.");
            }
        }

        return 0;

        void Stop(PosixSignalContext context)
        {
            context.Cancel = true;
            stop.Cancel();
        }
    }
}
