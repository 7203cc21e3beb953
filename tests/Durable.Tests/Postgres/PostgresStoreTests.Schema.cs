using Fleet.Durable.Postgres;
using Fleet.Durable.Storage;
using Fleet.Durable.Tests.Conformance;
using Fleet.Testing;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;

namespace Fleet.Durable.Tests.Postgres;

/// <summary>Migrations: concurrent hosts, a newer schema refused, and a schema an earlier runtime left brought up to date.</summary>
public sealed partial class PostgresStoreTests
{
    [Fact]
    public async Task Hosts_starting_together_create_the_schema_once_and_a_newer_schema_is_refused()
    {
        var schema = fixture.NewName("migrate");
        var stores = Enumerable.Range(0, 6).Select(_ => Store(schema)).ToList();

        await Task.WhenAll(stores.Select(s => s.InitializeAsync(DurableWait.Token())));

        Assert.Equal("1,2,3", (await fixture.Instance.PsqlAsync($"SELECT string_agg(version::text, ',' ORDER BY version) FROM \"{schema}\".dt_schema_version")).Trim());
        Assert.Equal("dt_activities,dt_history,dt_instances,dt_message_keys,dt_messages,dt_schema_version", (await fixture.Instance.PsqlAsync(
            $"SELECT string_agg(table_name, ',' ORDER BY table_name) FROM information_schema.tables WHERE table_schema = '{schema}'")).Trim());

        await fixture.Instance.PsqlAsync($"INSERT INTO \"{schema}\".dt_schema_version (version) VALUES (4)");
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => Store(schema).InitializeAsync(DurableWait.Token()));
        Assert.Contains("newer version (schema 4; this runtime knows 3)", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_version_2_schema_gains_the_tags_column_its_instances_still_read_and_new_instances_keep_tags()
    {
        var schema = fixture.NewName("tags");
        var time = new FakeTimeProvider();
        var connection = new NpgsqlConnection(fixture.ConnectionString);
        _disposables.Add(connection);
        await connection.OpenAsync();
        Assert.Equal((0, 2), await PostgresSchema.MigrateAsync(connection, schema, upTo: 2, NullLogger.Instance, DurableWait.Token()));

        // An instance as the version-2 runtime created it (its function, without tags).
        var ticks = time.GetUtcNow().UtcTicks;
        await ScalarAsync<int>(connection, $"SELECT \"{schema}\".dt_create_instance('test', 'old', 'exec-old', 'Test', NULL, '\"input\"', {ticks}, NULL, {ticks}, 'start', NULL)");

        var store = Store(schema, time);
        await StartAsync(store);
        Assert.Equal("1,2,3", (await fixture.Instance.PsqlAsync($"SELECT string_agg(version::text, ',' ORDER BY version) FROM \"{schema}\".dt_schema_version")).Trim());
        var old = await store.GetInstanceAsync("old", includePayloads: true, DurableWait.Token());
        Assert.Equal(("exec-old", "\"input\""), (old?.ExecutionId, old?.Input));
        Assert.Null(old!.Tags);

        const string tags = """{"fleet":"north"}""";
        Assert.True((await store.CreateInstanceAsync(NewInstance("new", time) with { Tags = tags }, DurableWait.Token())).Created);
        Assert.Equal(tags, (await store.GetInstanceAsync("new", includePayloads: false, DurableWait.Token()))?.Tags);
        foreach (var withPayloads in new[] { false, true })
        {
            var page = await store.QueryInstancesAsync(new InstanceQuery(new InstanceFilter(), 10, withPayloads, null), DurableWait.Token());
            Assert.Equal([tags, null], page.Instances.OrderBy(i => i.InstanceId, StringComparer.Ordinal).Select(i => i.Tags));
        }
    }
}
