using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Fleet.Functions.Provisioning;
using Fleet.Hosting;
using Fleet.Simulator;

namespace Fleet.Functions.Tests;

/// <summary>
/// The app as operators run it: <c>dotnet Fleet.Functions.dll</c> with settings from the environment and its managed
/// identity's endpoint from local.settings.json. Killed with SIGKILL in the middle of a provisioning and started
/// again, it finishes the provisioning from its durable store.
/// </summary>
[Collection(FleetCollection.Name)]
public sealed partial class AppProcessTests(FleetEnvironment environment)
{
    [Fact]
    public async Task The_app_runs_as_a_process_and_finishes_a_provisioning_after_being_killed()
    {
        await using var simulator = await SimulatorHost.StartAsync(new SimulatorOptions
        {
            Devices = 100, OperationDelayMs = 2000, SigningKey = FleetEnvironment.SigningKey,
        });
        var folder = Directory.CreateTempSubdirectory("fleet-process-").FullName;
        try
        {
            File.Copy(Path.Combine(AppContext.BaseDirectory, "host.json"), Path.Combine(folder, "host.json"));
            var settings = TestFleetApp.DefaultSettings(environment, simulator, folder, "prov-process");
            settings["Host:LocalHttpPort"] = "0";
            settings["AzureFunctionsJobHost:logging:logLevel:default"] = "Information";
            settings["AzureWebJobsScriptRoot"] = folder;

            // The managed identity's endpoint comes only from local.settings.json, as with Core Tools: the host puts
            // Values into its environment, where Azure.Identity reads them (the variables this process has are removed).
            settings["IDENTITY_ENDPOINT"] = null;
            settings["IDENTITY_HEADER"] = null;
            File.WriteAllText(Path.Combine(folder, "local.settings.json"), JsonSerializer.Serialize(new
            {
                IsEncrypted = false,
                Values = new Dictionary<string, string>
                {
                    ["IDENTITY_ENDPOINT"] = environment.Identity.IdentityEndpoint.AbsoluteUri,
                    ["IDENTITY_HEADER"] = environment.Identity.IdentityHeader,
                },
            }));
            var fleet = await simulator.Control.GetFleetAsync();
            var deviceId = fleet.UnclaimedDeviceIds[0];
            var group = fleet.Contoso.GetProduct("Thermostat").GetDeviceGroup("Development");

            HttpManagementPayload payload;
            using (var first = await AppProcess.StartAsync(settings))
            {
                var response = await first.Http.PostAsJsonAsync("api/provision",
                    new { deviceId, product = "Thermostat", deviceGroup = "Development" }, TestFleetApp.Timeout(30));
                payload = await ProvisioningTests.ReadPayloadAsync(response);
                await first.WaitForStatusAsync(payload, s => s.GetProperty("customStatus").GetProperty("step").GetString() == "WaitForClaim");
                first.Kill();
            }

            using var second = await AppProcess.StartAsync(settings);
            var done = await second.WaitForStatusAsync(payload, s => s.GetProperty("runtimeStatus").GetString() == "Completed", 60);
            Assert.Equal("Done", done.GetProperty("customStatus").GetProperty("step").GetString());
            var view = await simulator.Control.GetDeviceAsync(deviceId);
            Assert.Equal(fleet.Contoso.Id, view.TenantId);
            Assert.Equal(group.Id, view.DeviceGroupId);
            Assert.Equal(ProvisioningStarter.InstanceIdFor(deviceId), payload.Id);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    /// <summary>The app as a child process; its console output is kept for failure messages.</summary>
    private sealed partial class AppProcess : IDisposable
    {
        private readonly Process _process;
        private readonly ConcurrentQueue<string> _output = new();

        private AppProcess(Process process) => _process = process;

        public HttpClient Http { get; private set; } = null!;

        public static async Task<AppProcess> StartAsync(IReadOnlyDictionary<string, string?> settings)
        {
            var start = new ProcessStartInfo("dotnet", [Path.Combine(AppContext.BaseDirectory, "Fleet.Functions.dll")])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                WorkingDirectory = settings["AzureWebJobsScriptRoot"]!,
            };
            foreach (var (key, value) in settings)
            {
                // A null setting removes a variable the child would inherit.
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

            var app = new AppProcess(Process.Start(start)!);
            var started = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
            app._process.OutputDataReceived += (_, e) =>
            {
                if (e.Data is null)
                {
                    return;
                }

                app._output.Enqueue(e.Data);
                if (HostStarted().Match(e.Data) is { Success: true } match)
                {
                    started.TrySetResult(new Uri(match.Groups["address"].Value));
                }
            };
            app._process.ErrorDataReceived += (_, e) => app._output.Enqueue(e.Data ?? string.Empty);
            app._process.BeginOutputReadLine();
            app._process.BeginErrorReadLine();
            try
            {
                var address = await started.Task.WaitAsync(TimeSpan.FromSeconds(60));
                app.Http = new HttpClient { BaseAddress = address, Timeout = TimeSpan.FromSeconds(30) };
                app.Http.DefaultRequestHeaders.Add("x-functions-key", TestFleetApp.MasterKey);
                return app;
            }
            catch (TimeoutException)
            {
                app.Dispose();
                throw new TimeoutException("The app did not start:\n" + string.Join("\n", app._output));
            }
        }

        public async Task<JsonElement> WaitForStatusAsync(HttpManagementPayload payload, Func<JsonElement, bool> condition, int seconds = 30)
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
                    throw new TimeoutException($"Timed out; last status {last}\n" + string.Join("\n", _output.TakeLast(40)));
                }
            }
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

        [GeneratedRegex(@"HTTP on (?<address>http://\S+/)")]
        private static partial Regex HostStarted();
    }
}
