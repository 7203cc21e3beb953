using Microsoft.Extensions.Configuration;

namespace Fleet.Storage.Tests;

public sealed class StorageConnectionTests
{
    private const string Key = "c2VjcmV0LWtleS1ieXRlcy10aGF0LW11c3Qtbm90LWxlYWstMDEyMzQ1Njc4OQ==";
    private const string Sig = "sv=2025-01-05&ss=bq&srt=sco&sp=rwdlacup&se=2030-01-01T00%3A00%3A00Z&sig=TOPSECRETSIGNATURE%3D";

    [Fact]
    public void UseDevelopmentStorage_maps_to_the_emulator_ports_and_account()
    {
        var connection = StorageConnection.Parse("UseDevelopmentStorage=true");
        Assert.True(connection.IsDevelopmentStorage);
        Assert.Equal("devstoreaccount1", connection.AccountName);
        Assert.Equal(new Uri("http://127.0.0.1:10000/devstoreaccount1"), connection.BlobEndpoint);
        Assert.Equal(new Uri("http://127.0.0.1:10001/devstoreaccount1"), connection.QueueEndpoint);
        Assert.Equal(StorageCredentialKind.SharedKey, connection.CredentialKind);
        Assert.Equal(new Uri("http://127.0.0.1:10001/devstoreaccount1/jobs"), connection.CreateQueueServiceClient().GetQueueClient("jobs").Uri);
    }

    [Fact]
    public void UseDevelopmentStorage_honours_a_proxy_and_refuses_other_keys()
    {
        var proxied = StorageConnection.Parse("UseDevelopmentStorage=true;DevelopmentStorageProxyUri=http://emulator.local");
        Assert.Equal(new Uri("http://emulator.local:10000/devstoreaccount1"), proxied.BlobEndpoint);

        Assert.Contains("AccountName", Assert.Throws<FormatException>(() => StorageConnection.Parse("UseDevelopmentStorage=true;AccountName=x")).Message);
        Assert.Contains("'true'", Assert.Throws<FormatException>(() => StorageConnection.Parse("UseDevelopmentStorage=false")).Message);
    }

    [Fact]
    public void Account_key_strings_derive_endpoints_from_protocol_and_suffix()
    {
        var connection = StorageConnection.Parse(
            $"DefaultEndpointsProtocol=http;AccountName=fleetstore;AccountKey={Key};EndpointSuffix=core.chinacloudapi.cn");
        Assert.Equal(new Uri("http://fleetstore.blob.core.chinacloudapi.cn"), connection.BlobEndpoint);
        Assert.Equal(new Uri("http://fleetstore.queue.core.chinacloudapi.cn"), connection.QueueEndpoint);
        Assert.Equal("fleetstore", connection.AccountName);
        Assert.False(connection.IsDevelopmentStorage);

        var defaults = StorageConnection.Parse($"AccountName=fleetstore;AccountKey={Key}");
        Assert.Equal(new Uri("https://fleetstore.blob.core.windows.net"), defaults.BlobEndpoint);
        Assert.Equal(new Uri("https://fleetstore.queue.core.windows.net"), defaults.QueueEndpoint);
    }

    [Fact]
    public void Explicit_endpoints_win_keys_are_case_insensitive_and_stray_separators_are_ignored()
    {
        var connection = StorageConnection.Parse(
            $" accountname=fleetstore ; ACCOUNTKEY={Key};;QueueEndpoint=http://10.0.0.5:7001/fleetstore;" +
            "TableEndpoint=http://10.0.0.5:7002/fleetstore;");
        Assert.Equal(new Uri("http://10.0.0.5:7001/fleetstore"), connection.QueueEndpoint);
        Assert.Equal(new Uri("https://fleetstore.blob.core.windows.net"), connection.BlobEndpoint);
    }

    [Fact]
    public void A_sas_with_explicit_endpoints_needs_no_account_name()
    {
        var hostStyle = StorageConnection.Parse($"BlobEndpoint=https://fleetstore.blob.core.windows.net;SharedAccessSignature=?{Sig}");
        Assert.Equal(StorageCredentialKind.SharedAccessSignature, hostStyle.CredentialKind);
        Assert.Equal("fleetstore", hostStyle.AccountName);
        Assert.Null(hostStyle.QueueEndpoint);
        Assert.Contains("no queue endpoint", Assert.Throws<InvalidOperationException>(() => hostStyle.CreateQueueServiceClient()).Message);

        var pathStyle = StorageConnection.Parse($"QueueEndpoint=http://127.0.0.1:10001/devstoreaccount1;SharedAccessSignature={Sig}");
        Assert.Equal("devstoreaccount1", pathStyle.AccountName);
    }

