using System.Collections.Concurrent;
using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Text;

namespace Fleet.Testing;

/// <summary>How to start a <see cref="PostgresInstance"/>.</summary>
public sealed record PostgresOptions
{
    /// <summary>
    /// Flush to disk on commit (<c>fsync</c>). Off by default: tests need speed, and a crash of the whole machine does
    /// not matter to a throw-away cluster. Benchmarks turn it on to measure what production pays.
    /// </summary>
    public bool Fsync { get; init; }

    /// <summary>
    /// TCP logins need a password (<c>scram-sha-256</c>) instead of being trusted; the superuser's password is
    /// <see cref="PostgresInstance.SuperUserPassword"/>. The unix socket (used by <see cref="PostgresInstance.PsqlAsync"/>)
    /// stays trusted.
    /// </summary>
    public bool PasswordAuthentication { get; init; }

    /// <summary>The server's <c>max_connections</c>.</summary>
    public int MaxConnections { get; init; } = 300;

    /// <summary>How long initdb and start-up may take.</summary>
    public TimeSpan StartTimeout { get; init; } = TimeSpan.FromSeconds(60);
}

/// <summary>
/// A private PostgreSQL cluster from the installed server binaries (found with <c>pg_config --bindir</c> or under
/// <c>/usr/lib/postgresql/*/bin</c>): initdb into a temp folder, listening on 127.0.0.1 at a free port with its unix
/// socket in that folder. As root (initdb refuses to run as root) every server command runs as the <c>postgres</c>
/// user through <c>runuser</c> and the folder is given to that user. Dispose stops the server and deletes the folder.
/// A watchdog process stops the server when this process ends however it ends (its stdin, a pipe from this process,
/// closes), and an orderly exit stops every running instance too.
/// </summary>
public sealed class PostgresInstance : IAsyncDisposable
{
    /// <summary>The superuser created by initdb.</summary>
    public const string SuperUser = "postgres";

    private static readonly ConcurrentDictionary<PostgresInstance, byte> Running = new();
    private static int _exitHookRegistered;

    private readonly PostgresOptions _options;
    private readonly string _binDirectory;
    private readonly bool _asPostgresUser;
    private Process? _watchdog;
    private int _disposed;

    private PostgresInstance(PostgresOptions options, string binDirectory, bool asPostgresUser, string folder, int port)
    {
        _options = options;
        _binDirectory = binDirectory;
        _asPostgresUser = asPostgresUser;
        Folder = folder;
        Port = port;
    }

    /// <summary>The temp folder holding the data directory, the socket and the server log.</summary>
    public string Folder { get; }

    /// <summary>The data directory.</summary>
    public string DataDirectory => Path.Combine(Folder, "data");

    /// <summary>The TCP port on 127.0.0.1.</summary>
    public int Port { get; }

    /// <summary>The superuser's password (only needed with <see cref="PostgresOptions.PasswordAuthentication"/>).</summary>
    public string SuperUserPassword { get; } = "pw-" + Guid.NewGuid().ToString("N");

    /// <summary>Whether the server is running (as far as this object started and stopped it).</summary>
    public bool IsRunning { get; private set; }

    /// <summary>The server's log so far, for diagnosing a failing test.</summary>
    public string Log
    {
        get
        {
            try
            {
                var path = Path.Combine(Folder, "postgres.log");
                using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
                using var reader = new StreamReader(stream);
                var text = reader.ReadToEnd();
                return text.Length > 16_384 ? text[^16_384..] : text;
            }
            catch (IOException)
            {
                return string.Empty;
            }
        }
    }

    /// <summary>An Npgsql connection string over TCP to <paramref name="database"/>.</summary>
    public string ConnectionString(string database = "postgres", string user = SuperUser, string? password = null)
    {
        var text = $"Host=127.0.0.1;Port={Port.ToString(CultureInfo.InvariantCulture)};Database={database};Username={user}";
        password ??= user == SuperUser && _options.PasswordAuthentication ? SuperUserPassword : null;
        return password is null ? text : $"{text};Password={password}";
    }

