using Azure.Core;
using Azure.Core.Pipeline;
using Fleet.Shared.IoTConnect;
using Fleet.Shared.Tests.Sphere;
using Fleet.Simulator.IoTConnect;
using Fleet.Testing;
using Microsoft.Extensions.Logging;

namespace Fleet.Shared.Tests.IoTConnect;

/// <summary>The login session: one login for many callers, refresh ahead of expiry, renewal after 401 and revocation.</summary>
public sealed class IoTConnectSessionTests
{
    private const string DeviceRoute = IoTConnectRoutes.Prefix + "/device/api/v2/Device";

    [Fact]
    public async Task Thirty_two_concurrent_calls_share_one_login()
    {
        var ct = SimulatorFixture.Timeout();
        await using var host = await IoTConnectTestHost.StartAsync();
        var client = host.Client();
        var uniqueIds = host.Contoso.SampleUniqueIds;

        var calls = Enumerable.Range(0, 32).Select(i => client.GetDeviceByUniqueIdAsync(uniqueIds[i % uniqueIds.Count], ct)).ToList();
        await Task.WhenAll(calls);

        Assert.Equal(1, await host.CountAsync(IoTConnectRoutes.BasicToken));
        Assert.Equal(1, await host.CountAsync(IoTConnectRoutes.Login));
        Assert.Equal(0, await host.CountAsync(IoTConnectRoutes.RefreshToken));

        // After the tokens expire, 32 concurrent calls get 401, and one refresh renews the session for all of them.
        await host.Control.ExpireIoTConnectAccessTokensAsync(cancellationToken: ct);
        await Task.WhenAll(Enumerable.Range(0, 32).Select(i => client.GetDeviceByUniqueIdAsync(uniqueIds[i % uniqueIds.Count], ct)));
        Assert.Equal(1, await host.CountAsync(IoTConnectRoutes.Login));
        Assert.Equal(1, await host.CountAsync(IoTConnectRoutes.RefreshToken, 200));
    }

    [Fact]
    public async Task A_sweep_survives_its_access_token_expiring_midway_by_refreshing()
    {
        var ct = SimulatorFixture.Timeout();
        await using var host = await IoTConnectTestHost.StartAsync();
        var client = host.Client(o => o.PageSize = 10);

        var seen = 0;
        await foreach (var page in client.GetDevicesAsync(cancellationToken: ct).AsPages())
        {
            seen += page.Values.Count;
            if (seen == 50)
            {
                Assert.Equal(1, (await host.Control.ExpireIoTConnectAccessTokensAsync("A", ct)).Affected);
            }
        }

        Assert.Equal(host.Contoso.DeviceCount, seen);
        Assert.Equal(1, await host.CountAsync(DeviceRoute, 401));
        Assert.Equal(1, await host.CountAsync(IoTConnectRoutes.RefreshToken, 200));
        Assert.Equal(1, await host.CountAsync(IoTConnectRoutes.Login));
    }

    [Fact]
    public async Task A_revoked_refresh_token_leads_to_one_full_login()
    {
        var ct = SimulatorFixture.Timeout();
        await using var host = await IoTConnectTestHost.StartAsync();
        var client = host.Client();
        await client.GetTemplatesAsync(ct).ToListAsync(ct);

        await host.Control.RevokeIoTConnectRefreshTokensAsync(cancellationToken: ct);
        await host.Control.ExpireIoTConnectAccessTokensAsync(cancellationToken: ct);
        await Task.WhenAll(Enumerable.Range(0, 32).Select(_ => client.GetEntityTreeAsync(ct)));

        Assert.Equal(1, await host.CountAsync(IoTConnectRoutes.RefreshToken, 401));
        Assert.Equal(2, await host.CountAsync(IoTConnectRoutes.Login, 200));
        Assert.Equal(0, await host.CountAsync(IoTConnectRoutes.Prefix + "/user/api/v2/Entity/lookup", 500));
    }

    [Fact]
    public async Task The_token_is_refreshed_ahead_of_expiry_without_any_401()
    {
        var ct = SimulatorFixture.Timeout();
        var clock = new FakeTimeProvider();
        await using var host = await IoTConnectTestHost.StartAsync(o => o.IoTConnect.AccessTokenLifetime = TimeSpan.FromSeconds(60), clock);
        var client = host.Client(o =>
        {
            o.TokenRefreshMargin = TimeSpan.FromSeconds(20);
            o.RateLimiter.Enabled = false;
        }, clock);
        var uniqueId = host.Contoso.SampleUniqueIds[0];

        await client.GetDeviceByUniqueIdAsync(uniqueId, ct);
        var firstExpiry = client.Authenticator.ExpiresAt!.Value;

        // Inside the margin: the call goes out with the current token while one refresh runs beside it.
        clock.Advance(TimeSpan.FromSeconds(45));
        await client.GetDeviceByUniqueIdAsync(uniqueId, ct);
        await TestWaits.UntilAsync(() => client.Authenticator.ExpiresAt > firstExpiry, ct);
        clock.Advance(TimeSpan.FromSeconds(30));
        await client.GetDeviceByUniqueIdAsync(uniqueId, ct);

        Assert.Equal(1, await host.CountAsync(IoTConnectRoutes.RefreshToken, 200));
        Assert.Equal(1, await host.CountAsync(IoTConnectRoutes.Login));
        Assert.Equal(0, (await host.Control.GetCountersAsync(ct)).CountStatus(401));
    }

