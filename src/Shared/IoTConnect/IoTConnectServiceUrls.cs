using System.Text.Json.Serialization;
using Azure.Core;
using Fleet.Shared.Identity;
using Microsoft.Extensions.Logging;

namespace Fleet.Shared.IoTConnect;

/// <summary>Base URLs of the four IoTConnect services a client calls, each ending in its version path and '/'.</summary>
public sealed record IoTConnectServiceUrls(Uri Auth, Uri Device, Uri User, Uri Firmware);

/// <summary>
/// Finds the service URLs: the configured ones, and for any not configured the discovery service's answer
/// (<c>GET {discovery}api/uisdk/solutionkey/{key}/env/{env}?version=2&amp;pf=az</c>, no auth; reference §3.1),
/// asked once and kept.
/// </summary>
internal sealed class IoTConnectServiceLocator
{
    private readonly SingleFlight<IoTConnectServiceUrls> _urls;

    public IoTConnectServiceLocator(IoTConnectClientOptions options, IoTConnectCaller caller, IoTConnectCredentialSource credentials, ILogger logger)
    {
        _urls = new SingleFlight<IoTConnectServiceUrls>(async () =>
        {
            if (options.HasAllServiceUrls)
            {
                return new IoTConnectServiceUrls(Slash(options.AuthUrl!), Slash(options.DeviceUrl!), Slash(options.UserUrl!), Slash(options.FirmwareUrl!));
            }

            var solutionKey = (await credentials.GetAsync(CancellationToken.None).ConfigureAwait(false)).SolutionKey;
            var discovery = Slash(options.DiscoveryUrl!);
            var version = string.Equals(options.Platform, "aws", StringComparison.OrdinalIgnoreCase) ? "2.1" : "2";
            var call = new IoTConnectCall("discovery", RequestMethod.Get, discovery,
                $"api/uisdk/solutionkey/{Uri.EscapeDataString(solutionKey)}/env/{Uri.EscapeDataString(options.Environment)}?version={version}&pf={Uri.EscapeDataString(options.Platform)}",
                LogPath: "api/uisdk/solutionkey/[redacted]/env/" + options.Environment);
            var response = await caller.SendAsync("IoTConnect-discovery|" + discovery.Authority, call, CancellationToken.None).ConfigureAwait(false);
            var found = IoTConnectEnvelope.ReadData<DiscoveryData>(response, "a discovery answer");
            var urls = new IoTConnectServiceUrls(
                options.AuthUrl is { } a ? Slash(a) : Required(found.AuthBaseUrl, "authBaseUrl"),
                options.DeviceUrl is { } d ? Slash(d) : Required(found.DeviceBaseUrl, "deviceBaseUrl"),
                options.UserUrl is { } u ? Slash(u) : Required(found.UserBaseUrl, "userBaseUrl"),
                options.FirmwareUrl is { } f ? Slash(f) : Required(found.FirmwareBaseUrl, "firmwareBaseUrl"));
            logger.ServicesDiscovered(options.Environment, urls.Auth, urls.Device, urls.User, urls.Firmware);
            return urls;
        });
    }

    /// <summary>The service URLs (discovered on first use when not all are configured).</summary>
    public Task<IoTConnectServiceUrls> GetAsync(CancellationToken cancellationToken) => _urls.GetAsync(cancellationToken);

    internal static Uri Slash(Uri uri) => uri.AbsoluteUri.EndsWith('/') ? uri : new Uri(uri.AbsoluteUri + "/");

    private static Uri Required(string? value, string name) =>
        Uri.TryCreate(value, UriKind.Absolute, out var uri) && LoopbackAwareBearerTokenPolicy.IsSecureOrLoopback(uri)
            ? Slash(uri)
            : throw new IoTConnectApiException(200, null, null, null,
                $"IoTConnect discovery answered without a usable {name} (an absolute https URL is required).")
            {
                Service = "discovery",
            };

    private sealed record DiscoveryData(
        [property: JsonPropertyName("authBaseUrl")] string? AuthBaseUrl,
        [property: JsonPropertyName("deviceBaseUrl")] string? DeviceBaseUrl,
        [property: JsonPropertyName("userBaseUrl")] string? UserBaseUrl,
        [property: JsonPropertyName("firmwareBaseUrl")] string? FirmwareBaseUrl);
}
