using System.Collections.Concurrent;
using System.ComponentModel;
using System.Diagnostics;
using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.RegularExpressions;

namespace Fleet.Testing;

/// <summary>How to start an <see cref="AzuriteInstance"/>.</summary>
public sealed record AzuriteOptions
{
    /// <summary>Serve HTTPS with a fresh self-signed certificate for 127.0.0.1 (see <see cref="AzuriteInstance.ServerCertificate"/>).</summary>
    public bool UseHttps { get; init; }

    /// <summary>Accept bearer tokens (Azurite's <c>--oauth basic</c>: claims checked, signature not); needs <see cref="UseHttps"/>.</summary>
    public bool OAuth { get; init; }

    /// <summary>
    /// Accept any x-ms-version (Azurite's <c>--skipApiVersionCheck</c>): for clients one cannot configure, such as the
    /// SDK inside a function app's worker, whose default version is newer than this Azurite knows.
    /// </summary>
    public bool SkipApiVersionCheck { get; init; }

    /// <summary>How long to wait for Azurite to report its ports.</summary>
    public TimeSpan StartTimeout { get; init; } = TimeSpan.FromSeconds(60);
}

/// <summary>
/// A private Azurite (from the repository's node_modules, pinned in package.json) on free loopback ports with
/// in-memory storage. Azurite refuses --location with --inMemoryPersistence, so the temp folder is only its working
/// directory (it holds the watchdog script and certificates). Dispose to stop it; it also stops when the test
/// process exits or is killed, because it watches its stdin, which closes when this process dies.
/// </summary>
public sealed partial class AzuriteInstance : IAsyncDisposable
{
    /// <summary>The emulator's well-known account.</summary>
    public const string AccountName = "devstoreaccount1";

    /// <summary>The emulator's published account key (not a secret).</summary>
    public const string AccountKey =
        "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    // Exits node when our end of its stdin closes, i.e. when this test process ends however it ends.
    private const string Watchdog =
        "process.stdin.on('data', () => {});" +
        "process.stdin.on('end', () => process.exit(0));" +
        "process.stdin.on('error', () => process.exit(0));" +
        "process.stdin.resume();";

    private static readonly ConcurrentDictionary<AzuriteInstance, byte> Running = new();
    private static int _exitHookRegistered;

    private readonly Process _process;
    private readonly string _folder;
    private readonly StringBuilder _output;
    private int _disposed;

    private AzuriteInstance(Process process, string folder, StringBuilder output, Uri blob, Uri queue, Uri table, X509Certificate2? certificate)
    {
        _process = process;
        _folder = folder;
        _output = output;
        BlobEndpoint = blob;
        QueueEndpoint = queue;
        TableEndpoint = table;
        ServerCertificate = certificate;
    }

    /// <summary>The Blob endpoint, path-style with the account: <c>http://127.0.0.1:port/devstoreaccount1</c>.</summary>
    public Uri BlobEndpoint { get; }

    /// <summary>The Queue endpoint, path-style with the account.</summary>
    public Uri QueueEndpoint { get; }

    /// <summary>The Table endpoint, path-style with the account.</summary>
    public Uri TableEndpoint { get; }

    /// <summary>The self-signed server certificate when started with HTTPS; clients must trust exactly this one.</summary>
    public X509Certificate2? ServerCertificate { get; }

    /// <summary>A connection string with explicit endpoints and the well-known account and key.</summary>
    public string ConnectionString =>
        $"DefaultEndpointsProtocol={BlobEndpoint.Scheme};AccountName={AccountName};AccountKey={AccountKey};" +
        $"BlobEndpoint={BlobEndpoint};QueueEndpoint={QueueEndpoint};TableEndpoint={TableEndpoint};";

    /// <summary>Azurite's output so far, for diagnosing a failing test.</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>Starts Azurite and waits until all three services listen.</summary>
    /// <exception cref="InvalidOperationException">Azurite is not installed (run <c>npm ci</c> or <c>./test</c>), node is
    /// missing, or Azurite did not start; the message says which.</exception>
    public static async Task<AzuriteInstance> StartAsync(AzuriteOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new AzuriteOptions();
        if (options.OAuth && !options.UseHttps)
        {
            throw new ArgumentException("Azurite accepts OAuth only over HTTPS: set UseHttps too.", nameof(options));
        }

        var azurite = RepoPaths.Combine("node_modules", ".bin", "azurite");
        if (!File.Exists(azurite))
        {
            throw new InvalidOperationException(
                $"Azurite is not installed at {azurite}: run `npm ci` in {RepoPaths.Root} (./test does this on a fresh machine).");
        }

        var folder = Directory.CreateTempSubdirectory("azurite-").FullName;
        var watchdog = Path.Combine(folder, "watchdog.cjs");
        await File.WriteAllTextAsync(watchdog, Watchdog, cancellationToken);

        var info = new ProcessStartInfo("node")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = folder,
        };
        foreach (var argument in new[]
        {
            "--require", watchdog, azurite, "--silent", "--inMemoryPersistence",
            "--blobHost", "127.0.0.1", "--queueHost", "127.0.0.1", "--tableHost", "127.0.0.1",
            "--blobPort", "0", "--queuePort", "0", "--tablePort", "0",
        })
        {
            info.ArgumentList.Add(argument);
        }

