using System.Globalization;
using Azure.Core;
using Azure.Core.Pipeline;

namespace Fleet.Shared.IoTCentral;

/// <summary>
/// An IoT Central API token value, <c>SharedAccessSignature sr=…&amp;sig=…&amp;skn=&lt;token id&gt;&amp;se=&lt;expiry,
/// epoch ms&gt;</c>, with the id and expiry it names. <see cref="ToString"/> never shows the value.
/// </summary>
internal sealed class ApiTokenValue
{
    public const string Scheme = "SharedAccessSignature";

    private ApiTokenValue(string value, string tokenId, DateTimeOffset expiresOn)
    {
        Value = value;
        TokenId = tokenId;
        ExpiresOn = expiresOn;
    }

    /// <summary>The whole Authorization header value (a secret).</summary>
    public string Value { get; }

    /// <summary>The token's id (<c>skn</c>).</summary>
    public string TokenId { get; }

    /// <summary>The token's expiry (<c>se</c>).</summary>
    public DateTimeOffset ExpiresOn { get; }

    /// <summary>Reads a token value; null with a reason (that never quotes the value) when it is not one.</summary>
    public static ApiTokenValue? TryParse(string? text, out string? problem)
    {
        problem = null;
        var value = text?.Trim();
        if (string.IsNullOrEmpty(value))
        {
            problem = "is empty";
            return null;
        }

        if (!value.StartsWith(Scheme + " ", StringComparison.Ordinal))
        {
            problem = value.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)
                ? "must be the API token as IoT Central shows it ('SharedAccessSignature sr=…'), not a Bearer token"
                : "must start with 'SharedAccessSignature ' (the API token as IoT Central shows it)";
            return null;
        }

        string? tokenId = null;
        string? expiry = null;
        var hasSignature = false;
        foreach (var part in value[(Scheme.Length + 1)..].Trim().Split('&'))
        {
            var equals = part.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0)
            {
                continue;
            }

            var key = part[..equals];
            var field = Uri.UnescapeDataString(part[(equals + 1)..]);
            switch (key)
            {
                case "skn":
                    tokenId = field;
                    break;
                case "se":
                    expiry = field;
                    break;
                case "sig":
                    hasSignature = field.Length > 0;
                    break;
            }
        }

        if (!hasSignature || string.IsNullOrEmpty(tokenId))
        {
            problem = "lacks its 'sig' or 'skn' field";
            return null;
        }

        if (!long.TryParse(expiry, NumberStyles.None, CultureInfo.InvariantCulture, out var milliseconds)
            || milliseconds > DateTimeOffset.MaxValue.ToUnixTimeMilliseconds())
        {
            problem = "lacks a readable 'se' (expiry, epoch milliseconds) field";
            return null;
        }

        return new ApiTokenValue(value, tokenId, DateTimeOffset.FromUnixTimeMilliseconds(milliseconds));
    }

    public override string ToString() => $"API token {TokenId} (expires {ExpiresOn:O})";
}

/// <summary>The API token in use; rotation swaps it while calls are in flight.</summary>
internal sealed class ApiTokenHolder(ApiTokenValue initial)
{
    private volatile ApiTokenValue _current = initial;

    public ApiTokenValue Current => _current;

    public void Replace(ApiTokenValue next) => _current = next;
}

/// <summary>Sends the API token as the whole Authorization header (no Bearer prefix), as IoT Central expects.</summary>
internal sealed class ApiTokenAuthenticationPolicy(ApiTokenHolder holder) : HttpPipelineSynchronousPolicy
{
    public override void OnSendingRequest(HttpMessage message) =>
        message.Request.Headers.SetValue(HttpHeader.Names.Authorization, holder.Current.Value);
}

/// <summary>Where the API token comes from: <c>apiToken</c> itself, or the file <c>apiTokenFile</c> names.</summary>
internal static class ApiTokenSource
{
    /// <summary>The configured token, or null when the settings configure none (Entra authentication).</summary>
    /// <exception cref="InvalidOperationException">The setting is not a readable API token; the message names it.</exception>
    public static ApiTokenValue? Read(IoTCentralClientOptions options, string connectionName = "IoTCentral")
    {
        string? text;
        string setting;
        if (!string.IsNullOrWhiteSpace(options.ApiToken))
        {
            text = options.ApiToken;
            setting = "apiToken";
        }
        else if (!string.IsNullOrWhiteSpace(options.ApiTokenFile))
        {
            setting = "apiTokenFile";
            try
            {
                text = File.ReadAllText(options.ApiTokenFile);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                throw new InvalidOperationException(
                    $"Setting '{connectionName}__apiTokenFile' names a file that cannot be read ({ex.GetType().Name}).", ex);
            }
        }
        else
        {
            return null;
        }

        return ApiTokenValue.TryParse(text, out var problem)
            ?? throw new InvalidOperationException(setting == "apiToken"
                ? $"Setting '{connectionName}__apiToken' {problem}."
                : $"The file named by setting '{connectionName}__apiTokenFile' {problem}.");
    }

    /// <summary>
    /// Replaces the file's content with <paramref name="value"/> through a private temporary file and a rename, so a
    /// reader never sees half a token and the token is never readable by other users.
    /// </summary>
    public static void Write(string path, string value)
    {
        var full = Path.GetFullPath(path);
        var temporary = full + "." + Guid.NewGuid().ToString("N")[..8] + ".tmp";
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        }

        try
        {
            using (var stream = new FileStream(temporary, options))
            using (var writer = new StreamWriter(stream))
            {
                writer.Write(value);
            }

            File.Move(temporary, full, overwrite: true);
        }
        finally
        {
            File.Delete(temporary);
        }
    }
}
