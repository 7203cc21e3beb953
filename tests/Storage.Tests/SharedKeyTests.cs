using System.Security.Cryptography;
using System.Text;
using Azure.Core;
using Azure.Core.Pipeline;
using Fleet.Testing;

namespace Fleet.Storage.Tests;

/// <summary>Shared Key canonicalization against the examples published in "Authorize with Shared Key".</summary>
public sealed class SharedKeyTests
{
    private static readonly HttpPipeline Pipeline = HttpPipelineBuilder.Build(new StorageClientOptions());

    [Theory]
    [InlineData("https://myaccount.blob.core.windows.net/mycontainer?restype=container&comp=metadata", "/myaccount/mycontainer\ncomp:metadata\nrestype:container")]
    [InlineData(
        "https://myaccount.blob.core.windows.net/mycontainer?restype=container&comp=list&include=snapshots&include=metadata&include=uncommittedblobs",
        "/myaccount/mycontainer\ncomp:list\ninclude:metadata,snapshots,uncommittedblobs\nrestype:container")]
    [InlineData("https://myaccount-secondary.blob.core.windows.net/mycontainer/myblob", "/myaccount/mycontainer/myblob")]
    [InlineData("http://127.0.0.1:10000/myaccount/mycontainer/a%20b?Prefix=x%2By&COMP=list", "/myaccount/myaccount/mycontainer/a%20b\ncomp:list\nprefix:x+y")]
    public void Canonicalized_resource_matches_the_published_examples(string uri, string expected) =>
        Assert.Equal(expected, SharedKeyAuthenticationPolicy.BuildCanonicalizedResource(new Uri(uri), "myaccount"));

    [Fact]
    public void Canonicalized_headers_match_the_published_example_and_are_sorted_lower_cased_and_folded()
    {
        Assert.Equal(
            "x-ms-date:Sat, 21 Feb 2015 00:48:38 GMT\nx-ms-version:2014-02-14\n",
            SharedKeyAuthenticationPolicy.BuildCanonicalizedHeaders([("x-ms-version", "2014-02-14"), ("x-ms-date", "Sat, 21 Feb 2015 00:48:38 GMT")]));
        Assert.Equal(
            "x-ms-blob-type:BlockBlob\nx-ms-meta-a:one two\n",
            SharedKeyAuthenticationPolicy.BuildCanonicalizedHeaders([("X-MS-Meta-A", "  one   two "), ("Content-Type", "text/plain"), ("x-ms-blob-type", "BlockBlob")]));
    }

    [Fact]
    public void String_to_sign_matches_the_published_get_example()
    {
        var request = Pipeline.CreateRequest();
        request.Method = RequestMethod.Get;
        request.Uri.Reset(new Uri("https://myaccount.blob.core.windows.net/mycontainer?restype=container&comp=metadata&timeout=20"));
        request.Headers.SetValue("x-ms-date", "Sun, 11 Oct 2009 21:49:13 GMT");
        request.Headers.SetValue("x-ms-version", "2009-09-19");

        Assert.Equal(
            "GET\n\n\n\n\n\n\n\n\n\n\n\nx-ms-date:Sun, 11 Oct 2009 21:49:13 GMT\nx-ms-version:2009-09-19\n/myaccount/mycontainer\ncomp:metadata\nrestype:container\ntimeout:20",
            SharedKeyAuthenticationPolicy.BuildStringToSign(request, "myaccount"));
    }

    [Fact]
    public void String_to_sign_carries_length_type_and_conditions_in_their_positions()
    {
        var request = Pipeline.CreateRequest();
        request.Method = RequestMethod.Put;
        request.Uri.Reset(new Uri("https://myaccount.blob.core.windows.net/reports/r.json"));
        request.Headers.SetValue("Content-Type", "application/json");
        request.Headers.SetValue("If-Match", "\"0x1\"");
        request.Headers.SetValue("x-ms-blob-type", "BlockBlob");
        request.Content = RequestContent.Create(Encoding.UTF8.GetBytes("hello world"));

        Assert.Equal(
            "PUT\n\n\n11\n\napplication/json\n\n\n\"0x1\"\n\n\n\nx-ms-blob-type:BlockBlob\n/myaccount/reports/r.json",
            SharedKeyAuthenticationPolicy.BuildStringToSign(request, "myaccount"));

        // Zero length signs as empty (version 2015-02-21 and later).
        request.Content = RequestContent.Create(Array.Empty<byte>());
        Assert.StartsWith("PUT\n\n\n\n", SharedKeyAuthenticationPolicy.BuildStringToSign(request, "myaccount"), StringComparison.Ordinal);
    }

    [Fact]
    public void The_policy_stamps_the_date_from_its_clock_and_signs_with_hmac_sha256_of_the_key()
    {
        var key = RandomNumberGenerator.GetBytes(64);
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 3, 1, 12, 30, 5, TimeSpan.Zero));
        var policy = new SharedKeyAuthenticationPolicy("fleetstore", key, clock);
        var message = Pipeline.CreateMessage();
        message.Request.Method = RequestMethod.Delete;
        message.Request.Uri.Reset(new Uri("https://fleetstore.queue.core.windows.net/jobs/messages/abc?popreceipt=AgAAAA%2B%2F%3D"));
        message.Request.Headers.SetValue("x-ms-version", StorageClientOptions.ServiceVersion);

        policy.OnSendingRequest(message);

        Assert.True(message.Request.Headers.TryGetValue("x-ms-date", out var date));
        Assert.Equal("Sun, 01 Mar 2026 12:30:05 GMT", date);
        var expected = $"DELETE\n\n\n\n\n\n\n\n\n\n\n\nx-ms-date:{date}\nx-ms-version:{StorageClientOptions.ServiceVersion}\n" +
            "/fleetstore/jobs/messages/abc\npopreceipt:AgAAAA+/=";
        var signature = Convert.ToBase64String(HMACSHA256.HashData(key, Encoding.UTF8.GetBytes(expected)));
        Assert.True(message.Request.Headers.TryGetValue("Authorization", out var authorization));
        Assert.Equal($"SharedKey fleetstore:{signature}", authorization);
    }

    [Fact]
    public void The_sas_policy_appends_the_signature_once()
    {
        var policy = new SasAuthenticationPolicy("?sv=2025-01-05&sig=abc%3D");
        var message = Pipeline.CreateMessage();
        message.Request.Uri.Reset(new Uri("https://x.queue.core.windows.net/jobs/messages?numofmessages=1"));
        policy.OnSendingRequest(message);
        policy.OnSendingRequest(message);
        Assert.Equal("https://x.queue.core.windows.net/jobs/messages?numofmessages=1&sv=2025-01-05&sig=abc%3D", message.Request.Uri.ToUri().AbsoluteUri);
    }
}
