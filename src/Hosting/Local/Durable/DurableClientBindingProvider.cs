using Fleet.Hosting.Configuration;
using Fleet.Hosting.Durable;
using Fleet.Hosting.Rpc.Protocol;
using Microsoft.Extensions.Options;

namespace Fleet.Hosting.Local.Durable;

/// <summary>
/// The <c>durableClient</c> input binding: the JSON the worker's Durable extension builds its <c>DurableTaskClient</c>
/// from, pointing at this host's TaskHubSidecarService and management API.
/// </summary>
internal sealed class DurableClientBindingProvider(
    DurableFunctionsRuntime runtime, DurableEndpoints endpoints, DurableFunctionsSettings settings, HostSettings hostSettings, IOptions<DurableFunctionsOptions> options)
    : IInputBindingProvider
{
    /// <summary>The connection name the management URLs carry, as Durable Functions writes it.</summary>
    public const string ManagementConnectionName = "Storage";

    /// <inheritdoc />
    public string BindingType => "durableClient";

    /// <inheritdoc />
    public async Task<TypedData> ReadAsync(FunctionSpec function, BindingSpec binding, TriggerInvocation invocation, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(function);
        ArgumentNullException.ThrowIfNull(binding);
        await runtime.OpenStoreAsync(cancellationToken).ConfigureAwait(false);
        var (workerFacing, front) = await endpoints.Addresses.WaitAsync(cancellationToken).ConfigureAwait(false);
        return new TypedData { String = Payload(function, binding, workerFacing, front).ToJson() };
    }

    /// <summary>The payload for one binding.</summary>
    /// <exception cref="InvalidOperationException">The binding names a task hub this host does not serve.</exception>
    public DurableClientBindingPayload Payload(FunctionSpec function, BindingSpec binding, Uri workerFacing, Uri front)
    {
        ArgumentNullException.ThrowIfNull(function);
        ArgumentNullException.ThrowIfNull(binding);
        var hubName = runtime.HubName;
        var hub = binding.Raw["taskHub"]?.GetValue<string>();
        if (!string.IsNullOrEmpty(hub) && !string.Equals(hub, hubName, StringComparison.OrdinalIgnoreCase))
        {
            throw new InvalidOperationException(
                $"The durableClient binding '{binding.Name}' of function '{function.Name}' names task hub '{hub}', but this host serves task hub '{hubName}' (host.json extensions.durableTask.hubName).");
        }

        var origin = options.Value.HttpBaseUrl ?? front;
        return new DurableClientBindingPayload(
            options.Value.RpcBaseUrl ?? workerFacing,
            hubName,
            binding.Raw["connectionName"]?.GetValue<string>() is { Length: > 0 } connection ? connection : null,
            DurableHttpApiCommon.Query(hubName, ManagementConnectionName, hostSettings.Keys.DurableTaskKey),
            new Uri(origin, DurableHttpApiCommon.BasePath),
            settings.MaxGrpcMessageSizeInBytes,
            GrpcHttpClientTimeout: null);
    }
}