        X509Certificate2? certificate = null;
        if (options.UseHttps)
        {
            certificate = CreateCertificate(folder);
            info.ArgumentList.Add("--cert");
            info.ArgumentList.Add(Path.Combine(folder, "cert.pem"));
            info.ArgumentList.Add("--key");
            info.ArgumentList.Add(Path.Combine(folder, "key.pem"));
        }

        if (options.SkipApiVersionCheck)
        {
            info.ArgumentList.Add("--skipApiVersionCheck");
        }

        if (options.OAuth)
        {
            info.ArgumentList.Add("--oauth");
            info.ArgumentList.Add("basic");
        }

        var output = new StringBuilder();
        var endpoints = new ConcurrentDictionary<string, Uri>(StringComparer.OrdinalIgnoreCase);
        var ready = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        process.OutputDataReceived += (_, e) => OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => OnLine(e.Data);
        process.Exited += (_, _) => ready.TrySetException(new InvalidOperationException(
            $"Azurite exited during start-up (exit code {SafeExitCode(process)}). Output:\n{Snapshot(output)}"));

        try
        {
            process.Start();
        }
        catch (Win32Exception ex)
        {
            TryDelete(folder);
            throw new InvalidOperationException("Could not start node: install Node.js 20 and put it on PATH.", ex);
        }

        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var instance = default(AzuriteInstance);
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(options.StartTimeout);
            try
            {
                await ready.Task.WaitAsync(timeout.Token);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new InvalidOperationException(
                    $"Azurite did not report its ports within {options.StartTimeout.TotalSeconds:0} s. Output:\n{Snapshot(output)}");
            }

            instance = new AzuriteInstance(
                process, folder, output, WithAccount(endpoints["Blob"]), WithAccount(endpoints["Queue"]),
                WithAccount(endpoints["Table"]), certificate);
            Register(instance);
            return instance;
        }
        finally
        {
            if (instance is null)
            {
                Kill(process);
                process.Dispose();
                certificate?.Dispose();
                TryDelete(folder);
            }
        }

        void OnLine(string? line)
        {
            if (line is null)
            {
                return;
            }

            lock (output)
            {
                // Bounded: a long test run must not grow this without end.
                if (output.Length < 64 * 1024)
                {
                    output.AppendLine(line);
                }
            }

            var match = ListeningLine().Match(line);
            if (match.Success)
            {
                endpoints[match.Groups["service"].Value] = new Uri(match.Groups["url"].Value);
                if (endpoints.ContainsKey("Blob") && endpoints.ContainsKey("Queue") && endpoints.ContainsKey("Table"))
                {
                    ready.TrySetResult();
                }
            }
        }
    }

    /// <summary>Stops Azurite (its whole process tree) and removes its folder.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        Running.TryRemove(this, out _);
        Kill(_process);
        using (var wait = new CancellationTokenSource(TimeSpan.FromSeconds(10)))
        {
            try
            {
                await _process.WaitForExitAsync(wait.Token);
            }
            catch (OperationCanceledException)
            {
                // Killed but slow to be reaped; the OS finishes it.
            }
        }

        _process.Dispose();
        ServerCertificate?.Dispose();
        TryDelete(_folder);
    }

    private static void Register(AzuriteInstance instance)
    {
        Running[instance] = 0;
        if (Interlocked.Exchange(ref _exitHookRegistered, 1) == 0)
        {
            // An orderly exit that skipped DisposeAsync (a fixture that failed half-way) still stops every instance.
            AppDomain.CurrentDomain.ProcessExit += (_, _) =>
            {
                foreach (var running in Running.Keys)
                {
                    Kill(running._process);
                }
            };
        }
    }

    private static Uri WithAccount(Uri listening) => new($"{listening.Scheme}://{listening.Authority}/{AccountName}");

    private static X509Certificate2 CreateCertificate(string folder)
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=127.0.0.1", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        names.AddDnsName("localhost");
        request.CertificateExtensions.Add(names.Build());
        var now = DateTimeOffset.UtcNow;
        var certificate = request.CreateSelfSigned(now.AddMinutes(-5), now.AddDays(1));
        File.WriteAllText(Path.Combine(folder, "cert.pem"), certificate.ExportCertificatePem());
        File.WriteAllText(Path.Combine(folder, "key.pem"), key.ExportPkcs8PrivateKeyPem());
        return certificate;
    }

    private static void Kill(Process process)
    {
        try
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
        catch (Win32Exception)
        {
            // Already gone, or exiting.
        }
    }

    private static string SafeExitCode(Process process)
    {
        try
        {
            return process.ExitCode.ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
        catch (InvalidOperationException)
        {
            return "unknown";
        }
    }

    private static string Snapshot(StringBuilder output)
    {
        lock (output)
        {
            return output.ToString();
        }
    }

    private static void TryDelete(string folder)
    {
        try
        {
            Directory.Delete(folder, recursive: true);
        }
        catch (IOException)
        {
            // A temp folder left behind is harmless.
        }
        catch (UnauthorizedAccessException)
        {
            // As above.
        }
    }

    [GeneratedRegex(@"Azurite (?<service>Blob|Queue|Table) service is successfully listening at (?<url>https?://\S+)")]
    private static partial Regex ListeningLine();
}
