using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using System.Text.RegularExpressions;
using Fleet.Durable.Client;
using Fleet.Functions.Provisioning;

namespace Fleet.Functions.Tests.Reliability;

/// <summary>
/// <c>dotnet Fleet.Functions.dll</c> as a child process with its settings in the environment (as operators run it),
/// started until its <c>HostStarted</c> line names the HTTP address. The last lines of its output are kept for
/// failure messages.
/// </summary>
internal sealed partial class FleetAppProcess : IDisposable
{
    private const int KeptLines = 400;
    private readonly Process _process;
    private readonly ConcurrentQueue<string> _output = new();

    private FleetAppProcess(Process process) => _process = process;

    public HttpClient Http { get; private set; } = null!;

    public int ProcessId => _process.Id;

    /// <summary>The last lines the app wrote.</summary>
    public string OutputTail(int lines = 60) => string.Join("\n", _output.TakeLast(lines));

    /// <summary>Starts the app; settings keys use <c>:</c> or <c>__</c> and become environment variables.</summary>
    public static async Task<FleetAppProcess> StartAsync(IReadOnlyDictionary<string, string?> settings, TimeSpan timeout)
    {
        var start = new ProcessStartInfo("dotnet", [Path.Combine(AppContext.BaseDirectory, "Fleet.Functions.dll")])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = settings["AzureWebJobsScriptRoot"]!,
        };
        foreach (var (key, value) in settings)
        {
            start.Environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;
        }

        var app = new FleetAppProcess(Process.Start(start)!);
        var started = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
        app._process.OutputDataReceived += (_, e) =>
        {
            if (e.Data is null)
            {
                return;
            }

            app.Keep(e.Data);
            if (HostStarted().Match(e.Data) is { Success: true } match)
            {
                started.TrySetResult(new Uri(match.Groups["address"].Value));
            }
        };
        app._process.ErrorDataReceived += (_, e) => app.Keep(e.Data ?? string.Empty);
        app._process.BeginOutputReadLine();
        app._process.BeginErrorReadLine();
        try
        {
            var address = await started.Task.WaitAsync(timeout);
            app.Http = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(30) };
            app.Http.DefaultRequestHeaders.Add("x-functions-key", TestFleetApp.MasterKey);
            return app;
        }
        catch (TimeoutException)
        {
            var tail = app.OutputTail();
            app.Dispose();
            throw new TimeoutException("The app did not start:\n" + tail);
        }
    }

    /// <summary>Counts the provisioning instances per runtime status through the Durable management API.</summary>
    public async Task<Dictionary<OrchestrationRuntimeStatus, int>> CountProvisioningsAsync(CancellationToken cancellationToken)
    {
        var counts = new Dictionary<OrchestrationRuntimeStatus, int>();
        string? continuation = null;
        do
        {
            using var request = new HttpRequestMessage(HttpMethod.Get,
                $"runtime/webhooks/durabletask/instances?instanceIdPrefix={ProvisioningStarter.InstancePrefix}&top=1000");
            if (continuation is not null)
            {
                request.Headers.Add("x-ms-continuation-token", continuation);
            }

            using var response = await Http.SendAsync(request, cancellationToken);
            response.EnsureSuccessStatusCode();
            using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync(cancellationToken));
            foreach (var instance in body.RootElement.EnumerateArray())
            {
                var status = Enum.Parse<OrchestrationRuntimeStatus>(instance.GetProperty("runtimeStatus").GetString()!);
                counts[status] = counts.GetValueOrDefault(status) + 1;
            }

            continuation = response.Headers.TryGetValues("x-ms-continuation-token", out var values) ? values.FirstOrDefault() : null;
        }
        while (continuation is not null);

        return counts;
    }

    /// <summary>SIGKILL: no shutdown, no lease release, nothing flushed beyond what was committed.</summary>
    public void Kill()
    {
        _process.Kill(entireProcessTree: true);
        _process.WaitForExit(10_000);
    }

    public void Dispose()
    {
        Http?.Dispose();
        if (!_process.HasExited)
        {
            Kill();
        }

        _process.Dispose();
    }

    private void Keep(string line)
    {
        _output.Enqueue(line);
        while (_output.Count > KeptLines && _output.TryDequeue(out _))
        {
        }
    }

    [GeneratedRegex(@"HTTP on (?<address>http://\S+/)")]
    private static partial Regex HostStarted();
}
