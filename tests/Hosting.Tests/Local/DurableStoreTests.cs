using Fleet.Hosting.Local;
using Fleet.Testing;
using Microsoft.Extensions.Logging;
using Microsoft.DurableTask.Client;
using OrchestrationRuntimeStatus = Microsoft.DurableTask.Client.OrchestrationRuntimeStatus;

namespace Fleet.Hosting.Tests.Local;

/// <summary>DurableApp on a private PostgreSQL cluster, chosen by the local setting (host.json keeps its Azure provider).</summary>
public sealed class DurablePostgresAppFixture : DurableAppFixture, IAsyncLifetime
{
    private PostgresInstance? _postgres;

    public new async Task InitializeAsync()
    {
        _postgres = await PostgresInstance.StartAsync();
        await _postgres.CreateDatabaseAsync("fnhost");
        await base.InitializeAsync();
    }

    public new async Task DisposeAsync()
    {
        await base.DisposeAsync();
        if (_postgres is not null)
        {
            await _postgres.DisposeAsync();
        }
    }

    /// <summary>A connection string to a database of the private cluster.</summary>
    public string PostgresConnectionString(string database) => _postgres!.ConnectionString(database);

    protected override void Edit(string root) =>
        TestApps.EditLocalSettings(root, "Values", new Dictionary<string, string?>
        {
            ["DurableTask__Backend__PostgresConnectionString"] = _postgres!.ConnectionString("fnhost"),
        });
}

/// <summary>Which durable store the local host runs is a local setting, said at start-up; one that cannot be opened stops start-up naming it.</summary>
public sealed class DurableStoreTests(DurablePostgresAppFixture fixture) : IClassFixture<DurablePostgresAppFixture>
{
    [Fact]
    public async Task The_postgres_connection_string_setting_runs_the_functions_on_postgres_and_the_host_says_so()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        var id = await fixture.Durable.ScheduleNewOrchestrationInstanceAsync("Chain", 1, cts.Token);
        var metadata = await fixture.Durable.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true, cts.Token);
        Assert.Equal(OrchestrationRuntimeStatus.Completed, metadata.RuntimeStatus);
        Assert.Equal(4, metadata.ReadOutputAs<int>());

        var selected = Assert.Single(fixture.Logs.Entries, e => e.EventId.Id == 4800);
        Assert.Equal("PostgreSQL", selected.State["Store"]);
        Assert.Equal("DurableTask__Backend__PostgresConnectionString is set", selected.State["Reason"]);
        Assert.Equal("AzureStorage", selected.State["StorageProvider"]);
        Assert.DoesNotContain("Password", selected.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public async Task A_store_that_refuses_the_connection_stops_start_up_naming_the_store()
    {
        var connection = fixture.PostgresConnectionString("no_such_database");
        var root = TestApps.Copy("DurableApp", r => TestApps.EditLocalSettings(r, "Values", new Dictionary<string, string?>
        {
            ["DurableTask__Backend__PostgresConnectionString"] = connection + ";Password=secret-pw",
        }));
        try
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(90));
            var error = await Assert.ThrowsAsync<HostStartupException>(() => LocalFunctionsHost.StartAsync(
                new LocalHostOptions { ScriptRoot = root, Port = 0, Output = TextWriter.Null, ConsoleLogs = false }, cts.Token));
            Assert.StartsWith("The durable store cannot be opened: PostgreSQL at 127.0.0.1:", error.Message, StringComparison.Ordinal);
            Assert.Contains("/no_such_database (DurableTask__Backend__PostgresConnectionString is set)", error.Message, StringComparison.Ordinal);
            Assert.DoesNotContain("secret-pw", error.Message, StringComparison.Ordinal);
        }
        finally
        {
            TestApps.Delete(root);
        }
    }

    [Fact]
    public async Task A_store_that_is_not_reachable_is_reported_at_start_up_with_its_name()
    {
        var port = FreePort.Next();
        var logs = new LogCapture();
        var root = TestApps.Copy("DurableApp", r => TestApps.EditLocalSettings(r, "Values", new Dictionary<string, string?>
        {
            ["DurableTask__Backend__PostgresConnectionString"] = $"Host=127.0.0.1;Port={port};Database=later;Username=u;Password=secret-pw",
        }));
        try
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(90));
            await using var host = await LocalFunctionsHost.StartAsync(
                new LocalHostOptions { ScriptRoot = root, Port = 0, Output = TextWriter.Null, ConsoleLogs = false, ConfigureLogging = l => l.AddProvider(logs) }, cts.Token);
            var unreachable = Assert.Single(logs.Entries, e => e.EventId.Id == 4812);
            Assert.Equal($"127.0.0.1:{port}/later", unreachable.State["Location"]);
            Assert.DoesNotContain("secret-pw", unreachable.Message, StringComparison.Ordinal);
            await host.StopAsync();
        }
        finally
        {
            TestApps.Delete(root);
        }
    }

    [Fact]
    public async Task A_host_whose_sidecar_served_calls_stops_and_disposes_cleanly()
    {
        var root = TestApps.Copy("DurableApp");
        try
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(90));
            var host = await LocalFunctionsHost.StartAsync(new LocalHostOptions { ScriptRoot = root, Port = 0, Output = TextWriter.Null, ConsoleLogs = false }, cts.Token);
            using (var channel = Grpc.Net.Client.GrpcChannel.ForAddress(host.RpcAddress))
            {
                await using var client = new Microsoft.DurableTask.Client.Grpc.GrpcDurableTaskClient(
                    "tests", new Microsoft.DurableTask.Client.Grpc.GrpcDurableTaskClientOptions { Channel = channel }, Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);
                var id = await client.ScheduleNewOrchestrationInstanceAsync("SayHelloTwice", cts.Token);
                Assert.Equal(OrchestrationRuntimeStatus.Failed, (await client.WaitForInstanceCompletionAsync(id, cts.Token)).RuntimeStatus);
            }

            await host.StopAsync();
            await host.DisposeAsync();
            Assert.True(File.Exists(Path.Combine(root, ".data", "durabletask.db")), "the default SQLite file is under the script root's .data/");
        }
        finally
        {
            TestApps.Delete(root);
        }
    }
}
