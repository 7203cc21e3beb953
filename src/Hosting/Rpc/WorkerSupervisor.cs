using Fleet.Hosting.Rpc.Protocol;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.Logging;

namespace Fleet.Hosting.Rpc;

/// <summary>How the supervisor starts and restarts the worker.</summary>
internal sealed record WorkerSupervisorOptions
{
    public required string ScriptRoot { get; init; }

    public required WorkerConfig Config { get; init; }

    /// <summary>The worker's environment (app settings and the FUNCTIONS_* variables).</summary>
    public required IReadOnlyDictionary<string, string> Environment { get; init; }

    /// <summary>Connect, WorkerInit and metadata must complete within this.</summary>
    public TimeSpan StartupTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>Each FunctionLoadRequest must be answered within this.</summary>
    public TimeSpan LoadTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>The first restart delay; it doubles per failed restart up to <see cref="MaxRestartDelay"/>.</summary>
    public TimeSpan RestartDelay { get; init; } = TimeSpan.FromSeconds(1);

    public TimeSpan MaxRestartDelay { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>The name reported in start-up errors for <see cref="StartupTimeout"/>.</summary>
    public string StartupTimeoutSetting { get; init; } = "Host:WorkerStartupTimeout";
}

/// <summary>A started, initialized worker: its process, stream and what it announced.</summary>
internal sealed record WorkerSession(WorkerProcess Process, WorkerChannel Channel, WorkerInitResponse Init, IReadOnlyList<RpcFunctionMetadata> Metadata)
{
    /// <summary>The worker's own HTTP endpoint (ASP.NET Core integration), from its <c>HttpUri</c> capability.</summary>
    public Uri? HttpUri => Init.Capabilities.TryGetValue("HttpUri", out var uri) && Uri.TryCreate(uri, UriKind.Absolute, out var parsed) ? parsed : null;

