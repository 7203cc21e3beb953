using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;

namespace Fleet.Hosting.Local;

/// <summary>
/// Endpoints a binding serves on the host's own listeners (resolved from DI, like the listener factories): gRPC services
/// beside FunctionRpc on the worker-facing HTTP/2 listener, and routes on the HTTP front door.
/// </summary>
public interface ILocalHostEndpoints
{
    /// <summary>Registers, in the worker-facing server's services, what <see cref="MapWorkerFacing"/> needs.</summary>
    void ConfigureWorkerFacingServices(IServiceCollection services);

    /// <summary>Maps endpoints on the worker-facing listener (HTTP/2 cleartext, loopback).</summary>
    void MapWorkerFacing(IEndpointRouteBuilder endpoints);

    /// <summary>Maps routes on the HTTP front door.</summary>
    void MapFront(IEndpointRouteBuilder endpoints);

    /// <summary>Both listeners' addresses, once they listen and before any trigger listener starts.</summary>
    void Listening(Uri workerFacing, Uri front);
}