    /// <summary>Creates a cluster and starts it.</summary>
    /// <exception cref="InvalidOperationException">The binaries are missing (the message says how to install them) or the server did not start (with its log).</exception>
    public static async Task<PostgresInstance> StartAsync(PostgresOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new PostgresOptions();
        var bin = FindBinDirectory();
        var asPostgres = Environment.UserName == "root";
        var folder = Directory.CreateTempSubdirectory("fleet-pg-").FullName;
        var instance = new PostgresInstance(options, bin, asPostgres, folder, FreePort.Next());
        try
        {
            if (asPostgres)
            {
                await RunAsync("chown", ["postgres:postgres", folder], cancellationToken);
            }

            var initdb = new List<string> { "-D", instance.DataDirectory, "-U", SuperUser, "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions" };
            if (options.PasswordAuthentication)
            {
                var passwordFile = Path.Combine(folder, "pwfile");
                await File.WriteAllTextAsync(passwordFile, instance.SuperUserPassword, cancellationToken);
                if (asPostgres)
                {
                    await RunAsync("chown", ["postgres:postgres", passwordFile], cancellationToken);
                }

                initdb.AddRange(["--auth-local=trust", "--auth-host=scram-sha-256", "--pwfile", passwordFile]);
            }
            else
            {
                initdb.AddRange(["--auth=trust"]);
            }

            await instance.RunServerToolAsync("initdb", initdb, cancellationToken);
            var settings = new StringBuilder()
                .AppendLine(CultureInfo.InvariantCulture, $"port = {instance.Port}")
                .AppendLine("listen_addresses = '127.0.0.1'")
                .AppendLine(CultureInfo.InvariantCulture, $"unix_socket_directories = '{folder}'")
                .AppendLine(CultureInfo.InvariantCulture, $"max_connections = {options.MaxConnections}")
                .AppendLine(CultureInfo.InvariantCulture, $"fsync = {(options.Fsync ? "on" : "off")}")
                .AppendLine(CultureInfo.InvariantCulture, $"full_page_writes = {(options.Fsync ? "on" : "off")}")
                .AppendLine("shared_buffers = 128MB")
                .AppendLine("log_min_messages = warning")
                .AppendLine("log_line_prefix = '%m [%p] '");
            await File.AppendAllTextAsync(Path.Combine(instance.DataDirectory, "postgresql.conf"), settings.ToString(), cancellationToken);
            await instance.StartServerAsync(cancellationToken);
            return instance;
        }
        catch
        {
            await instance.DisposeAsync();
            throw;
        }
    }