    [Fact]
    public async Task A_refused_login_surfaces_as_its_own_error_and_no_secret_reaches_logs_or_exceptions()
    {
        var ct = SimulatorFixture.Timeout();
        await using var host = await IoTConnectTestHost.StartAsync(o => o.IoTConnect.RateLimit = 40);
        using var logs = new CapturingLoggerProvider();
        using var loggerFactory = LoggerFactory.Create(b => b.AddProvider(logs).SetMinimumLevel(LogLevel.Trace));
        var tap = new SecretTap(new HttpClientTransport());
        var exceptions = new List<Exception>();

        var wrongPassword = "Wrong-" + host.Contoso.Password;
        var wrong = host.Client(o => { o.Password = wrongPassword; o.Transport = tap; }, loggerFactory: loggerFactory);
        var refused = await Assert.ThrowsAsync<IoTConnectApiException>(() => wrong.GetDeviceAsync(Guid.NewGuid(), ct));
        Assert.True(refused.IsUnauthorized, refused.ToString());
        Assert.Equal("InvalidCredentials", refused.ErrorCode);
        Assert.Equal("auth", refused.Service);
        exceptions.Add(refused);

        // A working session through refresh, renewal after 401, throttling, and a failing call.
        var client = host.Client(o => { o.Transport = tap; o.RateLimiter.InitialRate = 200; }, loggerFactory: loggerFactory);
        await Task.WhenAll(Enumerable.Range(0, 100).Select(_ => client.GetTemplatesAsync(ct).ToListAsync(ct).AsTask()));
        await host.Control.ExpireIoTConnectAccessTokensAsync(cancellationToken: ct);
        await client.GetEntityTreeAsync(ct);
        await host.Control.RevokeIoTConnectRefreshTokensAsync(cancellationToken: ct);
        await host.Control.ExpireIoTConnectAccessTokensAsync(cancellationToken: ct);
        exceptions.Add(await Assert.ThrowsAsync<IoTConnectApiException>(() => client.GetDeviceAsync(Guid.NewGuid(), ct)));

        var secrets = tap.Secrets.Append(host.Contoso.Password).Append(wrongPassword).Append(host.Contoso.SolutionKey).ToList();
        Assert.True(secrets.Count >= 6, "The tap saw the basic token, access and refresh tokens.");
        Assert.Contains(logs.Lines, l => l.Contains("[1701]", StringComparison.Ordinal));
        Assert.Contains(logs.Lines, l => l.Contains("[1706]", StringComparison.Ordinal));
        foreach (var secret in secrets)
        {
            Assert.DoesNotContain(logs.Lines, l => l.Contains(secret, StringComparison.Ordinal));
            Assert.DoesNotContain(exceptions, e => e.ToString().Contains(secret, StringComparison.Ordinal));
        }
    }

    /// <summary>The real transport, noting every credential that crosses it (to search logs and exceptions for).</summary>
    private sealed class SecretTap(HttpPipelineTransport inner) : HttpPipelineTransport
    {
        private readonly System.Collections.Concurrent.ConcurrentDictionary<string, bool> _secrets = new();

        public IEnumerable<string> Secrets => _secrets.Keys;

        public override Request CreateRequest() => inner.CreateRequest();

        public override void Process(HttpMessage message) => ProcessAsync(message).AsTask().GetAwaiter().GetResult();

        public override async ValueTask ProcessAsync(HttpMessage message)
        {
            if (message.Request.Headers.TryGetValue("Authorization", out var authorization))
            {
                _secrets[authorization.Split(' ', 2)[^1]] = true;
            }

            await inner.ProcessAsync(message);
            if (message.Request.Uri.Path.Contains("/Auth/", StringComparison.OrdinalIgnoreCase) && message.Response.Status == 200)
            {
                // The transport hands out the body unbuffered; read it and put a buffered copy back for the pipeline.
                var buffer = new MemoryStream();
                await message.Response.ContentStream!.CopyToAsync(buffer);
                buffer.Position = 0;
                message.Response.ContentStream = buffer;
                using var json = System.Text.Json.JsonDocument.Parse(buffer.ToArray());
                foreach (var name in new[] { "access_token", "refresh_token", "data" })
                {
                    if (json.RootElement.TryGetProperty(name, out var value) && value.ValueKind == System.Text.Json.JsonValueKind.String)
                    {
                        _secrets[value.GetString()!] = true;
                    }
                }
            }
        }
    }
}