    [Theory]
    [InlineData("AccountName=fleetstore", "neither AccountKey nor SharedAccessSignature")]
    [InlineData("AccountName=fleetstore;AccountKey=" + Key + ";SharedAccessSignature=" + "sig=x", "both AccountKey and SharedAccessSignature")]
    [InlineData("AccountKey=" + Key + ";QueueEndpoint=http://127.0.0.1:1/a", "AccountKey but no AccountName")]
    [InlineData("AccountName=fleetstore;AccountKey=not*base64", "AccountKey that is not valid Base64")]
    [InlineData("AccountName=fleetstore;AccountKey=" + Key + ";AccountKye=x", "unknown key 'AccountKye'")]
    [InlineData("AccountName=fleetstore;AccountName=other;AccountKey=" + Key, "'AccountName' more than once")]
    [InlineData("AccountName=fleetstore;garbage", "malformed part at position 2")]
    [InlineData("AccountName=fleetstore;" + Key, "unrecognised key")]
    [InlineData("AccountName=fleetstore;AccountKey=" + Key + ";DefaultEndpointsProtocol=ftp", "DefaultEndpointsProtocol")]
    [InlineData("AccountName=fleetstore;AccountKey=" + Key + ";QueueEndpoint=not a uri", "QueueEndpoint that is not an absolute")]
    [InlineData("AccountName=fleetstore;AccountKey=" + Key + ";BlobEndpoint=https://x.blob.core.windows.net/?sv=1", "BlobEndpoint with a query")]
    [InlineData("BlobEndpoint=https://x.blob.core.windows.net;SharedAccessSignature=sv=2025-01-05&sp=r", "without a 'sig' parameter")]
    [InlineData("AccountName=Fleet_Store;AccountKey=" + Key, "not a storage account name")]
    [InlineData("AccountName=fleetstore;AccountKey=", "empty value for 'AccountKey'")]
    [InlineData("  ;  ", "is empty")]
    [InlineData("SharedAccessSignature=sig=abc", "names no account")]
    public void Malformed_connection_strings_are_clear_errors_without_secrets(string connectionString, string expected)
    {
        var error = Assert.Throws<FormatException>(() => StorageConnection.Parse(connectionString));
        Assert.Contains(expected, error.Message);
        Assert.DoesNotContain(Key, error.Message);
        Assert.DoesNotContain("base64", error.Message.Replace("Base64", string.Empty, StringComparison.Ordinal), StringComparison.Ordinal);
    }

    [Fact]
    public void A_pasted_secret_in_place_of_a_key_name_is_not_echoed()
    {
        var error = Assert.Throws<FormatException>(() => StorageConnection.Parse($"AccountName=fleetstore;AccountKey={Key};{Key[..20]}+/x=1"));
        Assert.DoesNotContain(Key[..20], error.Message);
        Assert.Contains("unrecognised key", error.Message);
    }

    [Fact]
    public void ToString_shows_no_key_or_signature()
    {
        Assert.DoesNotContain(Key, StorageConnection.Parse($"AccountName=fleetstore;AccountKey={Key}").ToString());
        Assert.DoesNotContain("TOPSECRET", StorageConnection.Parse($"BlobEndpoint=https://x.blob.core.windows.net;SharedAccessSignature={Sig}").ToString());
    }

    [Fact]
    public void FromConfiguration_reads_the_setting_as_a_connection_string()
    {
        var configuration = Configuration(("AzureWebJobsStorage", "UseDevelopmentStorage=true"));
        var connection = StorageConnection.FromConfiguration(configuration, "AzureWebJobsStorage");
        Assert.True(connection.IsDevelopmentStorage);
    }

    [Fact]
    public void FromConfiguration_follows_the_functions_lookup_order()
    {
        // "Storage" resolves AzureWebJobsStorage first, as a trigger's Connection = "Storage" does in Functions.
        var prefixed = Configuration(
            ("AzureWebJobsStorage", $"AccountName=prefixed;AccountKey={Key}"),
            ("Storage", $"AccountName=plain;AccountKey={Key}"));
        Assert.Equal("prefixed", StorageConnection.FromConfiguration(prefixed, "Storage").AccountName);

        var connectionStrings = Configuration(
            ("ConnectionStrings:Reports", $"AccountName=fromsection;AccountKey={Key}"),
            ("Reports", $"AccountName=plain;AccountKey={Key}"));
        Assert.Equal("fromsection", StorageConnection.FromConfiguration(connectionStrings, "Reports").AccountName);
    }

