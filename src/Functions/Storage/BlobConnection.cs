using Azure.Storage.Blobs;
using Fleet.Shared.Identity;
using Microsoft.Extensions.Configuration;

namespace Fleet.Functions.Storage;

/// <summary>
/// Makes the app's <see cref="BlobServiceClient"/> from a connection the way Azure Functions reads one: a connection
/// string (<c>AzureWebJobsStorage</c>, <c>UseDevelopmentStorage=true</c> included), or identity-based settings
/// (<c>AzureWebJobsStorage__blobServiceUri</c> or <c>__accountName</c>, with <c>__credential</c>, <c>__clientId</c>, …).
/// </summary>
internal static class BlobConnection
{
    /// <summary>The client of connection <paramref name="name"/>.</summary>
    /// <exception cref="InvalidOperationException">The connection is not configured; the message names the settings.</exception>
    public static BlobServiceClient Create(IConfiguration configuration, string name)
    {
        var section = configuration.GetSection(name);
        if (!string.IsNullOrWhiteSpace(section.Value))
        {
            return new BlobServiceClient(section.Value);
        }

        var serviceUri = section["blobServiceUri"] is { Length: > 0 } uri
            ? new Uri(uri, UriKind.Absolute)
            : section["accountName"] is { Length: > 0 } account
                ? new Uri($"https://{account}.blob.core.windows.net/")
                : throw new InvalidOperationException(
                    $"Setting '{name}' is missing: give a connection string, or '{name}__accountName' / '{name}__blobServiceUri' for an identity-based connection.");
        return new BlobServiceClient(serviceUri, ConnectionCredentials.Create(configuration, name));
    }
}
