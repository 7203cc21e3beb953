using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Azure.Core;
using Fleet.Durable;
using Fleet.Durable.Client;
using Fleet.Durable.Postgres;
using Fleet.Durable.Storage;
using Fleet.Testing;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.DependencyInjection;

namespace Fleet.Hosting.Tests;

/// <summary>
/// host.json selecting the PostgreSQL durable store (against a private cluster that checks passwords): a password
/// connection, a Microsoft Entra connection whose token comes from a TokenCredential registered under the
/// connection's name, and the store in the host's health report.
/// </summary>
public sealed class PostgresDurableTests(PostgresDurableTests.PasswordFixture postgres) : IClassFixture<PostgresDurableTests.PasswordFixture>
{
    private const string HostJson = """
        {
          "version": "2.0",
          "extensions": { "durableTask": { "hubName": "PgHub", "storageProvider": { "type": "postgres", "connectionStringName": "DurableStore" } } }
        }
        """;

    public sealed class Functions
    {
        [Function("Greet")]
        public static async Task<IActionResult> Start([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "greet/{name}")] HttpRequest request, string name, [DurableClient] DurableTaskClient client)
        {
            var instanceId = await client.ScheduleNewOrchestrationInstanceAsync(nameof(GreetOrchestrator), name);
            return new OkObjectResult(new { id = instanceId });
        }

        [Function(nameof(GreetOrchestrator))]
        public static async Task<string> GreetOrchestrator([OrchestrationTrigger] TaskOrchestrationContext context) =>
            await context.CallActivityAsync<string>(nameof(Hello), context.GetInput<string>());

