using Azure.Messaging.ServiceBus;
using Azure.Messaging.ServiceBus.Administration;

namespace Fleet.ServiceBus.Tests;

/// <summary>Topics, subscriptions, their filters and rule operations with the real client.</summary>
public sealed class TopicTests(EmulatorFixture fixture) : IClassFixture<EmulatorFixture>
{
    private ServiceBusClient Client => fixture.Client;

    [Fact]
    public async Task A_message_reaches_every_subscription_whose_rule_matches()
    {
        var ct = Timeouts.Test();
        await using var sender = Client.CreateSender("events");
        await sender.SendMessageAsync(new ServiceBusMessage("order placed") { Subject = "order" }, ct);
        await sender.SendMessageAsync(new ServiceBusMessage("eu telemetry") { ApplicationProperties = { ["region"] = "eu" } }, ct);
        await sender.SendMessageAsync(new ServiceBusMessage("us telemetry") { ApplicationProperties = { ["region"] = "us" } }, ct);

        Assert.Equal(["order placed", "eu telemetry", "us telemetry"], await DrainAsync("all", 3, ct));
        Assert.Equal(["order placed"], await DrainAsync("orders", 1, ct));
        Assert.Equal(["eu telemetry"], await DrainAsync("eu", 1, ct));
        Assert.Empty(await DrainAsync("none", 0, ct));
    }

    [Fact]
    public async Task Subscription_copies_share_the_topic_sequence_number_and_settle_independently()
    {
        var ct = Timeouts.Test();
        await using var sender = Client.CreateSender("events");
        await sender.SendMessageAsync(new ServiceBusMessage("shared") { Subject = "order", MessageId = "shared-1" }, ct);
        await using var all = Client.CreateReceiver("events", "all");
        await using var orders = Client.CreateReceiver("events", "orders");

        var a = await all.ReceiveMessageAsync(Timeouts.Message, ct);
        var o = await orders.ReceiveMessageAsync(Timeouts.Message, ct);
        Assert.Equal(a.SequenceNumber, o.SequenceNumber);
        await all.CompleteMessageAsync(a, ct);
        await orders.AbandonMessageAsync(o, cancellationToken: ct);

        var again = await orders.ReceiveMessageAsync(Timeouts.Message, ct);
        Assert.Equal("shared-1", again.MessageId);
        Assert.Equal(2, again.DeliveryCount);
        await orders.CompleteMessageAsync(again, ct);
        Assert.Null(await all.ReceiveMessageAsync(Timeouts.Nothing, ct));
    }

    [Fact]
    public async Task Rule_operations_add_list_and_remove_rules_and_refuse_sql_filters()
    {
        var ct = Timeouts.Test();
        await using var rules = Client.CreateRuleManager("ruled", "managed");
        var initial = await ListAsync(rules, ct);
        Assert.Equal([RuleProperties.DefaultRuleName], initial.Select(r => r.Name));
        Assert.IsType<TrueRuleFilter>(initial[0].Filter);

        await rules.CreateRuleAsync("alerts", new CorrelationRuleFilter { Subject = "alert", ApplicationProperties = { ["severity"] = 2 } }, ct);
        await rules.CreateRuleAsync("never", new FalseRuleFilter(), ct);
        await rules.DeleteRuleAsync(RuleProperties.DefaultRuleName, ct);
        var listed = await ListAsync(rules, ct);
        Assert.Equal(["alerts", "never"], listed.Select(r => r.Name));
        var correlation = Assert.IsType<CorrelationRuleFilter>(listed[0].Filter);
        Assert.Equal("alert", correlation.Subject);
        Assert.Equal(2, correlation.ApplicationProperties["severity"]);
        Assert.IsType<FalseRuleFilter>(listed[1].Filter);

        var duplicate = await Assert.ThrowsAsync<ServiceBusException>(() => rules.CreateRuleAsync("alerts", new TrueRuleFilter(), ct));
        Assert.Equal(ServiceBusFailureReason.MessagingEntityAlreadyExists, duplicate.Reason);
        var missing = await Assert.ThrowsAsync<ServiceBusException>(() => rules.DeleteRuleAsync("no-such-rule", ct));
        Assert.Equal(ServiceBusFailureReason.MessagingEntityNotFound, missing.Reason);
        var sql = await Assert.ThrowsAsync<NotSupportedException>(() => rules.CreateRuleAsync("sql", new SqlRuleFilter("sys.Label = 'x'"), ct));
        Assert.Contains("SQL filters are not supported", sql.Message);

        await using var sender = Client.CreateSender("ruled");
        await sender.SendMessageAsync(new ServiceBusMessage("info") { Subject = "alert", ApplicationProperties = { ["severity"] = 1 } }, ct);
        await sender.SendMessageAsync(new ServiceBusMessage("page") { Subject = "alert", ApplicationProperties = { ["severity"] = 2L } }, ct);
        await using var receiver = Client.CreateReceiver("ruled", "managed");
        var received = await receiver.ReceiveMessageAsync(Timeouts.Message, ct);
        Assert.Equal("page", received.Body.ToString());
        await receiver.CompleteMessageAsync(received, ct);
        Assert.Null(await receiver.ReceiveMessageAsync(Timeouts.Nothing, ct));

        await rules.DeleteRuleAsync("alerts", ct);
        await rules.DeleteRuleAsync("never", ct);
        await rules.CreateRuleAsync(RuleProperties.DefaultRuleName, new TrueRuleFilter(), ct);
    }

    private static async Task<List<RuleProperties>> ListAsync(ServiceBusRuleManager rules, CancellationToken ct)
    {
        var result = new List<RuleProperties>();
        await foreach (var rule in rules.GetRulesAsync(ct))
        {
            result.Add(rule);
        }

        return result;
    }

    private async Task<List<string>> DrainAsync(string subscription, int expected, CancellationToken ct)
    {
        await using var receiver = Client.CreateReceiver("events", subscription);
        var bodies = new List<string>();
        while (bodies.Count < expected && await receiver.ReceiveMessageAsync(Timeouts.Message, ct) is { } message)
        {
            bodies.Add(message.Body.ToString());
            await receiver.CompleteMessageAsync(message, ct);
        }

        Assert.Null(await receiver.ReceiveMessageAsync(Timeouts.Nothing, ct));
        return bodies;
    }
}
