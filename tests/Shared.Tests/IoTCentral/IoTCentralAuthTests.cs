using Azure.Identity;
using Fleet.Shared.IoTCentral;
using Fleet.Shared.Tests.Sphere;
using Fleet.Simulator;
using Fleet.Testing;

namespace Fleet.Shared.Tests.IoTCentral;

[Collection(SimulatorCollection.Name)]
public sealed class IoTCentralAuthTests
{
    [Fact]
    public async Task The_managed_identity_sends_bearer_tokens_and_an_api_token_goes_without_a_prefix()
    {
        var ct = SimulatorFixture.Timeout();
        await using var sim = await IoTCentralTestSupport.StartAsync();
        var bearerTransport = new UriRecorder();
        var tokenTransport = new UriRecorder();
        var token = await sim.Control.IssueIoTCentralApiTokenAsync("contoso", new IoTCentralApiTokenRequest("ops"), ct);
        var bearer = IoTCentralTestSupport.Client(sim, o => o.Transport = bearerTransport);
        var withToken = IoTCentralTestSupport.TokenClient(sim, token.Token, o => o.Transport = tokenTransport);

        Assert.Equal("th-00001", (await bearer.GetDeviceAsync("th-00001", ct)).Id);
        Assert.Equal("th-00001", (await withToken.GetDeviceAsync("th-00001", ct)).Id);

        Assert.False(bearer.UsesApiToken);
        Assert.True(withToken.UsesApiToken);
        Assert.Equal(token.Expiry, withToken.ApiTokenExpiresOn);
        Assert.StartsWith("Bearer ey", Assert.Single(bearerTransport.Requests).Authorization, StringComparison.Ordinal);
        Assert.Equal(token.Token, Assert.Single(tokenTransport.Requests).Authorization);
    }