        [Function(nameof(Hello))]
        public static string Hello([ActivityTrigger] string name) => $"Hello {name}";
    }

    [Fact]
    public async Task A_password_connection_runs_orchestrations_and_the_store_is_in_the_health_report()
    {
        var database = postgres.NewName("host");
        await postgres.Instance.CreateDatabaseAsync(database);
        await using var app = TestApp.Create(HostJson);
        var host = await app.StartAsync([typeof(Functions)], new Dictionary<string, string?>
        {
            ["DurableStore"] = postgres.Instance.ConnectionString(database),
        });
        using var http = TestApp.Client(host);
        http.DefaultRequestHeaders.Add("x-functions-key", TestApp.MasterKey); // the status lists its checks to the master key

        Assert.Equal("Hello pg", await RunAsync(http, host, "pg"));
        Assert.IsType<PostgresOrchestrationStore>(host.Services.GetRequiredService<IOrchestrationStore>());
        var status = await http.GetFromJsonAsync<JsonElement>("admin/host/status");
        Assert.Equal("Healthy", Check(status, DurableStoreCheck).GetProperty("status").GetString());

        // The database going away makes the host unhealthy (503), not stop; it recovers when the database is back.
        await postgres.Instance.StopAsync("fast");
        try
        {
            using var down = await http.GetAsync("admin/host/status");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, down.StatusCode);
            var report = await down.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal("Unhealthy", Check(report, DurableStoreCheck).GetProperty("status").GetString());
            Assert.DoesNotContain(postgres.Instance.SuperUserPassword, report.GetRawText(), StringComparison.Ordinal);
        }
        finally
        {
            await postgres.Instance.StartServerAsync();
        }

        await Wait.UntilAsync(
            async () => (await http.GetAsync("admin/host/status")).StatusCode == HttpStatusCode.OK,
            "the host to be healthy again");
        Assert.Equal("Hello again", await RunAsync(http, host, "again"));
    }

    [Fact]
    public async Task An_entra_connection_logs_in_with_the_token_of_the_credential_registered_for_it()
    {
        var role = postgres.NewName("fn_identity");
        var database = postgres.NewName("entra");
        await postgres.Instance.CreateDatabaseAsync(database);
        await postgres.Instance.PsqlAsync($"CREATE ROLE {role} LOGIN PASSWORD 'entra-token-value'; GRANT CREATE ON DATABASE {database} TO {role};");
        var credential = new FixedTokenCredential("entra-token-value");
        await using var app = TestApp.Create(HostJson);
        var host = await app.StartAsync(
            [typeof(Functions)],
            new Dictionary<string, string?>
            {
                // No password: the identity settings select Entra; the user name is the identity's database role.
                ["DurableStore"] = postgres.Instance.ConnectionString(database, user: role),
                ["DurableStore:credential"] = "managedidentity",
            },
            services: s => s.AddKeyedSingleton<TokenCredential>("DurableStore", credential));
        using var http = TestApp.Client(host);

        Assert.Equal("Hello entra", await RunAsync(http, host, "entra"));
        Assert.Contains(PostgresStoreOptions.AzureDatabaseScope, credential.Scopes);
    }

    [Fact]
    public void Connection_settings_are_checked_at_build_time_without_revealing_the_password()
    {
        var app = TestApp.Create(HostJson);
        var missing = Assert.Throws<HostConfigurationException>(() => app.Builder([typeof(Functions)], new Dictionary<string, string?> { ["DurableStore"] = null }).Build());
        Assert.Equal("DurableStore", missing.Setting);

        var invalid = Assert.Throws<HostConfigurationException>(() => app.Builder(
            [typeof(Functions)], new Dictionary<string, string?> { ["DurableStore"] = "Host=db;Password=very-secret;NoSuchKeyword=1" }).Build());
        Assert.Equal("DurableStore", invalid.Setting);
        Assert.DoesNotContain("very-secret", invalid.Message, StringComparison.Ordinal);

        var both = Assert.Throws<HostConfigurationException>(() => app.Builder([typeof(Functions)], new Dictionary<string, string?>
        {
            ["DurableStore"] = "Host=db;Username=app;Password=very-secret",
            ["DurableStore:credential"] = "managedidentity",
        }).Build());
        Assert.Contains("DurableStore__credential", both.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("very-secret", both.Message, StringComparison.Ordinal);

        var noUser = Assert.Throws<HostConfigurationException>(() => app.Builder(
            [typeof(Functions)], new Dictionary<string, string?> { ["DurableStore"] = "Host=myserver.postgres.database.azure.com;Database=fleet" }).Build());
        Assert.Contains("Username", noUser.Message, StringComparison.Ordinal);
    }

    private const string DurableStoreCheck = "durable-store";

    private static JsonElement Check(JsonElement report, string name) =>
        report.GetProperty("checks").EnumerateArray().Single(c => c.GetProperty("name").GetString() == name);

    private static async Task<string?> RunAsync(HttpClient http, FunctionsHost host, string name)
    {
        using var response = await http.PostAsync($"api/greet/{name}", null);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var id = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
        var client = host.Services.GetRequiredService<DurableTaskClient>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var done = await client.WaitForInstanceCompletionAsync(id, getInputsAndOutputs: true, timeout.Token);
        Assert.Equal(OrchestrationRuntimeStatus.Completed, done.RuntimeStatus);
        return done.ReadOutputAs<string>();
    }

    /// <summary>A cluster whose TCP logins need a password.</summary>
    public sealed class PasswordFixture : PostgresFixture
    {
        protected override PostgresOptions Options => new() { PasswordAuthentication = true };
    }

    /// <summary>Returns a fixed token (accepted by the private cluster as the role's password) and records the scopes asked for.</summary>
    private sealed class FixedTokenCredential(string token) : TokenCredential
    {
        public List<string> Scopes { get; } = [];

        public override AccessToken GetToken(TokenRequestContext requestContext, CancellationToken cancellationToken)
        {
            lock (Scopes)
            {
                Scopes.AddRange(requestContext.Scopes);
            }

            return new AccessToken(token, DateTimeOffset.UtcNow.AddHours(1));
        }

        public override ValueTask<AccessToken> GetTokenAsync(TokenRequestContext requestContext, CancellationToken cancellationToken) =>
            ValueTask.FromResult(GetToken(requestContext, cancellationToken));
    }
}
