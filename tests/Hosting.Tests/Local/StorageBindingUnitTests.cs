using System.Text.Json;
using Azure.Identity;
using Azure.Storage.Queues.Models;
using Fleet.Hosting.Local;
using Fleet.Hosting.Local.Storage;
using Fleet.Hosting.Rpc.Protocol;
using Fleet.Hosting.Timers;
using Google.Protobuf;
using Microsoft.Extensions.Configuration;

namespace Fleet.Hosting.Tests.Local;

/// <summary>Pure pieces of the storage bindings: connection resolution, payload shapes, schedules, output splitting.</summary>
public sealed class StorageBindingUnitTests
{
    // As local.settings.json and environment variables arrive: "__" is the section separator.
    private static IConfiguration Settings(params (string Key, string Value)[] values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>(v.Key.Replace("__", ":", StringComparison.Ordinal), v.Value))).Build();

    [Fact]
    public void Development_storage_resolves_to_azurites_default_endpoints()
    {
        var connection = StorageAccountConnection.Resolve(Settings(("AzureWebJobsStorage", "UseDevelopmentStorage=true")), null);
        Assert.Equal("AzureWebJobsStorage", connection.Setting);
        Assert.Equal(new Uri("http://127.0.0.1:10001/devstoreaccount1"), connection.QueueServiceUri);
        Assert.Equal(new Uri("http://127.0.0.1:10000/devstoreaccount1"), connection.BlobServiceUri);
        Assert.Null(connection.Credential);
    }

    [Fact]
    public void A_connection_name_is_looked_up_with_the_AzureWebJobs_prefix_first()
    {
        var settings = Settings(
            ("AzureWebJobsFleet", "DefaultEndpointsProtocol=https;AccountName=prefixed;AccountKey=YWJj;EndpointSuffix=core.windows.net"),
            ("Fleet", "DefaultEndpointsProtocol=https;AccountName=plain;AccountKey=YWJj;EndpointSuffix=core.windows.net"));
        var connection = StorageAccountConnection.Resolve(settings, "Fleet");
        Assert.Equal("AzureWebJobsFleet", connection.Setting);
        Assert.Equal(new Uri("https://prefixed.queue.core.windows.net/"), connection.QueueServiceUri);
    }

    [Fact]
    public void Identity_based_settings_give_the_service_uris_and_the_credential_the_settings_name()
    {
        var settings = Settings(
            ("Fleet__queueServiceUri", "https://fleetq.queue.core.windows.net"),
            ("Fleet__blobServiceUri", "https://fleetq.blob.core.windows.net"),
            ("Fleet__credential", "managedidentity"),
            ("Fleet__clientId", "00000000-0000-0000-0000-000000000001"));
        var connection = StorageAccountConnection.Resolve(settings, "Fleet");
        Assert.Equal("Fleet", connection.Setting);
        Assert.Equal(new Uri("https://fleetq.queue.core.windows.net"), connection.QueueServiceUri);
        Assert.IsType<ManagedIdentityCredential>(connection.Credential);
        var queues = connection.CreateQueueServiceClient(StorageAccountConnection.NewQueueOptions());
        Assert.Equal("fleetq", queues.AccountName);

        var byAccount = StorageAccountConnection.Resolve(Settings(("Other__accountName", "fleetacct")), "Other");
        Assert.Equal(new Uri("https://fleetacct.blob.core.windows.net"), byAccount.BlobServiceUri);
        Assert.IsType<DefaultAzureCredential>(byAccount.Credential);
    }

    [Theory]
    [InlineData("Fleet__queueServiceUri", "http://plain.example", "Fleet__queueServiceUri")]
    [InlineData("Fleet__credential", "certificate", "Fleet")]
    [InlineData("Fleet", "AccountName=x;AccountKey=not-base64!!", "Fleet")]
    public void A_bad_connection_names_the_setting_without_showing_secrets(string key, string value, string named)
    {
        var settings = key == "Fleet__credential" ? Settings((key, value), ("Fleet__accountName", "fleetacct")) : Settings((key, value));
        var error = Assert.Throws<HostConfigurationException>(() => StorageAccountConnection.Resolve(settings, "Fleet"));
        Assert.Equal(named, error.Setting);
        Assert.DoesNotContain("not-base64", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_missing_connection_says_how_to_set_it()
    {
        var error = Assert.Throws<HostConfigurationException>(() => StorageAccountConnection.Resolve(Settings(), "Fleet"));
        Assert.Equal("Fleet", error.Setting);
        Assert.Contains("Fleet__queueServiceUri", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_sas_connection_keeps_its_signature_out_of_the_endpoint()
    {
        var connection = StorageAccountConnection.Resolve(Settings(("AzureWebJobsStorage", "BlobEndpoint=https://a.blob.core.windows.net;SharedAccessSignature=sv=1&sig=secret")), null);
        Assert.Equal(new Uri("https://a.blob.core.windows.net/"), connection.BlobServiceUri);
        Assert.Null(connection.QueueServiceUri);
        Assert.Equal("AzureWebJobsStorage", Assert.Throws<HostConfigurationException>(connection.RequireQueues).Setting);
    }

    [Fact]
    public void TimeSpan_and_six_field_schedules_parse_and_others_are_refused_with_the_reason()
    {
        Assert.True(TimerSchedule.TryParse("00:00:10", TimeZoneInfo.Utc, out var interval, out _));
        var at = new DateTimeOffset(2026, 3, 1, 10, 0, 0, TimeSpan.Zero);
        Assert.Equal(at.AddSeconds(10), interval!.NextAfter(at));
        Assert.Equal(TimeSpan.FromSeconds(10), interval.MinimumInterval());
        Assert.True(TimerSchedule.TryParse("0 */5 * * * *", TimeZoneInfo.Utc, out var cron, out _));
        Assert.Equal(at.AddMinutes(5), cron!.NextAfter(at));
        Assert.False(TimerSchedule.TryParse("*/5 * * * *", TimeZoneInfo.Utc, out _, out var error));
        Assert.Contains("six-field NCRONTAB", error, StringComparison.Ordinal);
        Assert.False(TimerSchedule.TryParse("00:00:00", TimeZoneInfo.Utc, out _, out _));
    }

    [Fact]
    public void The_timer_payload_has_the_shape_the_worker_reads()
    {
        var timer = new TimerInfo
        {
            IsPastDue = true,
            ScheduleStatus = new ScheduleStatus { Last = new DateTime(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc), Next = new DateTime(2026, 1, 2, 0, 0, 0, DateTimeKind.Utc), LastUpdated = new DateTime(2026, 1, 1, 0, 0, 1, DateTimeKind.Utc) },
        };
        Assert.Equal(
            """{"ScheduleStatus":{"Last":"2026-01-01T00:00:00Z","Next":"2026-01-02T00:00:00Z","LastUpdated":"2026-01-01T00:00:01Z"},"IsPastDue":true}""",
            TimerTriggerListenerFactory.Payload(timer).Json);
    }

    [Fact]
    public void A_queue_message_becomes_string_json_bytes_or_model_binding_data_with_the_trigger_metadata()
    {
        var message = QueuesModelFactory.QueueMessage("id-1", "receipt-1", "ignored", 2, DateTimeOffset.UnixEpoch.AddDays(1), DateTimeOffset.UnixEpoch, DateTimeOffset.UnixEpoch.AddDays(7));
        var body = "{\"deviceId\":\"d-1\"}"u8.ToArray();
        var spec = (string? dataType) => new BindingSpec("msg", "queueTrigger", "In", dataType, []);

        Assert.Equal(TypedData.DataOneofCase.Json, QueueTriggerData.For(message, body, spec(null), false).TriggerValue.DataCase);
        Assert.Equal("plain", QueueTriggerData.For(message, "plain"u8.ToArray(), spec("String"), false).TriggerValue.String);
        Assert.Equal(body, QueueTriggerData.For(message, body, spec("Binary"), false).TriggerValue.Bytes.ToByteArray());

        var invocation = QueueTriggerData.For(message, body, spec(null), true);
        var model = invocation.TriggerValue.ModelBindingData;
        Assert.Equal("AzureStorageQueues", model.Source);
        Assert.Equal("application/json", model.ContentType);
        var content = JsonDocument.Parse(model.Content.ToStringUtf8()).RootElement;
        Assert.Equal("id-1", content.GetProperty("MessageId").GetString());
        Assert.Equal("{\"deviceId\":\"d-1\"}", content.GetProperty("MessageText").GetString());
        Assert.Equal(2, content.GetProperty("DequeueCount").GetInt64());

        Assert.Equal("{\"deviceId\":\"d-1\"}", invocation.TriggerMetadata["QueueTrigger"].String);
        Assert.Equal("id-1", invocation.TriggerMetadata["Id"].String);
        Assert.Equal("receipt-1", invocation.TriggerMetadata["PopReceipt"].String);
        Assert.Equal("2", invocation.TriggerMetadata["DequeueCount"].Json);
        Assert.Equal("\"1970-01-01T00:00:00+00:00\"", invocation.TriggerMetadata["InsertionTime"].Json);
        Assert.Contains("ExpirationTime", invocation.TriggerMetadata.Keys);
        Assert.Contains("NextVisibleTime", invocation.TriggerMetadata.Keys);
    }

    [Fact]
    public void A_collection_or_json_array_output_is_one_message_per_element()
    {
        Assert.Equal(["a", "b"], QueueOutputHandler.Messages(new TypedData { CollectionString = new CollectionString { String = { "a", "b" } } }).Select(m => m.ToString()));
        Assert.Equal(["x", "{\"n\":1}"], QueueOutputHandler.Messages(new TypedData { Json = """["x",{"n":1}]""" }).Select(m => m.ToString()));
        Assert.Equal(["{\"n\":1}"], QueueOutputHandler.Messages(new TypedData { Json = """{"n":1}""" }).Select(m => m.ToString()));
        Assert.Equal([new byte[] { 1, 2 }], QueueOutputHandler.Messages(new TypedData { Bytes = ByteString.CopyFrom(1, 2) }).Select(m => m.ToArray()));
    }
}