    public bool HasCapability(string name) =>
        Init.Capabilities.TryGetValue(name, out var value) && string.Equals(value, "true", StringComparison.OrdinalIgnoreCase);
}

/// <summary>
/// Keeps one worker process alive: start, handshake (StartStream, WorkerInit, metadata) and function load with
/// timeouts; a worker that dies fails its in-flight invocations (its channel ends) and is restarted with backoff,
/// loading the same functions again. Callers wait for a live worker with <see cref="GetLiveAsync"/>.
/// </summary>
internal sealed class WorkerSupervisor(WorkerSupervisorOptions options, WorkerConnections connections, Uri hostEndpoint, ILoggerFactory loggerFactory, TimeProvider time)
    : IAsyncDisposable
{
    public const string HostVersion = "4.1037.0";
    private readonly ILogger _logger = loggerFactory.CreateLogger("Fleet.Hosting.Rpc");
    private readonly CancellationTokenSource _stopping = new();
    private readonly object _gate = new();
    private TaskCompletionSource<WorkerSession> _live = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private IReadOnlyList<string> _functionIds = [];
    private WorkerSession? _current;
    private Task _supervision = Task.CompletedTask;

    /// <summary>How many times the worker was restarted after dying.</summary>
    public int Restarts { get; private set; }

    /// <summary>The live session, or null while (re)starting.</summary>
    public WorkerSession? Current
    {
        get
        {
            lock (_gate)
            {
                return _current;
            }
        }
    }

    /// <summary>Starts the first worker and completes its handshake; the caller then chooses what to load.</summary>
    /// <exception cref="HostStartupException">The worker could not start, crashed, or timed out.</exception>
    public async Task<WorkerSession> StartAsync(CancellationToken cancellationToken)
    {
        var session = await StartSessionAsync(cancellationToken).ConfigureAwait(false);
        lock (_gate)
        {
            _current = session;
        }

        return session;
    }

    /// <summary>Loads <paramref name="functions"/> into the current worker (and into every restarted one), then supervises it.</summary>
    /// <returns>Per function id, null when loaded, else the worker's reason.</returns>
    public async Task<IReadOnlyDictionary<string, string?>> LoadAndSuperviseAsync(IReadOnlyList<RpcFunctionMetadata> functions, CancellationToken cancellationToken)
    {
        var session = Current ?? throw new InvalidOperationException("StartAsync must complete first.");
        var results = await LoadAsync(session, functions, cancellationToken).ConfigureAwait(false);
        _functionIds = functions.Where(f => results[f.FunctionId] is null).Select(f => f.FunctionId).ToList();
        _live.TrySetResult(session);
        _supervision = SuperviseAsync(session, functions.Where(f => results[f.FunctionId] is null).ToList());
        return results;
    }

    /// <summary>The live worker; waits while it restarts.</summary>
    public Task<WorkerSession> GetLiveAsync(CancellationToken cancellationToken)
    {
        Task<WorkerSession> live;
        lock (_gate)
        {
            live = _live.Task;
        }

        return live.WaitAsync(cancellationToken);
    }

    /// <summary>Sends WorkerTerminate with <paramref name="grace"/>, waits for the process to exit, then kills it.</summary>
    public async Task StopAsync(TimeSpan grace)
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        lock (_gate)
        {
            _live.TrySetCanceled();
        }

        var session = Current;
        if (session is not null && !session.Process.Exited.IsCompleted)
        {
            session.Channel.Post(new StreamingMessage { WorkerTerminate = new WorkerTerminate { GracePeriod = Duration.FromTimeSpan(grace) } });
            await session.Process.StopAsync(grace + TimeSpan.FromSeconds(2), time).ConfigureAwait(false);
        }

        try
        {
            await _supervision.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            // Stopped while restarting.
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        if (Current is { } session)
        {
            await session.Process.DisposeAsync().ConfigureAwait(false);
        }

        _stopping.Dispose();
    }

    private async Task SuperviseAsync(WorkerSession session, IReadOnlyList<RpcFunctionMetadata> functions)
    {
        var delay = options.RestartDelay;
        while (true)
        {
            var started = time.GetTimestamp();
            await Task.WhenAny(session.Process.Exited, session.Channel.Closed).ConfigureAwait(false);
            lock (_gate)
            {
                _current = null;
                if (_live.Task.IsCompleted)
                {
                    _live = new(TaskCreationOptions.RunContinuationsAsynchronously);
                }
            }

            session.Channel.Abort();
            session.Process.Kill();
            if (_stopping.IsCancellationRequested)
            {
                return;
            }

            _logger.WorkerDied(session.Process.ProcessId, session.Process.Exited.IsCompleted ? session.Process.Exited.Result : null);
            await session.Process.DisposeAsync().ConfigureAwait(false);
            if (time.GetElapsedTime(started) > TimeSpan.FromMinutes(1))
            {
                delay = options.RestartDelay;
            }

            while (true)
            {
                _logger.WorkerRestarting(delay);
                await Task.Delay(delay, time, _stopping.Token).ConfigureAwait(false);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, options.MaxRestartDelay.Ticks));
                try
                {
                    var next = await StartSessionAsync(_stopping.Token).ConfigureAwait(false);
                    var results = await LoadAsync(next, functions, _stopping.Token).ConfigureAwait(false);
                    foreach (var (id, reason) in results.Where(r => r.Value is not null))
                    {
                        _logger.FunctionReloadFailed(id, reason!);
                    }

                    session = next;
                    Restarts++;
                    lock (_gate)
                    {
                        _current = next;
                        _live.TrySetResult(next);
                    }

                    _logger.WorkerRestarted(next.Process.ProcessId);
                    break;
                }
                catch (HostStartupException ex)
                {
                    _logger.WorkerRestartFailed(ex.Message);
                }
            }
        }
    }

    private async Task<WorkerSession> StartSessionAsync(CancellationToken cancellationToken)
    {
        var executable = options.Config.ResolveExecutable(options.ScriptRoot);
        if (!File.Exists(options.Config.WorkerPath))
        {
            throw new HostStartupException(
                $"The app '{options.Config.WorkerPath}' (description.defaultWorkerPath in {Path.Combine(options.ScriptRoot, WorkerConfig.FileName)}) does not exist: build the app first.");
        }

        var workerId = Guid.NewGuid().ToString();
        var connected = connections.Expect(workerId);
        var arguments = WorkerProcess.Arguments(options.Config.WorkerPath, hostEndpoint, workerId, Guid.NewGuid().ToString(), int.MaxValue);
        var process = WorkerProcess.Start(
            new WorkerStartInfo(executable, arguments, options.ScriptRoot, options.Environment), workerId, loggerFactory.CreateLogger("Worker"));
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(options.StartupTimeout);
        try
        {
            var channel = await Stage(connected, process, "connect", timeout.Token).ConfigureAwait(false);
            var initReply = await Stage(channel.RequestAsync(new StreamingMessage
            {
                WorkerInitRequest = new WorkerInitRequest
                {
                    HostVersion = HostVersion,
                    WorkerDirectory = options.ScriptRoot,
                    FunctionAppDirectory = options.ScriptRoot,
                },
            }, timeout.Token), process, "WorkerInit", timeout.Token).ConfigureAwait(false);
            var init = initReply.WorkerInitResponse
                ?? throw new HostStartupException($"The worker answered WorkerInitRequest with {initReply.ContentCase}.");
            if (init.Result?.Status != StatusResult.Types.Status.Success)
            {
                throw new HostStartupException($"The worker failed to initialize: {init.Result?.Exception?.Message ?? init.Result?.Result}");
            }

            var metadataReply = await Stage(channel.RequestAsync(new StreamingMessage
            {
                FunctionsMetadataRequest = new FunctionsMetadataRequest { FunctionAppDirectory = options.ScriptRoot },
            }, timeout.Token), process, "FunctionsMetadata", timeout.Token).ConfigureAwait(false);
            var metadata = metadataReply.FunctionMetadataResponse
                ?? throw new HostStartupException($"The worker answered FunctionsMetadataRequest with {metadataReply.ContentCase}.");
            if (metadata.Result?.Status != StatusResult.Types.Status.Success)
            {
                throw new HostStartupException($"The worker could not index the app's functions: {metadata.Result?.Exception?.Message ?? metadata.Result?.Result}");
            }

            if (metadata.UseDefaultMetadataIndexing)
            {
                throw new HostStartupException("The worker asked the host to index the app (use_default_metadata_indexing); this host needs worker indexing (Worker.Sdk 1.x or later).");
            }

            var session = new WorkerSession(process, channel, init, metadata.FunctionMetadataResults.ToList());
            if (session.HttpUri is { } httpUri)
            {
                // The worker announces its HTTP endpoint before its Kestrel listens: wait until it takes connections.
                await Stage(WaitForHttpAsync(httpUri, timeout.Token), process, $"its HTTP endpoint {httpUri}", timeout.Token).ConfigureAwait(false);
            }

            _logger.WorkerInitialized(process.ProcessId, init.WorkerVersion, metadata.FunctionMetadataResults.Count);
            return session;
        }
        catch
        {
            connections.Forget(workerId);
            await process.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private async Task<bool> WaitForHttpAsync(Uri httpUri, CancellationToken cancellationToken)
    {
        while (true)
        {
            using var probe = new System.Net.Sockets.TcpClient();
            try
            {
                await probe.ConnectAsync(httpUri.Host, httpUri.Port, cancellationToken).ConfigureAwait(false);
                return true;
            }
            catch (System.Net.Sockets.SocketException)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(50), time, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private async Task<IReadOnlyDictionary<string, string?>> LoadAsync(WorkerSession session, IReadOnlyList<RpcFunctionMetadata> functions, CancellationToken cancellationToken)
    {
        // One FunctionLoadRequest per function: the .NET worker never answers the collection form (pitfall 1).
        var loads = functions.Select(async function =>
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(options.LoadTimeout);
            var reply = await Stage(session.Channel.RequestAsync(new StreamingMessage
            {
                FunctionLoadRequest = new FunctionLoadRequest { FunctionId = function.FunctionId, Metadata = function },
            }, timeout.Token), session.Process, $"FunctionLoad({function.Name})", timeout.Token).ConfigureAwait(false);
            var result = reply.FunctionLoadResponse?.Result;
            return (function.FunctionId, Reason: result?.Status == StatusResult.Types.Status.Success
                ? null
                : result?.Exception?.Message ?? result?.Result ?? $"the worker answered {reply.ContentCase}");
        });
        var done = await Task.WhenAll(loads).ConfigureAwait(false);
        return done.ToDictionary(d => d.FunctionId, d => d.Reason, StringComparer.Ordinal);
    }

    /// <summary>Awaits one handshake step, turning a dead worker or a timeout into a one-line start-up error.</summary>
    private async Task<T> Stage<T>(Task<T> step, WorkerProcess process, string stage, CancellationToken timeout)
    {
        var exited = process.Exited;
        var finished = await Task.WhenAny(step, exited, Task.Delay(Timeout.Infinite, timeout)).ConfigureAwait(false);
        if (finished == step)
        {
            try
            {
                return await step.ConfigureAwait(false);
            }
            catch (WorkerUnavailableException)
            {
                await Task.WhenAny(exited, Task.Delay(TimeSpan.FromSeconds(2), time, CancellationToken.None)).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (timeout.IsCancellationRequested)
            {
                // Reported below.
            }
        }

        if (exited.IsCompleted)
        {
            var output = process.LastOutput;
            throw new HostStartupException(
                $"The worker ({options.Config.ExecutablePath} {Path.GetFileName(options.Config.WorkerPath)}) exited with code {exited.Result} during start-up ({stage})"
                + (output.Length > 0 ? ": " + output : "."));
        }

        _stopping.Token.ThrowIfCancellationRequested();
        throw new HostStartupException(
            $"The worker ({options.Config.ExecutablePath} {Path.GetFileName(options.Config.WorkerPath)}) did not complete {stage} within {options.StartupTimeout.TotalSeconds:0.#} s "
            + $"(setting {options.StartupTimeoutSetting}).");
    }
}
