using Fleet.Hosting.Rpc.Protocol;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.Options;

namespace Fleet.Hosting.Local.Durable;

/// <summary>
/// The <c>durableClient</c> input binding: the JSON the worker's Durable extension builds its <c>DurableTaskClient</c>
/// from, pointing at this host's TaskHubSidecarService and management API.
/// </summary>
internal sealed class DurableClientBindingProvider(DurableFunctionsSettings settings, IOptions<DurableFunctionsOptions> options, IServiceProvider services)
    : IInputBindingProvider
{
    /// <summary>The management API's path.</summary>
    public const string ManagementPath = "/runtime/webhooks/durabletask";

    /// <inheritdoc />
    public string BindingType => "durableClient";

    /// <inheritdoc />
    public Task<TypedData> ReadAsync(FunctionSpec function, BindingSpec binding, TriggerInvocation invocation, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(function);
        ArgumentNullException.ThrowIfNull(binding);
        return Task.FromResult(new TypedData { String = Payload(function, binding).ToJson() });
    }

    /// <summary>The payload for one binding.</summary>
    /// <exception cref="InvalidOperationException">The binding names a task hub this host does not serve.</exception>
    public DurableClientBindingPayload Payload(FunctionSpec function, BindingSpec binding)
    {
        var hub = binding.Raw["taskHub"]?.GetValue<string>();
        if (!string.IsNullOrEmpty(hub) && !string.Equals(hub, settings.HubName, StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidOperationException(
                $"The durableClient binding '{binding.Name}' of function '{function.Name}' names task hub '{hub}', but this host serves task hub '{settings.HubName}' (host.json extensions.durableTask.hubName).");
        }

        var value = options.Value;
        var http = value.HttpBaseUrl ?? ListeningAddress();
        var rpc = value.RpcBaseUrl ?? http;
        return new DurableClientBindingPayload(
            rpc,
            settings.HubName,
            binding.Raw["connectionName"]?.GetValue<string>() is { Length: > 0 } connection ? connection : null,
            QueryString(settings.HubName, value),
            new Uri(http, ManagementPath),
            MaxGrpcMessageSizeInBytes: null,
            GrpcHttpClientTimeout: null);
    }

    /// <summary>The query every management URL carries: task hub, connection and (when set) the system key.</summary>
    public static string QueryString(string hubName, DurableFunctionsOptions options) =>
        $"taskHub={Uri.EscapeDataString(hubName)}&connection={Uri.EscapeDataString(options.ConnectionName)}"
        + (options.SystemKey is { Length: > 0 } key ? "&code=" + Uri.EscapeDataString(key) : string.Empty);

    private Uri ListeningAddress()
    {
        var addresses = (services.GetService(typeof(IServer)) as IServer)?.Features.Get<IServerAddressesFeature>()?.Addresses;
        var first = addresses?.FirstOrDefault()
            ?? throw new InvalidOperationException("The host is not listening yet, so the durableClient binding has no endpoint to point at.");

        // A wildcard listener is reached over loopback.
        var uri = new UriBuilder(first.Replace("://+", "://127.0.0.1", StringComparison.Ordinal).Replace("://*", "://127.0.0.1", StringComparison.Ordinal));
        if (uri.Host is "0.0.0.0" or "[::]" or "::")
        {
            uri.Host = "127.0.0.1";
        }

        uri.Path = "/";
        return uri.Uri;
    }
}
