using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Azure.Core;
using Azure.Core.Pipeline;
using Microsoft.Extensions.Logging;

namespace Fleet.Storage.Tests;

/// <summary>Builds an account SAS the way the Storage service verifies it (version 2020-12-06 and later layout).</summary>
internal static class AccountSas
{
    public static string Create(string accountName, string accountKey, string permissions, DateTimeOffset expiresOn, string services = "bq")
    {
        const string resourceTypes = "sco";
        const string protocols = "https,http";
        var version = StorageClientOptions.ServiceVersion;
        var expiry = expiresOn.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);
        var stringToSign = string.Join('\n', accountName, permissions, services, resourceTypes, string.Empty, expiry,
            string.Empty, protocols, version, string.Empty, string.Empty);
        var signature = Convert.ToBase64String(
            HMACSHA256.HashData(Convert.FromBase64String(accountKey), Encoding.UTF8.GetBytes(stringToSign)));
        return $"sv={version}&ss={services}&srt={resourceTypes}&sp={permissions}&se={Uri.EscapeDataString(expiry)}" +
            $"&spr={Uri.EscapeDataString(protocols)}&sig={Uri.EscapeDataString(signature)}";
    }
}

/// <summary>Records each request's headers and URI just before it goes on the wire.</summary>
internal sealed class RecordingPolicy : HttpPipelineSynchronousPolicy
{
    public ConcurrentQueue<(Uri Uri, Dictionary<string, string> Headers)> Requests { get; } = new();

    public override void OnSendingRequest(HttpMessage message) =>
        Requests.Enqueue((message.Request.Uri.ToUri(), message.Request.Headers.ToDictionary(h => h.Name, h => h.Value, StringComparer.OrdinalIgnoreCase)));
}

/// <summary>
/// Hands out an unsigned JWT with the claims Azurite's basic OAuth checks (audience, issuer, lifetime), and records
/// the scopes asked for.
/// </summary>
internal sealed class FakeStorageTokenCredential(TimeSpan lifetime) : TokenCredential
{
    public ConcurrentQueue<string> Scopes { get; } = new();

    public override AccessToken GetToken(TokenRequestContext requestContext, CancellationToken cancellationToken)
    {
        foreach (var scope in requestContext.Scopes)
        {
            Scopes.Enqueue(scope);
        }

        var now = DateTimeOffset.UtcNow;
        var expires = now + lifetime;
        var header = Base64Url(JsonSerializer.SerializeToUtf8Bytes(new { alg = "RS256", typ = "JWT" }));
        var payload = Base64Url(JsonSerializer.SerializeToUtf8Bytes(new
        {
            aud = "https://storage.azure.com",
            iss = "https://sts.windows.net/00000000-0000-0000-0000-000000000001/",
            iat = now.AddMinutes(-10).ToUnixTimeSeconds(),
            nbf = now.AddMinutes(-10).ToUnixTimeSeconds(),
            exp = expires.ToUnixTimeSeconds(),
            oid = "00000000-0000-0000-0000-000000000002",
        }));
        return new AccessToken($"{header}.{payload}.{Base64Url(Encoding.UTF8.GetBytes("not-verified-by-azurite"))}", expires);
    }

    public override ValueTask<AccessToken> GetTokenAsync(TokenRequestContext requestContext, CancellationToken cancellationToken) =>
        ValueTask.FromResult(GetToken(requestContext, cancellationToken));

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}

/// <summary>Collects log entries written through Microsoft.Extensions.Logging.</summary>
internal sealed class ListLoggerProvider : ILoggerProvider
{
    public ConcurrentQueue<(EventId Id, LogLevel Level, string Message)> Entries { get; } = new();

    public ILogger CreateLogger(string categoryName) => new ListLogger(this);

    public void Dispose()
    {
    }

    private sealed class ListLogger(ListLoggerProvider owner) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            owner.Entries.Enqueue((eventId, logLevel, formatter(state, exception) + (exception is null ? string.Empty : " " + exception)));
    }
}