    [Fact]
    public void FromConfiguration_builds_identity_connections_from_account_name_or_service_uris()
    {
        var byAccount = StorageConnection.FromConfiguration(
            Configuration(("Fleet:accountName", "fleetstore"), ("Fleet:credential", "managedidentity"), ("Fleet:clientId", "11111111-2222-3333-4444-555555555555")),
            "Fleet");
        Assert.Equal(StorageCredentialKind.Token, byAccount.CredentialKind);
        Assert.Equal(new Uri("https://fleetstore.queue.core.windows.net"), byAccount.QueueEndpoint);
        Assert.Equal(new Uri("https://fleetstore.blob.core.windows.net"), byAccount.BlobEndpoint);

        var byUri = StorageConnection.FromConfiguration(
            Configuration(("Fleet:queueServiceUri", "https://fleetstore.queue.core.windows.net")), "Fleet",
            new FakeStorageTokenCredential(TimeSpan.FromHours(1)));
        Assert.Equal("fleetstore", byUri.AccountName);
        Assert.Null(byUri.BlobEndpoint);
        var noBlob = Assert.Throws<InvalidOperationException>(() => byUri.CreateBlobServiceClient());
        Assert.Contains("setting 'Fleet'", noBlob.Message);

        var serviceUri = StorageConnection.FromConfiguration(
            Configuration(("Fleet:serviceUri", "https://fleetstore.blob.core.windows.net")), "Fleet",
            new FakeStorageTokenCredential(TimeSpan.FromHours(1)));
        Assert.Equal(new Uri("https://fleetstore.blob.core.windows.net"), serviceUri.BlobEndpoint);
    }

    [Theory]
    [InlineData("Fleet:queueServiceUri", "http://fleetstore.queue.core.windows.net", "'Fleet__queueServiceUri' must be an absolute https URI")]
    [InlineData("Fleet:blobServiceUri", "blob", "'Fleet__blobServiceUri' must be an absolute https URI")]
    [InlineData("Fleet:accountName", "Not_An_Account", "'Fleet__accountName' is not a storage account name")]
    [InlineData("Fleet:clientId", "11111111-2222-3333-4444-555555555555", "neither a connection string nor 'Fleet__accountName'")]
    [InlineData("Fleet:credential", "certificate", "'Fleet__credential'")]
    public void FromConfiguration_names_the_setting_that_is_wrong(string key, string value, string expected)
    {
        var settings = new List<(string, string)> { (key, value) };
        if (key == "Fleet:credential")
        {
            settings.Add(("Fleet:accountName", "fleetstore"));
        }

        var error = Assert.Throws<InvalidOperationException>(() => StorageConnection.FromConfiguration(Configuration([.. settings]), "Fleet"));
        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public void FromConfiguration_reports_a_missing_or_malformed_connection_by_setting_name_without_secrets()
    {
        var missing = Assert.Throws<InvalidOperationException>(() => StorageConnection.FromConfiguration(Configuration(), "AzureWebJobsStorage"));
        Assert.Contains("'AzureWebJobsStorage' is not configured", missing.Message);
        Assert.Contains("AzureWebJobsStorage__accountName", missing.Message);

        var malformed = Assert.Throws<InvalidOperationException>(() => StorageConnection.FromConfiguration(
            Configuration(("AzureWebJobsStorage", $"AccountName=fleetstore;AccountKey={Key};SharedAccessSignature={Sig}")), "AzureWebJobsStorage"));
        Assert.Contains("setting 'AzureWebJobsStorage'", malformed.Message);
        Assert.DoesNotContain(Key, malformed.Message);
        Assert.DoesNotContain("TOPSECRET", malformed.Message);
        Assert.IsType<FormatException>(malformed.InnerException);
    }

    private static IConfiguration Configuration(params (string Key, string Value)[] settings) =>
        new ConfigurationBuilder()
            .AddInMemoryCollection(settings.Select(s => new KeyValuePair<string, string?>(s.Key, s.Value)))
            .Build();
}