    /// <summary>Starts the server again after <see cref="StopAsync"/> or <see cref="KillAsync"/> (same port and data).</summary>
    public Task StartServerAsync(CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed != 0, this);
        return StartCoreAsync(cancellationToken);
    }

    /// <summary>Stops the server: <c>fast</c> (disconnects clients, clean shutdown) or <c>immediate</c> (like a crash).</summary>
    public async Task StopAsync(string mode = "fast", CancellationToken cancellationToken = default)
    {
        if (!IsRunning)
        {
            return;
        }

        await RunServerToolAsync("pg_ctl", ["-D", DataDirectory, "-m", mode, "-w", "-t", "60", "stop"], cancellationToken);
        IsRunning = false;
        await StopWatchdogAsync();
    }

    /// <summary>Kills the postmaster with SIGKILL (a hard crash) and waits until its backends have noticed and exited.</summary>
    public async Task KillAsync()
    {
        if (!IsRunning)
        {
            return;
        }

        if (PostmasterProcessId() is { } pid)
        {
            var children = (await RunAsync("pgrep", ["-P", pid.ToString(CultureInfo.InvariantCulture)], CancellationToken.None, allowFailure: true))
                .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(p => int.TryParse(p, out var child) ? child : 0)
                .Where(p => p > 0)
                .ToList();
            try
            {
                using var postmaster = Process.GetProcessById(pid);
                postmaster.Kill();
                using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(10));
                await postmaster.WaitForExitAsync(wait.Token);
            }
            catch (ArgumentException)
            {
                // Already gone.
            }

            // The data directory can be started again once no backend is attached to the old shared memory.
            var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
            while (children.Exists(p => Directory.Exists($"/proc/{p}")) && DateTime.UtcNow < deadline)
            {
                await Task.Delay(50);
            }
        }

        IsRunning = false;
        await StopWatchdogAsync();
    }

    /// <summary>Runs SQL with psql as the superuser over the unix socket; returns the unaligned, tuples-only output.</summary>
    /// <exception cref="InvalidOperationException">psql failed; the message holds its error output.</exception>
    public Task<string> PsqlAsync(string sql, string database = "postgres", CancellationToken cancellationToken = default) =>
        RunServerToolAsync("psql", ["-h", Folder, "-p", Port.ToString(CultureInfo.InvariantCulture), "-U", SuperUser, "-d", database, "-v", "ON_ERROR_STOP=1", "-X", "-At", "-c", sql], cancellationToken);

    /// <summary>Creates a database.</summary>
    public Task CreateDatabaseAsync(string name, CancellationToken cancellationToken = default) =>
        PsqlAsync($"CREATE DATABASE \"{name.Replace("\"", "\"\"", StringComparison.Ordinal)}\"", cancellationToken: cancellationToken);

    /// <summary>Stops the server and deletes the folder.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        Running.TryRemove(this, out _);
        try
        {
            if (IsRunning)
            {
                using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
                await RunServerToolAsync("pg_ctl", ["-D", DataDirectory, "-m", "immediate", "-w", "stop"], timeout.Token);
                IsRunning = false;
            }
        }
        catch (Exception) when (PostmasterProcessId() is { } pid)
        {
            // pg_ctl failed: make sure nothing is left running.
            TryKill(pid);
        }
        finally
        {
            await StopWatchdogAsync();
            TryDelete(Folder);
        }
    }

    private static string FindBinDirectory()
    {
        var candidates = new List<string>();
        try
        {
            var info = new ProcessStartInfo("pg_config", "--bindir") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
            using var process = Process.Start(info)!;
            var output = process.StandardOutput.ReadToEnd().Trim();
            process.WaitForExit(10_000);
            if (process.ExitCode == 0 && output.Length > 0)
            {
                candidates.Add(output);
            }
        }
        catch (Win32Exception)
        {
            // pg_config is not installed; look in the usual places.
        }

        if (Directory.Exists("/usr/lib/postgresql"))
        {
            candidates.AddRange(Directory.GetDirectories("/usr/lib/postgresql")
                .OrderByDescending(d => int.TryParse(Path.GetFileName(d), out var version) ? version : 0)
                .Select(d => Path.Combine(d, "bin")));
        }

        candidates.AddRange((Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(':', StringSplitOptions.RemoveEmptyEntries));
        return candidates.FirstOrDefault(d => File.Exists(Path.Combine(d, "initdb")) && File.Exists(Path.Combine(d, "pg_ctl")))
            ?? throw new InvalidOperationException(
                "PostgreSQL server binaries (initdb, pg_ctl) were not found via pg_config --bindir, /usr/lib/postgresql/*/bin or PATH: install the 'postgresql' package (./test tries apt-get install postgresql).");
    }

    private async Task StartCoreAsync(CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.StartTimeout);
        try
        {
            await RunServerToolAsync(
                "pg_ctl",
                ["-D", DataDirectory, "-l", Path.Combine(Folder, "postgres.log"), "-w", "-t", ((int)_options.StartTimeout.TotalSeconds).ToString(CultureInfo.InvariantCulture), "start"],
                timeout.Token);
        }
        catch (InvalidOperationException ex)
        {
            throw new InvalidOperationException($"{ex.Message}\nServer log:\n{Log}", ex);
        }

        IsRunning = true;
        StartWatchdog();
        Register(this);
    }

    /// <summary>
    /// A process that waits for its stdin (a pipe from this process) to close, then stops the server: when this
    /// process exits or is killed, the server does not outlive it.
    /// </summary>
    private void StartWatchdog()
    {
        var pgCtl = Path.Combine(_binDirectory, "pg_ctl");
        var arguments = new List<string> { "-c", "cat >/dev/null; exec \"$0\" -D \"$1\" -m immediate -w stop >/dev/null 2>&1", pgCtl, DataDirectory };
        var info = _asPostgresUser ? new ProcessStartInfo("runuser") : new ProcessStartInfo("sh");
        if (_asPostgresUser)
        {
            foreach (var argument in new[] { "-u", "postgres", "--", "sh" })
            {
                info.ArgumentList.Add(argument);
            }
        }

        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        info.RedirectStandardInput = true;
        info.UseShellExecute = false;
        _watchdog = Process.Start(info);
    }

    private async Task StopWatchdogAsync()
    {
        if (_watchdog is not { } watchdog)
        {
            return;
        }

        _watchdog = null;
        try
        {
            watchdog.StandardInput.Close();
            using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await watchdog.WaitForExitAsync(wait.Token);
        }
        catch (Exception ex) when (ex is InvalidOperationException or OperationCanceledException or IOException)
        {
            TryKill(watchdog);
        }
        finally
        {
            watchdog.Dispose();
        }
    }

    private int? PostmasterProcessId()
    {
        try
        {
            var first = File.ReadLines(Path.Combine(DataDirectory, "postmaster.pid")).FirstOrDefault();
            return int.TryParse(first, out var pid) ? pid : null;
        }
        catch (IOException)
        {
            return null;
        }
        catch (UnauthorizedAccessException)
        {
            return null;
        }
    }

    private Task<string> RunServerToolAsync(string tool, IReadOnlyList<string> arguments, CancellationToken cancellationToken)
    {
        var path = Path.Combine(_binDirectory, tool);
        return _asPostgresUser
            ? RunAsync("runuser", ["-u", "postgres", "--", path, .. arguments], cancellationToken)
            : RunAsync(path, arguments, cancellationToken);
    }

    private static async Task<string> RunAsync(string file, IReadOnlyList<string> arguments, CancellationToken cancellationToken, bool allowFailure = false)
    {
        var info = new ProcessStartInfo(file)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = Path.GetTempPath(),
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        using var process = Process.Start(info) ?? throw new InvalidOperationException($"Could not start {file}.");
        var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var error = process.StandardError.ReadToEndAsync(cancellationToken);
        try
        {
            await process.WaitForExitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            TryKill(process);
            throw;
        }

        if (process.ExitCode != 0 && !allowFailure)
        {
            throw new InvalidOperationException($"{Path.GetFileName(file)} {string.Join(' ', arguments)} exited with {process.ExitCode}: {await error}");
        }

        return await output;
    }

    private static void Register(PostgresInstance instance)
    {
        Running[instance] = 0;
        if (Interlocked.Exchange(ref _exitHookRegistered, 1) == 0)
        {
            // An orderly exit that skipped DisposeAsync (a fixture that failed half-way) still stops every server.
            AppDomain.CurrentDomain.ProcessExit += (_, _) =>
            {
                foreach (var running in Running.Keys)
                {
                    if (running.PostmasterProcessId() is { } pid)
                    {
                        TryKill(pid);
                    }
                }
            };
        }
    }

    /// <summary>SIGQUIT: the postmaster's immediate shutdown, which also ends its backends.</summary>
    private static void TryKill(int pid)
    {
        try
        {
            using var kill = Process.Start(new ProcessStartInfo("kill", ["-QUIT", pid.ToString(CultureInfo.InvariantCulture)]) { UseShellExecute = false });
            kill?.WaitForExit(5_000);
        }
        catch (Win32Exception)
        {
            // No kill command: the watchdog still stops the server when this process ends.
        }
    }

    private static void TryKill(Process process)
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
        catch (Exception ex) when (ex is InvalidOperationException or Win32Exception)
        {
            // Already gone.
        }
    }

    private static void TryDelete(string folder)
    {
        try
        {
            Directory.Delete(folder, recursive: true);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // A temp folder left behind is harmless.
        }
    }
}