    [Fact]
    public async Task A_service_principal_that_is_not_an_app_user_gets_an_error_naming_put_users()
    {
        var ct = SimulatorFixture.Timeout();
        await using var sim = await IoTCentralTestSupport.StartAsync();
        var fleet = await sim.Control.GetFleetAsync(ct);
        var auditor = fleet.GetUserAssignedIdentity("fleet-auditor");
        var logs = new LogSink();
        var client = IoTCentralTestSupport.Client(sim, credential: new ManagedIdentityCredential(
            ManagedIdentityId.FromUserAssignedClientId(auditor.ClientId.ToString())), logs: logs);

        var error = await Assert.ThrowsAsync<IoTCentralApiException>(() => client.GetDeviceAsync("th-00001", ct));

        Assert.True(error.IsForbidden);
        Assert.True(error.IsNotAppUser);
        Assert.Contains($"PUT /api/users/{auditor.PrincipalId}", error.Message, StringComparison.Ordinal);
        Assert.Contains("\"type\":\"servicePrincipal\"", error.Message, StringComparison.Ordinal);
        Assert.Contains(logs.Entries, e => e.EventId.Id == 1310);

        await sim.Control.SetIoTCentralUserAsync("contoso", auditor.PrincipalId, new IoTCentralUserRequest(IoTCentralRoleIds.Operator), ct);
        Assert.Equal("th-00001", (await client.GetDeviceAsync("th-00001", ct)).Id);
        var lacksRole = await Assert.ThrowsAsync<IoTCentralApiException>(() => ToListAsync(client.GetApiTokensAsync(ct)));
        Assert.True(lacksRole.IsForbidden);
        Assert.False(lacksRole.IsNotAppUser);
        Assert.Contains(IoTCentralRoleIds.Operator, lacksRole.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Rotation_creates_stores_and_switches_to_a_new_token_without_logging_it()
    {
        var ct = SimulatorFixture.Timeout();
        await using var sim = await IoTCentralTestSupport.StartAsync();
        var first = await sim.Control.IssueIoTCentralApiTokenAsync("contoso", new IoTCentralApiTokenRequest("fleet-first"), ct);
        var file = Path.Combine(Path.GetTempPath(), $"iotc-token-{Guid.NewGuid():N}");
        await File.WriteAllTextAsync(file, first.Token + "\n", ct);
        try
        {
            var logs = new LogSink();
            var client = new IoTCentralClient(IoTCentralTestSupport.Options(sim, o => o.ApiTokenFile = file), null, null, null, logs.Factory);

            var rotation = await client.RotateApiTokenAsync("fleet-second", deletePrevious: true, cancellationToken: ct);

            var stored = await File.ReadAllTextAsync(file, ct);
            Assert.Equal(rotation.NewToken.Token, stored);
            Assert.Equal(Path.GetFullPath(file), rotation.StoredIn);
            Assert.Equal("fleet-first", rotation.PreviousTokenId);
            Assert.Contains("skn=fleet-second", stored, StringComparison.Ordinal);
            Assert.Equal("th-00001", (await client.GetDeviceAsync("th-00001", ct)).Id);
            var old = IoTCentralTestSupport.TokenClient(sim, first.Token);
            Assert.True((await Assert.ThrowsAsync<IoTCentralApiException>(() => old.GetDeviceAsync("th-00001", ct))).IsUnauthorized);
            if (!OperatingSystem.IsWindows())
            {
                Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
            }

            var tokens = await ToListAsync(client.GetApiTokensAsync(ct));
            Assert.Equal(["fleet-second"], tokens.Select(t => t.Id));
            Assert.Null(tokens[0].Token);
            Assert.Contains(logs.Entries, e => e.EventId.Id == 1306);
            Assert.DoesNotContain("sig=", logs.AllText, StringComparison.Ordinal);
            Assert.DoesNotContain(rotation.NewToken.Token!, rotation.ToString(), StringComparison.Ordinal);
            Assert.DoesNotContain("sig=", rotation.NewToken.ToString(), StringComparison.Ordinal);

            // A client on an inline token returns the new value and stores nothing.
            var inline = IoTCentralTestSupport.TokenClient(sim, stored);
            var unstored = await inline.RotateApiTokenAsync(cancellationToken: ct);
            Assert.Null(unstored.StoredIn);
            Assert.StartsWith("fleet-", unstored.NewToken.Id, StringComparison.Ordinal);
            Assert.Equal("th-00001", (await inline.GetDeviceAsync("th-00001", ct)).Id);
            await Assert.ThrowsAsync<InvalidOperationException>(() => IoTCentralTestSupport.Client(sim).RotateApiTokenAsync(cancellationToken: ct));
        }
        finally
        {
            File.Delete(file);
        }
    }

    [Fact]
    public async Task The_client_warns_from_thirty_days_before_the_token_expires_once_a_day()
    {
        var ct = SimulatorFixture.Timeout();
        await using var sim = await IoTCentralTestSupport.StartAsync();
        var clock = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var token = await sim.Control.IssueIoTCentralApiTokenAsync("contoso",
            new IoTCentralApiTokenRequest("expiring", Expiry: clock.GetUtcNow().AddDays(31)), ct);
        var logs = new LogSink();
        var client = IoTCentralTestSupport.TokenClient(sim, token.Token, logs: logs, time: clock);
        int Warnings() => logs.Entries.Count(e => e.EventId.Id == 1304);

        await client.GetDeviceAsync("th-00001", ct);
        Assert.Equal(0, Warnings());

        clock.Advance(TimeSpan.FromDays(1.5));
        await client.GetDeviceAsync("th-00001", ct);
        await client.GetDeviceAsync("th-00001", ct);
        Assert.Equal(1, Warnings());
        var warning = logs.Entries.First(e => e.EventId.Id == 1304);
        Assert.Equal(Microsoft.Extensions.Logging.LogLevel.Warning, warning.Level);
        Assert.Contains("expiring", warning.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("sig=", warning.Message, StringComparison.Ordinal);

        clock.Advance(TimeSpan.FromHours(25));
        await client.GetDeviceAsync("th-00001", ct);
        Assert.Equal(2, Warnings());
    }

    private static async Task<List<T>> ToListAsync<T>(Azure.AsyncPageable<T> pageable)
        where T : notnull
    {
        var list = new List<T>();
        await foreach (var item in pageable)
        {
            list.Add(item);
        }

        return list;
    }
}
