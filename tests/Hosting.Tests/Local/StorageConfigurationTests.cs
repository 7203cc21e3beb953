using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Azure.Core;
using Azure.Core.Pipeline;
using Fleet.Hosting.Local;
using Fleet.Hosting.Local.Storage;
using Fleet.Hosting.Rpc.Protocol;
using Fleet.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;

namespace Fleet.Hosting.Tests.Local;

/// <summary>Azurite over HTTPS with its basic OAuth (bearer tokens checked for audience, issuer and lifetime).</summary>
public sealed class OAuthAzuriteFixture : AzuriteFixture
{
    protected override AzuriteOptions Options => new() { UseHttps = true, OAuth = true };
}

/// <summary>
/// Start-up validation of host.json <c>extensions.queues</c> for StorageApp, and the queue trigger on an
/// identity-based connection (<c>&lt;Conn&gt;__queueServiceUri</c> with a bearer token) against Azurite's OAuth.
/// </summary>
public sealed class StorageConfigurationTests(OAuthAzuriteFixture azurite) : IClassFixture<OAuthAzuriteFixture>
{
    [Theory]
    [InlineData("batchSize", "\"lots\"", "extensions.queues.batchSize")]
    [InlineData("maxDequeueCount", "0", "extensions.queues.maxDequeueCount")]
    [InlineData("messageEncoding", "\"utf7\"", "extensions.queues.messageEncoding")]
    [InlineData("maxPollingIntervall", "\"00:00:01\"", "extensions.queues.maxPollingIntervall")]
    public async Task A_malformed_extensions_queues_value_stops_start_up_naming_the_key(string key, string json, string named)
    {
        var root = TestApps.Copy(StorageAppFixture.AppName, r =>
        {
            var path = Path.Combine(r, "host.json");
            var hostJson = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
            hostJson["extensions"]!["queues"]![key] = JsonNode.Parse(json);
            File.WriteAllText(path, hostJson.ToJsonString());
        });
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            var error = await Assert.ThrowsAsync<HostConfigurationException>(() => LocalFunctionsHost.StartAsync(
                new LocalHostOptions { ScriptRoot = root, Port = 0, Output = TextWriter.Null, ConsoleLogs = false, ConfigureServices = s => s.AddStorageBindings() },
                timeout.Token));
            Assert.Equal(named, error.Setting);
            Assert.Contains(named, error.Message, StringComparison.Ordinal);
        }
        finally
        {
            TestApps.Delete(root);
        }
    }

    [Fact]
    public async Task An_identity_based_queue_connection_polls_with_storage_scoped_bearer_tokens()
    {
        var thumbprint = azurite.Instance.ServerCertificate!.Thumbprint;
        var scopes = new ConcurrentQueue<string>();
        var options = new StorageBindingOptions
        {
            CredentialFactory = (_, setting) => new RecordingCredential(setting, scopes),
            ConfigureClients = o => o.Transport = new HttpClientTransport(new HttpClientHandler
            {
                ServerCertificateCustomValidationCallback = (_, certificate, _, _) => certificate?.Thumbprint == thumbprint,
            }),
        };
        var settings = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["FleetQueues:queueServiceUri"] = azurite.Instance.QueueEndpoint.ToString(),
            ["AzureWebJobsStorage:blobServiceUri"] = azurite.Instance.BlobEndpoint.ToString(),
            ["AzureWebJobsStorage:queueServiceUri"] = azurite.Instance.QueueEndpoint.ToString(),
        }).Build();
        var services = new ServiceCollection().AddSingleton<IConfiguration>(settings).AddSingleton(TimeProvider.System)
            .AddSingleton<Microsoft.Extensions.Logging.ILoggerFactory>(NullLoggerFactory.Instance).AddStorageBindings(o =>
            {
                o.CredentialFactory = options.CredentialFactory;
                o.ConfigureClients = options.ConfigureClients;
            }).BuildServiceProvider();
        var factory = services.GetServices<ITriggerListenerFactory>().Single(f => f.TriggerType == "queueTrigger");
        var invoker = new RecordingInvoker();
        var trigger = new BindingSpec("text", "queueTrigger", "In", "String", new JsonObject { ["queueName"] = "identity-in", ["connection"] = "FleetQueues" });
        var function = new FunctionSpec("1", "OnIdentity", trigger, [], [], new RpcFunctionMetadata { Name = "OnIdentity", ScriptFile = "StorageApp.dll" });
        var context = new TriggerListenerContext(invoker, settings, [], ".", NullLoggerFactory.Instance, TimeProvider.System);
        Assert.True(factory.TryCreate(function, context, out var listener, out var reason), reason);

        // The message goes in through the same identity, with the host.json default encoding (Base64).
        var output = services.GetServices<IOutputBindingHandler>().Single(h => h.BindingType == "queue");
        await output.WriteAsync(function, new BindingSpec("out", "queue", "Out", null, new JsonObject { ["queueName"] = "identity-in", ["connection"] = "FleetQueues" }), new TypedData { String = "via token" }, CancellationToken.None);
        await listener!.StartAsync(CancellationToken.None);
        try
        {
            await Wait.UntilAsync(() => invoker.Texts.Contains("via token"), "the identity-based queue trigger");
        }
        finally
        {
            using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            await listener.StopAsync(stop.Token);
            await listener.DisposeAsync();
        }

        Assert.NotEmpty(scopes);
        Assert.All(scopes, s => Assert.Equal("FleetQueues https://storage.azure.com/.default", s));
    }

    /// <summary>A token Azurite's basic OAuth accepts: storage audience, a Microsoft issuer, valid for an hour.</summary>
    private sealed class RecordingCredential(string setting, ConcurrentQueue<string> scopes) : TokenCredential
    {
        public override AccessToken GetToken(TokenRequestContext requestContext, CancellationToken cancellationToken)
        {
            foreach (var scope in requestContext.Scopes)
            {
                scopes.Enqueue($"{setting} {scope}");
            }

            return Token();
        }

        public override ValueTask<AccessToken> GetTokenAsync(TokenRequestContext requestContext, CancellationToken cancellationToken) =>
            ValueTask.FromResult(GetToken(requestContext, cancellationToken));

        private static AccessToken Token()
        {
            var now = DateTimeOffset.UtcNow;
            static string Encode(string json) => Convert.ToBase64String(System.Text.Encoding.UTF8.GetBytes(json)).TrimEnd('=').Replace('+', '-').Replace('/', '_');
            var payload = $$"""{"aud":"https://storage.azure.com","iss":"https://sts.windows.net/00000000-0000-0000-0000-000000000000/","iat":{{now.AddMinutes(-5).ToUnixTimeSeconds()}},"nbf":{{now.AddMinutes(-5).ToUnixTimeSeconds()}},"exp":{{now.AddHours(1).ToUnixTimeSeconds()}},"oid":"00000000-0000-0000-0000-000000000001","tid":"00000000-0000-0000-0000-000000000000"}""";
            return new AccessToken($"{Encode("""{"alg":"RS256","typ":"JWT"}""")}.{Encode(payload)}.sig", now.AddHours(1));
        }
    }

    private sealed class RecordingInvoker : IFunctionInvoker
    {
        public ConcurrentBag<string> Texts { get; } = [];

        public Task<InvocationOutcome> InvokeAsync(FunctionSpec function, TriggerInvocation invocation, CancellationToken cancellationToken)
        {
            Texts.Add(invocation.TriggerValue.String);
            return Task.FromResult(new InvocationOutcome(true, new InvocationResponse(), null));
        }
    }
}
