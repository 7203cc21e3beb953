using System.Diagnostics;
using Fleet.Hosting.Local;

namespace Fleet.Hosting.Tests.Local;

/// <summary>Bad input at start-up: one clear error naming the cause and the file or setting; no process left behind.</summary>
public sealed class StartupFailureTests
{
    private static readonly string[] Fake = ["fleet-host-tests"];

    [Fact]
    public async Task A_folder_without_worker_config_is_refused_naming_the_file()
    {
        var root = Directory.CreateTempSubdirectory("fleet-host-empty-").FullName;
        File.WriteAllText(Path.Combine(root, "host.json"), """{"version":"2.0"}""");
        var error = await Assert.ThrowsAsync<HostStartupException>(() => StartAsync(root));
        Assert.Contains("worker.config.json was not found", error.Message, StringComparison.Ordinal);
        TestApps.Delete(root);
    }

    [Fact]
    public async Task A_missing_app_assembly_is_refused_naming_it()
    {
        var root = TestApps.Copy("HttpApp", r => File.Delete(Path.Combine(r, "HttpApp.dll")));
        var error = await Assert.ThrowsAsync<HostStartupException>(() => StartAsync(root));
        Assert.Contains("HttpApp.dll", error.Message, StringComparison.Ordinal);
        Assert.Contains("defaultWorkerPath", error.Message, StringComparison.Ordinal);
        TestApps.Delete(root);
    }

    [Fact]
    public async Task A_missing_executable_is_refused_naming_the_setting()
    {
        var root = FakeWorker("dotnet-that-is-not-installed", "HttpApp.dll", script: null);
        var error = await Assert.ThrowsAsync<HostStartupException>(() => StartAsync(root));
        Assert.Contains("'dotnet-that-is-not-installed' (description.defaultExecutablePath", error.Message, StringComparison.Ordinal);
        TestApps.Delete(root);
    }

    [Fact]
    public async Task A_worker_that_crashes_at_start_up_is_reported_with_its_exit_code_and_output()
    {
        var root = FakeWorker("/bin/sh", "crash.sh", "echo 'Unhandled exception: config broken' >&2\nexit 7\n");
        var error = await Assert.ThrowsAsync<HostStartupException>(() => StartAsync(root));
        Assert.Contains("exited with code 7 during start-up", error.Message, StringComparison.Ordinal);
        Assert.Contains("Unhandled exception: config broken", error.Message, StringComparison.Ordinal);
        TestApps.Delete(root);
    }

    [Fact]
    public async Task A_worker_that_never_connects_times_out_naming_the_setting_and_is_killed()
    {
        var root = FakeWorker("/bin/sh", "hang.sh", "echo $$ > worker.pid\nexec sleep 120\n");
        TestApps.EditLocalSettings(root, "Host", new Dictionary<string, string?> { ["WorkerStartupTimeout"] = "00:00:02" });
        var error = await Assert.ThrowsAsync<HostStartupException>(() => StartAsync(root));
        Assert.Contains("did not complete connect within 2 s (setting Host:WorkerStartupTimeout)", error.Message, StringComparison.Ordinal);

        var pid = int.Parse(File.ReadAllText(Path.Combine(root, "worker.pid")).Trim());
        Assert.Throws<ArgumentException>(() => Process.GetProcessById(pid));
        TestApps.Delete(root);
    }

    [Theory]
    [InlineData("""{"version":"2.0","functionTimeout":"soon"}""", "functionTimeout")]
    [InlineData("""{"version":"2.0","extensions":{"http":{"routePrefix":"a{b}"}}}""", "extensions.http.routePrefix")]
    [InlineData("""{"version":"2.0","extensions":{"queues":{"bogus":1}}}""", "extensions.queues.bogus")]
    [InlineData("""{"version":"2.0",""", "host.json")]
    public async Task A_malformed_host_json_stops_start_up_naming_the_key(string hostJson, string setting)
    {
        var root = TestApps.Copy("HttpApp", r => File.WriteAllText(Path.Combine(r, "host.json"), hostJson));
        var error = await Assert.ThrowsAsync<HostConfigurationException>(() => StartAsync(root));
        Assert.Equal(setting, error.Setting);
        TestApps.Delete(root);
    }

    [Theory]
    [InlineData("""{"Values":{"Nested":{"a":1}}}""", "local.settings.json:Values:Nested")]
    [InlineData("""{"Host":{"LocalHttpPorts":"1"}}""", "local.settings.json:Host:LocalHttpPorts")]
    [InlineData("""{"Values":{"WEBSITE_TIME_ZONE":"Mars/Olympus_Mons"}}""", "WEBSITE_TIME_ZONE")]
    [InlineData("""{"Host":{"WorkerStartupTimeout":"forever"}}""", "Host:WorkerStartupTimeout")]
    [InlineData("""{"Values":{"FunctionKeys__Master":"short"}}""", "FunctionKeys:Master")]
    public async Task A_malformed_local_settings_json_stops_start_up_naming_the_key(string localSettings, string setting)
    {
        var root = TestApps.Copy("HttpApp", r => File.WriteAllText(Path.Combine(r, "local.settings.json"), localSettings));
        var error = await Assert.ThrowsAsync<HostConfigurationException>(() => StartAsync(root));
        Assert.Equal(setting, error.Setting);
        TestApps.Delete(root);
    }

    private static async Task StartAsync(string root)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var host = await LocalFunctionsHost.StartAsync(new LocalHostOptions { ScriptRoot = root, Port = 0, ConsoleLogs = false, Output = TextWriter.Null }, timeout.Token);
        await host.DisposeAsync();
        Assert.Fail("The host started.");
    }

    /// <summary>An app folder whose worker.config.json starts <paramref name="executable"/> on a script instead of a real worker.</summary>
    private static string FakeWorker(string executable, string workerPath, string? script)
    {
        var root = Directory.CreateTempSubdirectory(Fake[0] + "-fake-").FullName;
        File.WriteAllText(Path.Combine(root, "host.json"), """{"version":"2.0"}""");
        File.WriteAllText(Path.Combine(root, "local.settings.json"), """{"Values":{}}""");
        File.WriteAllText(Path.Combine(root, "worker.config.json"),
            $$$"""{"description":{"language":"dotnet-isolated","extensions":[".dll"],"defaultExecutablePath":"{{{executable}}}","defaultWorkerPath":"{{{workerPath}}}","workerIndexing":"true"}}""");
        File.WriteAllText(Path.Combine(root, workerPath), script ?? "not an assembly");
        return root;
    }
}
