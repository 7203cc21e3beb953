using System.Text.Json;
using Azure.Core;
using Fleet.Shared.Resilience;

namespace Fleet.Shared.Identity;

/// <summary>
/// Reads one Key Vault secret (<c>GET {secretUri}?api-version=7.4</c> → <c>{ "value" }</c>) with a connection's
/// identity, for settings given as a secret reference instead of a value. The secret never reaches a message.
/// </summary>
internal sealed class KeyVaultSecretReader(ResilientPipeline pipeline)
{
    private const string ApiVersion = "7.4";

    /// <summary>
    /// True for <c>https://{vault}/secrets/{name}[/{version}]</c> (plain http only to a loopback host, whose path may
    /// have a prefix, as the simulator's <c>keyvault/secrets/…</c> has).
    /// </summary>
    public static bool IsSecretUri(Uri? uri) =>
        LoopbackAwareBearerTokenPolicy.IsSecureOrLoopback(uri)
        && uri!.AbsolutePath.Split('/', StringSplitOptions.RemoveEmptyEntries) is { Length: >= 2 } segments
        && (IsSecrets(segments[^2]) || (segments.Length >= 3 && IsSecrets(segments[^3])))
        && string.IsNullOrEmpty(uri.Query);

    private static bool IsSecrets(string segment) => string.Equals(segment, "secrets", StringComparison.OrdinalIgnoreCase);

    /// <summary>The secret's value.</summary>
    /// <exception cref="InvalidOperationException">The vault refused or the answer has no value; the message names <paramref name="setting"/>.</exception>
    public async Task<string> ReadAsync(Uri secretUri, string setting, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(secretUri);
        var result = await pipeline.SendAsync("KeyVault|" + secretUri.Authority, request =>
        {
            request.Method = RequestMethod.Get;
            request.Uri.Reset(new Uri(secretUri.AbsoluteUri + "?api-version=" + ApiVersion));
            request.Headers.Add(HttpHeader.Names.Accept, "application/json");
        }, onRetry: null, cancellationToken).ConfigureAwait(false);

        var where = $"Setting '{setting}' names the Key Vault secret {secretUri.GetLeftPart(UriPartial.Path)}";
        if (result.Response is not { } response)
        {
            if (result.Exception is OperationCanceledException && cancellationToken.IsCancellationRequested)
            {
                throw new OperationCanceledException("Reading the Key Vault secret was cancelled.", result.Exception, cancellationToken);
            }

            throw new InvalidOperationException($"{where}, which gave no answer: {result.Exception?.GetType().Name}.", result.Exception);
        }

        try
        {
            using var document = JsonDocument.Parse(response.Content.ToMemory());
            var root = document.RootElement;
            if (result.IsSuccess && root.TryGetProperty("value", out var value) && value.ValueKind == JsonValueKind.String
                && value.GetString() is { Length: > 0 } secret)
            {
                return secret;
            }

            var code = root.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.Object
                       && error.TryGetProperty("code", out var c) ? c.GetString() : null;
            throw new InvalidOperationException($"{where}, which answered {response.Status}" + (code is null ? "." : $" {code}."));
        }
        catch (JsonException)
        {
            throw new InvalidOperationException($"{where}, which answered {response.Status} with a body that is not JSON.");
        }
    }
}
