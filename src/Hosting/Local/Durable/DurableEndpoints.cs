using Fleet.Durable.Grpc;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Fleet.Hosting.Local.Durable;

/// <summary>
/// The Durable endpoints on the host's listeners: the TaskHubSidecarService (what the worker's durableClient calls)
/// beside FunctionRpc on the worker-facing HTTP/2 listener, the management API on the front door. Also keeps both
/// addresses for the durableClient binding.
/// </summary>
internal sealed class DurableEndpoints(IServiceProvider services) : ILocalHostEndpoints
{
    private readonly TaskCompletionSource<(Uri WorkerFacing, Uri Front)> _addresses = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The listeners' addresses, once the host listens.</summary>
    public Task<(Uri WorkerFacing, Uri Front)> Addresses => _addresses.Task;

    /// <inheritdoc />
    public void ConfigureWorkerFacingServices(IServiceCollection workerFacing)
    {
        // The worker-facing server has its own container: it serves the host's one service (and backend), created on the
        // first call and owned (disposed) by the host's container, not by this one.
        workerFacing.AddSingleton(_ => services.GetRequiredService<TaskHubSidecarService>());
    }

    /// <inheritdoc />
    public void MapWorkerFacing(IEndpointRouteBuilder endpoints) => endpoints.MapDurableTaskSidecar();

    /// <inheritdoc />
    public void MapFront(IEndpointRouteBuilder endpoints) => DurableManagementApi.Map(endpoints, services);

    /// <inheritdoc />
    public void Listening(Uri workerFacing, Uri front) => _addresses.TrySetResult((workerFacing, front));
}
