using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Logging;

namespace Fleet.Hosting.Rpc;

/// <summary>What a worker process is started with: the command line of worker.config.json and the environment.</summary>
internal sealed record WorkerStartInfo(
    string Executable, IReadOnlyList<string> Arguments, string WorkingDirectory, IReadOnlyDictionary<string, string> Environment);

/// <summary>
/// One worker process: started with the <c>--functions-*</c> switches the .NET worker reads, its stdout and stderr
/// going into the host's log (category <c>Worker</c>), its exit observable, and killed (with its children) on disposal.
/// </summary>
internal sealed class WorkerProcess : IAsyncDisposable
{
    private const int LastLinesKept = 5;
    private readonly Process _process;
    private readonly ILogger _logger;
    private readonly TaskCompletionSource<int> _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Queue<string> _lastErrorLines = new();

    private WorkerProcess(Process process, ILogger logger)
    {
        _process = process;
        _logger = logger;
    }

    /// <summary>The worker id it was started with (echoed in StartStream).</summary>
    public required string WorkerId { get; init; }

    /// <summary>The operating system's process id.</summary>
    public int ProcessId => _process.Id;

    /// <summary>Completes with the exit code when the process ends.</summary>
    public Task<int> Exited => _exited.Task;

    /// <summary>The last lines the worker wrote, without stack frames, for start-up errors.</summary>
    public string LastOutput
    {
        get
        {
            lock (_lastErrorLines)
            {
                return string.Join(" | ", _lastErrorLines);
            }
        }
    }

    /// <summary>The arguments the real Functions host passes (RpcWorkerContext), after the worker path.</summary>
    public static IReadOnlyList<string> Arguments(string workerPath, Uri hostEndpoint, string workerId, string requestId, int maxMessageLength)
    {
        var length = maxMessageLength.ToString(CultureInfo.InvariantCulture);
        return
        [
            workerPath,
            "--host", hostEndpoint.Host, "--port", hostEndpoint.Port.ToString(CultureInfo.InvariantCulture),
            "--workerId", workerId, "--requestId", requestId, "--grpcMaxMessageLength", length,
            "--functions-uri", hostEndpoint.ToString(), "--functions-worker-id", workerId,
            "--functions-request-id", requestId, "--functions-grpc-max-message-length", length,
        ];
    }

    /// <summary>Starts the process.</summary>
    /// <exception cref="HostStartupException">The executable could not be started.</exception>
    public static WorkerProcess Start(WorkerStartInfo start, string workerId, ILogger logger)
    {
        var info = new ProcessStartInfo(start.Executable)
        {
            WorkingDirectory = start.WorkingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = false,
            UseShellExecute = false,
        };
        foreach (var argument in start.Arguments)
        {
            info.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in start.Environment)
        {
            info.Environment[name] = value;
        }

        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        var worker = new WorkerProcess(process, logger) { WorkerId = workerId };
        process.OutputDataReceived += (_, e) => worker.OnOutput(e.Data, isError: false);
        process.ErrorDataReceived += (_, e) => worker.OnOutput(e.Data, isError: true);
        process.Exited += (_, _) => worker.OnExited();
        try
        {
            process.Start();
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            process.Dispose();
            throw new HostStartupException($"The worker '{start.Executable}' could not be started: {ex.Message}", ex);
        }

        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        logger.WorkerProcessStarted(process.Id, workerId);
        return worker;
    }

    /// <summary>Waits for the process to end by itself, then kills it (and its children) if it has not.</summary>
    public async Task StopAsync(TimeSpan grace, TimeProvider time)
    {
        if (!Exited.IsCompleted)
        {
            using var timeout = new CancellationTokenSource(grace, time);
            try
            {
                await Exited.WaitAsync(timeout.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                _logger.WorkerProcessKilled(ProcessId, grace);
            }
        }

        Kill();
        await Exited.ConfigureAwait(false);
    }

    /// <summary>Kills the process tree now, if it still runs.</summary>
    public void Kill()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }
        }
        catch (InvalidOperationException)
        {
            // It ended between the check and the kill.
        }
    }

    public async ValueTask DisposeAsync()
    {
        Kill();
        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        try
        {
            await Exited.WaitAsync(bound.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // The OS did not report the exit in time; the handle is released below all the same.
        }

        _process.Dispose();
    }

    private static bool IsStackFrame(string line)
    {
        var trimmed = line.AsSpan().TrimStart();
        return trimmed.StartsWith("at ", StringComparison.Ordinal) || trimmed.StartsWith("--- End of", StringComparison.Ordinal);
    }

    private void OnOutput(string? line, bool isError)
    {
        if (line is null)
        {
            return;
        }

        // Stack frames stay in the log but not in the start-up error: there the exception's own line says what is wrong.
        if (line.Length > 0 && !IsStackFrame(line))
        {
            lock (_lastErrorLines)
            {
                _lastErrorLines.Enqueue(line);
                while (_lastErrorLines.Count > LastLinesKept)
                {
                    _lastErrorLines.Dequeue();
                }
            }
        }

        if (isError)
        {
            _logger.WorkerStandardError(line);
        }
        else
        {
            _logger.WorkerStandardOutput(line);
        }
    }

    private void OnExited()
    {
        // Exited may be raised before the output readers drained; WaitForExit() (no timeout) waits for them.
        _process.WaitForExit();
        var code = _process.ExitCode;
        _logger.WorkerProcessExited(_process.Id, code);
        _exited.TrySetResult(code);
    }
}
