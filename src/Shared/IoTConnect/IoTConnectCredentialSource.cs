using Fleet.Shared.Identity;
using Microsoft.Extensions.Logging;

namespace Fleet.Shared.IoTConnect;

/// <summary>The login of a solution's user. Never logged, never put in a message.</summary>
internal sealed record IoTConnectCredentials(string Username, string Password, string SolutionKey);

/// <summary>
/// The connection's credentials: the username from settings, the password and solution key from settings or from
/// Key Vault secrets (read once with the connection's identity; a failed read is tried again on the next call).
/// Every secret is handed to the redactor before anything can echo it.
/// </summary>
internal sealed class IoTConnectCredentialSource
{
    private readonly SingleFlight<IoTConnectCredentials> _credentials;

    public IoTConnectCredentialSource(IoTConnectClientOptions options, string connectionName, KeyVaultSecretReader? keyVault,
        SecretRedactor redactor, ILogger logger)
    {
        _credentials = new SingleFlight<IoTConnectCredentials>(async () =>
        {
            async Task<string> ReadAsync(string? value, Uri? secretUri, string setting)
            {
                if (!string.IsNullOrEmpty(value))
                {
                    return value;
                }

                var name = $"{connectionName}__{setting}";
                if (secretUri is null || keyVault is null)
                {
                    throw new InvalidOperationException($"Setting '{connectionName}__{setting[..^"SecretUri".Length]}' or '{name}' is required.");
                }

                var secret = await keyVault.ReadAsync(secretUri, name, CancellationToken.None).ConfigureAwait(false);
                logger.SecretRead(name, secretUri.AbsolutePath);
                return secret;
            }

            var password = await ReadAsync(options.Password, options.PasswordSecretUri, "passwordSecretUri").ConfigureAwait(false);
            redactor.Add(password);
            var solutionKey = await ReadAsync(options.SolutionKey, options.SolutionKeySecretUri, "solutionKeySecretUri").ConfigureAwait(false);
            redactor.Add(solutionKey);
            return new IoTConnectCredentials(options.Username!, password, solutionKey);
        });
    }

    public Task<IoTConnectCredentials> GetAsync(CancellationToken cancellationToken) => _credentials.GetAsync(cancellationToken);
}
