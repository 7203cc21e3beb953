using Fleet.Hosting.Configuration;
using Fleet.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Fleet.Hosting.Tests;

/// <summary>host.json, local.settings.json, environment and their precedence; invalid values refuse to start.</summary>
public sealed class ConfigurationTests
{
    public static class HttpOnly
    {
        [Function("Ping")]
        public static string Ping([HttpTrigger(AuthorizationLevel.Anonymous, "get")] Microsoft.AspNetCore.Http.HttpRequest request) => "pong";
    }

    private static readonly Type[] Functions = [typeof(HttpOnly)];

    [Fact]
    public async Task Unknown_host_json_key_refuses_to_start_naming_the_key()
    {
        await using var app = TestApp.Create("""{ "version": "2.0", "extensions": { "queues": { "batchSiz": 8 } } }""");
        var ex = Assert.Throws<HostConfigurationException>(() => app.Builder(Functions).Build());
        Assert.Equal("extensions.queues.batchSiz", ex.Setting);
        Assert.Contains("extensions.queues.batchSiz", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{ "version": "2.0", "extensions": { "queues": { "batchSize": 64 } } }""", "extensions.queues.batchSize")]
    [InlineData("""{ "version": "2.0", "extensions": { "queues": { "maxDequeueCount": 0 } } }""", "extensions.queues.maxDequeueCount")]
    [InlineData("""{ "version": "2.0", "extensions": { "queues": { "visibilityTimeout": "soon" } } }""", "extensions.queues.visibilityTimeout")]
    [InlineData("""{ "version": "2.0", "extensions": { "queues": { "maxPollingInterval": "00:00:00.010" } } }""", "extensions.queues.maxPollingInterval")]
    [InlineData("""{ "version": "2.0", "extensions": { "queues": { "messageLeaseDuration": "00:00:04" } } }""", "extensions.queues.messageLeaseDuration")]
    [InlineData("""{ "version": "2.0", "extensions": { "queues": { "messageLeaseDuration": "7.00:00:01" } } }""", "extensions.queues.messageLeaseDuration")]
    [InlineData("""{ "version": "2.0", "extensions": { "queues": { "messageLeaseDuration": "30s" } } }""", "extensions.queues.messageLeaseDuration")]
    [InlineData("""{ "version": "2.0", "extensions": { "queues": { "messageEncoding": "utf16" } } }""", "extensions.queues.messageEncoding")]
    [InlineData("""{ "version": "2.0", "functionTimeout": "forever" }""", "functionTimeout")]
    [InlineData("""{ "version": "2.0", "logging": { "logLevel": { "default": "Loud" } } }""", "logging.logLevel.default")]
    [InlineData("""{ "version": "2.0", "extensions": { "durableTask": { "hubName": "no spaces" } } }""", "extensions.durableTask.hubName")]
    [InlineData("""{ "version": "2.0", "extensions": { "durableTask": { "storageProvider": { "type": "azureStorage" } } } }""", "extensions.durableTask.storageProvider.type")]
    [InlineData("""{ "version": "2.0", "extensions": { "durableTask": { "storageProvider": { "type": "postgres" } } } }""", "extensions.durableTask.storageProvider.connectionStringName")]
    [InlineData("""{ "version": "2.0", "extensions": { "durableTask": { "maxConcurrentActivityFunctions": -1 } } }""", "extensions.durableTask.maxConcurrentActivityFunctions")]
    [InlineData("""{ "version": "2.0", "extensions": { "http": { "routePrefix": "{x}" } } }""", "extensions.http.routePrefix")]
    [InlineData("""{ "version": "1.0" }""", "version")]
    [InlineData("""{ "extensions": { } }""", "version")]
    [InlineData("""{ "version": "2.0", "extensions": { "queues": 5 } }""", "extensions.queues")]
    [InlineData("""{ "version": "2.0", "extensionBundle": { "id": "x" } }""", "extensionBundle")]
    public async Task Invalid_host_json_value_refuses_to_start_naming_the_key(string hostJson, string key)
    {
        await using var app = TestApp.Create(hostJson);
        var ex = Assert.Throws<HostConfigurationException>(() => app.Builder(Functions).Build());
        Assert.Equal(key, ex.Setting);
    }

    [Fact]
    public async Task Malformed_or_missing_host_json_refuses_to_start()
    {
        await using var app = TestApp.Create("""{ "version": "2.0", """);
        var malformed = Assert.Throws<HostConfigurationException>(() => app.Builder(Functions));
        Assert.Equal("host.json", malformed.Setting);

        File.Delete(Path.Combine(app.ContentRoot, "host.json"));
        var missing = Assert.Throws<HostConfigurationException>(() => app.Builder(Functions));
        Assert.Equal("host.json", missing.Setting);
        Assert.Contains(app.ContentRoot, missing.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Host_json_values_and_defaults_are_read()
    {
        await using var app = TestApp.Create("""
            {
              "version": "2.0",
              "functionTimeout": "00:02:00",
              "logging": { "logLevel": { "default": "Warning", "Function": "Information" } },
              "extensions": {
                "http": { "routePrefix": "/v1/" },
                "queues": { "batchSize": 8, "newBatchThreshold": 3, "maxDequeueCount": 2, "visibilityTimeout": "00:00:07",
                            "messageLeaseDuration": "00:02:00", "maxPollingInterval": "00:00:02", "messageEncoding": "none" },
                "durableTask": { "hubName": "OpsHub", "maxConcurrentActivityFunctions": 7, "maxConcurrentOrchestratorFunctions": 9 }
              }
            }
            """);
        await using var host = app.Builder(Functions).Build();
        var settings = host.Services.GetRequiredService<HostSettings>();
        Assert.Equal(TimeSpan.FromMinutes(2), settings.FunctionTimeout);
        Assert.Equal(LogLevel.Warning, settings.LogLevels["default"]);
        Assert.Equal("v1", settings.Http.RoutePrefix);
        Assert.Equal(8, settings.Queues.BatchSize);
        Assert.Equal(3, settings.Queues.NewBatchThreshold);
        Assert.Equal(2, settings.Queues.MaxDequeueCount);
        Assert.Equal(TimeSpan.FromSeconds(7), settings.Queues.VisibilityTimeout);
        Assert.Equal(TimeSpan.FromMinutes(2), settings.Queues.MessageLeaseDuration);
        Assert.Equal(TimeSpan.FromSeconds(2), settings.Queues.MaxPollingInterval);
        Assert.Equal(QueueMessageEncoding.None, settings.Queues.MessageEncoding);
        Assert.Equal("OpsHub", settings.Durable.HubName);
        Assert.Equal(7, settings.Durable.MaxConcurrentActivityFunctions);
        Assert.Equal(9, settings.Durable.MaxConcurrentOrchestratorFunctions);

        await using var defaults = TestApp.Create();
        await using var defaultHost = defaults.Builder(Functions).Build();
        var d = defaultHost.Services.GetRequiredService<HostSettings>();
        Assert.Equal(TimeSpan.FromMinutes(30), d.FunctionTimeout);
        Assert.Equal("api", d.Http.RoutePrefix);
        Assert.Equal(16, d.Queues.BatchSize);
        Assert.Equal(8 * Environment.ProcessorCount, d.Queues.NewBatchThreshold);
        Assert.Equal(5, d.Queues.MaxDequeueCount);
        Assert.Equal(TimeSpan.Zero, d.Queues.VisibilityTimeout);
        Assert.Equal(TimeSpan.FromSeconds(30), d.Queues.MessageLeaseDuration);
        Assert.Equal(TimeSpan.FromMinutes(1), d.Queues.MaxPollingInterval);
        Assert.Equal(QueueMessageEncoding.Base64, d.Queues.MessageEncoding);
        Assert.Equal("TestHubName", d.Durable.HubName);
        Assert.Equal(TimeSpan.FromSeconds(10), d.ShutdownTimeout);
    }

    [Fact]
    public async Task Local_settings_values_nest_with_double_underscore_and_environment_overrides_them()
    {
        var unique = "HostingTest" + Guid.NewGuid().ToString("N")[..8];
        await using var app = TestApp.Create(localSettings: $$"""
            {
              "IsEncrypted": false,
              "Values": {
                "{{unique}}__Queue": "from-local-settings",
                "{{unique}}__Schedule": "0 */5 * * * *",
                "{{unique}}__Shadowed": "from-local-settings"
              },
              "ConnectionStrings": { "{{unique}}Db": "Data Source=x.db" },
              "Host": { "LocalHttpPort": 7099 }
            }
            """);
        Environment.SetEnvironmentVariable($"{unique}__Shadowed", "from-environment");
        try
        {
            var builder = FunctionsApplication.CreateBuilder(new FunctionsApplicationOptions
            {
                ContentRoot = app.ContentRoot,
                FunctionTypes = Functions,
                Settings = new Dictionary<string, string?> { [$"{unique}:Schedule"] = "0 0 * * * *" },
            });
            Assert.Equal("from-local-settings", builder.Configuration[$"{unique}:Queue"]);
            Assert.Equal("from-environment", builder.Configuration[$"{unique}:Shadowed"]);
            Assert.Equal("0 0 * * * *", builder.Configuration[$"{unique}:Schedule"]);
            Assert.Equal("Data Source=x.db", builder.Configuration[$"ConnectionStrings:{unique}Db"]);
            await using var host = builder.Build();
            Assert.Equal(7099, host.Services.GetRequiredService<HostSettings>().Http.Port);
        }
        finally
        {
            foreach (var name in new[] { "Queue", "Schedule", "Shadowed" })
            {
                Environment.SetEnvironmentVariable($"{unique}__{name}", null);
            }
        }
    }

    [Fact]
    public async Task Local_settings_values_reach_the_process_environment_without_overriding_it()
    {
        var unique = "HostingEnv" + Guid.NewGuid().ToString("N")[..8];
        string[] names = [$"{unique}_IDENTITY_ENDPOINT", $"{unique}__Nested", $"{unique}_Preset", $"{unique}_Number", $"{unique}_Empty", $"{unique}_Optional"];
        await using var app = TestApp.Create(localSettings: $$"""
            {
              "IsEncrypted": false,
              "Values": {
                "{{unique}}_IDENTITY_ENDPOINT": "http://127.0.0.1:5080/msi/token",
                "{{unique}}__Nested": "nested value",
                "{{unique}}_Preset": "from-local-settings",
                "{{unique}}_Number": 42,
                "{{unique}}_Empty": "",
                "{{unique}}_Optional": null
              },
              "ConnectionStrings": { "{{unique}}_Db": "Data Source=x.db" }
            }
            """);
        Environment.SetEnvironmentVariable($"{unique}_Preset", "from-environment");
        try
        {
            var builder = app.Builder(Functions);
            Assert.Equal("http://127.0.0.1:5080/msi/token", Environment.GetEnvironmentVariable($"{unique}_IDENTITY_ENDPOINT"));

            // Under the name as written (as Core Tools exports it); configuration reads it nested either way.
            Assert.Equal("nested value", Environment.GetEnvironmentVariable($"{unique}__Nested"));
            Assert.Equal("nested value", builder.Configuration[$"{unique}:Nested"]);
            Assert.Equal("42", Environment.GetEnvironmentVariable($"{unique}_Number"));

            // A variable already set wins, in the environment and in configuration.
            Assert.Equal("from-environment", Environment.GetEnvironmentVariable($"{unique}_Preset"));
            Assert.Equal("from-environment", builder.Configuration[$"{unique}_Preset"]);

            // Only Values, and only values there are.
            Assert.Null(Environment.GetEnvironmentVariable($"{unique}_Empty"));
            Assert.Null(Environment.GetEnvironmentVariable($"{unique}_Optional"));
            Assert.Null(Environment.GetEnvironmentVariable($"{unique}_Db"));
            Assert.Null(Environment.GetEnvironmentVariable($"ConnectionStrings__{unique}_Db"));
        }
        finally
        {
            foreach (var name in names)
            {
                Environment.SetEnvironmentVariable(name, null);
            }
        }
    }

    [Fact]
    public async Task Local_settings_values_stay_out_of_the_environment_when_export_is_off()
    {
        var unique = "HostingEnv" + Guid.NewGuid().ToString("N")[..8];
        await using var app = TestApp.Create(localSettings: $$"""{ "Values": { "{{unique}}_Value": "local" } }""");
        try
        {
            var builder = FunctionsApplication.CreateBuilder(new FunctionsApplicationOptions
            {
                ContentRoot = app.ContentRoot, FunctionTypes = Functions, ExportLocalSettingsToEnvironment = false,
            });
            Assert.Equal("local", builder.Configuration[$"{unique}_Value"]);
            Assert.Null(Environment.GetEnvironmentVariable($"{unique}_Value"));
        }
        finally
        {
            Environment.SetEnvironmentVariable($"{unique}_Value", null);
        }
    }

    [Fact]
    public async Task Environment_overrides_host_json_through_AzureFunctionsJobHost_settings()
    {
        var category = "HostingTest" + Guid.NewGuid().ToString("N")[..8];
        await using var app = TestApp.Create($$"""{ "version": "2.0", "logging": { "logLevel": { "{{category}}": "Warning" } } }""");
        var variable = $"AzureFunctionsJobHost__logging__logLevel__{category}";
        Environment.SetEnvironmentVariable(variable, "Error");
        try
        {
            await using var host = app.Builder(Functions).Build();
            Assert.Equal(LogLevel.Error, host.Services.GetRequiredService<HostSettings>().LogLevels[category]);
        }
        finally
        {
            Environment.SetEnvironmentVariable(variable, null);
        }
    }

    [Theory]
    [InlineData("""{ "IsEncrypted": true, "Values": {} }""", "local.settings.json:IsEncrypted")]
    [InlineData("""{ "Values": { "Nested": { "A": "b" } } }""", "local.settings.json:Values:Nested")]
    [InlineData("""{ "Valeus": { } }""", "local.settings.json:Valeus")]
    [InlineData("""{ "Host": { "Port": 1 } }""", "local.settings.json:Host:Port")]
    public async Task Invalid_local_settings_refuse_to_start(string localSettings, string key)
    {
        await using var app = TestApp.Create(localSettings: localSettings);
        var ex = Assert.Throws<HostConfigurationException>(() => app.Builder(Functions));
        Assert.Equal(key, ex.Setting);
    }

    [Theory]
    [InlineData("AzureFunctionsWebHost:hostid", "Not_A_Host_Id", "AzureFunctionsWebHost:hostid")]
    [InlineData("Host:LocalHttpPort", "70000", "Host:LocalHttpPort")]
    [InlineData("Host:ShutdownTimeout", "abc", "Host:ShutdownTimeout")]
    [InlineData("FunctionKeys:Master", "short", "FunctionKeys:Master")]
    [InlineData("FunctionKeys:Functions:Ping", "has spaces in the key value", "FunctionKeys:Functions:Ping")]
    [InlineData("FunctionKeys:Typo", "0123456789abcdef0123", "FunctionKeys:Typo")]
    [InlineData("AzureWebJobs.Ping.Disabled", "maybe", "AzureWebJobs.Ping.Disabled")]
    [InlineData("WEBSITE_TIME_ZONE", "Mars/Olympus_Mons", "WEBSITE_TIME_ZONE")]
    public async Task Invalid_settings_refuse_to_start_naming_the_setting(string setting, string value, string expected)
    {
        await using var app = TestApp.Create();
        var builder = FunctionsApplication.CreateBuilder(new FunctionsApplicationOptions
        {
            ContentRoot = app.ContentRoot,
            FunctionTypes = Functions,
            Settings = new Dictionary<string, string?> { [setting] = value },
        });
        var ex = Assert.Throws<HostConfigurationException>(() => builder.Build());
        Assert.Equal(expected, ex.Setting);
        if (setting.StartsWith("FunctionKeys", StringComparison.Ordinal))
        {
            Assert.DoesNotContain(value, ex.Message, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("Fleet.Functions", "fleet-functions")]
    [InlineData("My App!! 2026", "my-app-2026")]
    [InlineData("a-very-long-application-name-that-goes-on-and-on", "a-very-long-application-name-tha")]
    [InlineData("---", "functions-host")]
    public void Host_id_is_derived_from_the_app_name_like_azure_functions(string name, string expected)
    {
        var id = HostSettingsReader.DeriveHostId(name);
        Assert.Equal(expected, id);
        Assert.True(id.Length <= 32);
    }

    [Fact]
    public async Task Host_json_log_levels_filter_the_app_loggers()
    {
        await using var app = TestApp.Create("""
            { "version": "2.0", "logging": { "logLevel": { "default": "Warning", "Function.Chatty": "Debug" } } }
            """);
        await using var host = app.Builder(Functions).Build();
        var loggers = host.Services.GetRequiredService<ILoggerFactory>();
        Assert.False(loggers.CreateLogger("Some.Category").IsEnabled(LogLevel.Information));
        Assert.True(loggers.CreateLogger("Some.Category").IsEnabled(LogLevel.Warning));
        Assert.True(loggers.CreateLogger("Function.Chatty").IsEnabled(LogLevel.Debug));
        Assert.False(loggers.CreateLogger("Function.Quiet").IsEnabled(LogLevel.Information));
    }

    [Fact]
    public async Task The_repository_host_json_and_settings_sample_are_valid()
    {
        await using var app = TestApp.Create(File.ReadAllText(Fleet.Testing.RepoPaths.Combine("host.json")));
        File.Copy(Fleet.Testing.RepoPaths.Combine("local.settings.sample.json"), Path.Combine(app.ContentRoot, "local.settings.json"));
        // Not exported: AzureWebJobsStorage in this process's environment would reach every later test's host.
        var builder = FunctionsApplication.CreateBuilder(new FunctionsApplicationOptions
        {
            ContentRoot = app.ContentRoot, FunctionTypes = Functions, ExportLocalSettingsToEnvironment = false,
        });
        await using var host = builder.Build();
        var settings = host.Services.GetRequiredService<HostSettings>();
        Assert.Equal("FleetHub", settings.Durable.HubName);
        Assert.Equal(DurableStorageType.Sqlite, settings.Durable.StorageType);
        Assert.Equal("UseDevelopmentStorage=true", builder.Configuration["AzureWebJobsStorage"]);
    }

    [Fact]
    public async Task Queue_functions_need_a_valid_storage_connection()
    {
        await using var app = TestApp.Create();
        var missing = Assert.Throws<HostConfigurationException>(() => app.Builder([typeof(IndexingTests.QueueFunctions)], new Dictionary<string, string?>
        {
            ["Orders:Queue"] = "orders",
        }).Build());
        Assert.Equal("AzureWebJobsStorage", missing.Setting);

        var malformed = Assert.Throws<HostConfigurationException>(() => app.Builder([typeof(IndexingTests.QueueFunctions)], new Dictionary<string, string?>
        {
            ["Orders:Queue"] = "orders",
            ["AzureWebJobsStorage"] = "AccountName=devstoreaccount1;AccountKey=not-base64!",
        }).Build());
        Assert.Equal("AzureWebJobsStorage", malformed.Setting);
        Assert.DoesNotContain("not-base64!", malformed.Message, StringComparison.Ordinal);
    }
}
