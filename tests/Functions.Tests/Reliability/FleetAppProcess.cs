using System.Collections.Concurrent;
using System.Diagnostics;
using System.Reflection;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.DurableTask.Client;
using Fleet.Functions.Provisioning;
using Fleet.Testing;

namespace Fleet.Functions.Tests.Reliability;

/// <summary>
/// The app as operators run it locally: <c>./host start --script-root</c> the app's build output, as a child process
/// with its settings in the environment (the host hands them to the worker process it starts), started until its
/// <c>Listening on</c> line names the HTTP address. The last lines of its output (the host's and the worker's) are kept
/// for failure messages.
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

    /// <summary>The local host's own build output (what <c>./host</c> runs), built with the tests through their project reference.</summary>
    private static string HostDll => RepoPaths.Combine("src", "Hosting", "bin",
        typeof(FleetAppProcess).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()!.Configuration, "net10.0", "Fleet.Hosting.dll");

    /// <summary>
    /// Starts the host on the app; settings keys use <c>:</c> or <c>__</c> and become environment variables (a null one
    /// removes a variable the child would inherit).
    /// </summary>
    public static async Task<FleetAppProcess> StartAsync(IReadOnlyDictionary<string, string?> settings, TimeSpan timeout)
    {
        var start = new ProcessStartInfo("dotnet", [HostDll, "start", "--script-root", TestFleetApp.ScriptRoot, "--port", "0"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = TestFleetApp.ScriptRoot,
        };
        foreach (var (key, value) in settings)
        {
            var name = key.Replace(":", "__", StringComparison.Ordinal);
            if (value is null)
            {
                start.Environment.Remove(name);
            }
            else
            {
                start.Environment[name] = value;
            }
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

    /// <summary>Polls the instance's status (the management API of this process) until <paramref name="condition"/> holds.</summary>
    public async Task<JsonElement> WaitForStatusAsync(CheckStatusPayload payload, Func<JsonElement, bool> condition, int seconds = 30)
    {
        var token = TestFleetApp.Timeout(seconds);
        var last = string.Empty;
        while (true)
        {
            try
            {
                // The payload names the port of the process that answered it; ask this one.
                last = await Http.GetStringAsync(new Uri(payload.StatusQueryGetUri).PathAndQuery, token);
                using var document = JsonDocument.Parse(last);
                if (document.RootElement.TryGetProperty("customStatus", out var custom) && custom.ValueKind == JsonValueKind.Object
                    && condition(document.RootElement))
                {
                    return document.RootElement.Clone();
                }

                await Task.Delay(50, token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"Timed out; last status {last}\n" + OutputTail(40));
            }
        }
    }

    /// <summary>SIGKILL to the host and the worker it started: no shutdown, no lease release, nothing flushed beyond what was committed.</summary>
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

    [GeneratedRegex(@"Listening on (?<address>http://\S+/);")]
    private static partial Regex HostStarted();
}
