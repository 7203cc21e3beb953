using Fleet.Durable.Postgres;
using Fleet.Durable.Storage;
using Fleet.Durable.Tests.Conformance;
using Fleet.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace Fleet.Durable.Tests.Postgres;

/// <summary>
/// Entra authentication: access tokens from a provider are the password of new connections and are fetched again
/// before they expire. The server side runs against a private cluster that checks passwords (scram-sha-256), with a
/// role whose password is set to the "token"; a real Entra token and Azure Database for PostgreSQL are not involved.
/// </summary>
public sealed class PostgresEntraTests(PostgresEntraTests.PasswordFixture fixture) : IClassFixture<PostgresEntraTests.PasswordFixture>
{
    private static readonly DateTimeOffset Start = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task A_token_is_reused_until_five_minutes_before_it_expires_then_fetched_again()
    {
        var time = new FakeTimeProvider(Start);
        var tokens = new TokenSource(time, TimeSpan.FromHours(1));
        using var password = new AccessTokenPassword(tokens.GetAsync, time, NullLogger.Instance);

        Assert.Equal("token-1", await password.GetAsync(CancellationToken.None));
        Assert.Equal(Start.AddMinutes(55), password.RefreshAt);
        time.Advance(TimeSpan.FromMinutes(54));
        Assert.Equal("token-1", await password.GetAsync(CancellationToken.None));
        time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal("token-2", await password.GetAsync(CancellationToken.None));
        Assert.Equal(2, tokens.Calls);
        Assert.Equal(time.GetUtcNow().AddMinutes(55), password.RefreshAt);
    }

    [Fact]
    public async Task A_short_lived_token_is_replaced_half_way_and_concurrent_callers_share_one_fetch()
    {
        var time = new FakeTimeProvider(Start);
        var tokens = new TokenSource(time, TimeSpan.FromMinutes(6)) { Delay = TimeSpan.FromMilliseconds(50) };
        using var password = new AccessTokenPassword(tokens.GetAsync, time, NullLogger.Instance);

        var all = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => password.GetAsync(CancellationToken.None).AsTask()));

        Assert.All(all, p => Assert.Equal("token-1", p));
        Assert.Equal(1, tokens.Calls);
        Assert.Equal(Start.AddMinutes(3), password.RefreshAt);
    }

    [Fact]
    public async Task A_failed_refresh_keeps_a_still_valid_token_and_fails_once_it_has_expired()
    {
        var time = new FakeTimeProvider(Start);
        var tokens = new TokenSource(time, TimeSpan.FromHours(1));
        using var password = new AccessTokenPassword(tokens.GetAsync, time, NullLogger.Instance);
        Assert.Equal("token-1", await password.GetAsync(CancellationToken.None));

        tokens.Fail = true;
        time.Advance(TimeSpan.FromMinutes(56));
        Assert.Equal("token-1", await password.GetAsync(CancellationToken.None));
        time.Advance(TimeSpan.FromMinutes(4));
        await Assert.ThrowsAsync<InvalidOperationException>(() => password.GetAsync(CancellationToken.None).AsTask());
    }

    [Fact]
    public async Task The_store_logs_in_with_the_token_and_uses_a_rotated_token_once_the_old_one_is_due_for_refresh()
    {
        var time = new FakeTimeProvider(Start);
        var tokens = new TokenSource(time, TimeSpan.FromHours(1));
        var role = fixture.NewName("entra_app");
        await fixture.Instance.PsqlAsync($"CREATE ROLE {role} LOGIN PASSWORD 'token-1'; GRANT CREATE ON DATABASE postgres TO {role};");
        await using var store = new PostgresOrchestrationStore(
            new PostgresStoreOptions
            {
                ConnectionString = fixture.Instance.ConnectionString(user: role) + ";Pooling=true",
                Schema = role,
                AccessTokenProvider = tokens.GetAsync,
            },
            new DurableTaskOptions { HubName = "entra" },
            time,
            NullLoggerFactory.Instance);

        await store.InitializeAsync(DurableWait.Token());
        var now = time.GetUtcNow();
        Assert.True((await store.CreateInstanceAsync(new NewInstance("i1", "e1", "Test", null, null, now, now, "start"), DurableWait.Token())).Created);
        Assert.Equal(1, tokens.Calls);

        // The token rotates on the server; connections opened before the refresh time still use the cached one.
        await fixture.Instance.PsqlAsync($"ALTER ROLE {role} PASSWORD 'token-2'; SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE usename = '{role}';");
        var refused = await Assert.ThrowsAsync<PostgresException>(() => store.GetInstanceAsync("i1", false, DurableWait.Token()));
        Assert.Equal(PostgresErrorCodes.InvalidPassword, refused.SqlState);
        Assert.Equal(1, tokens.Calls);

        time.Advance(TimeSpan.FromMinutes(55));
        Assert.NotNull(await store.GetInstanceAsync("i1", false, DurableWait.Token()));
        Assert.Equal(2, tokens.Calls);
    }

    /// <summary>A cluster whose TCP logins need a password.</summary>
    public sealed class PasswordFixture : PostgresFixture
    {
        protected override PostgresOptions Options => new() { PasswordAuthentication = true };
    }

    /// <summary>Hands out token-1, token-2, … each valid for <c>lifetime</c> from the (fake) time it is fetched.</summary>
    private sealed class TokenSource(TimeProvider time, TimeSpan lifetime)
    {
        private int _calls;

        public int Calls => Volatile.Read(ref _calls);

        public bool Fail { get; set; }

        public TimeSpan Delay { get; init; }

        public async ValueTask<PostgresAccessToken> GetAsync(CancellationToken cancellationToken)
        {
            if (Delay > TimeSpan.Zero)
            {
                await Task.Delay(Delay, cancellationToken);
            }

            if (Fail)
            {
                throw new InvalidOperationException("The identity endpoint is unavailable.");
            }

            var n = Interlocked.Increment(ref _calls);
            return new PostgresAccessToken($"token-{n}", time.GetUtcNow() + lifetime);
        }
    }
}
