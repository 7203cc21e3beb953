using System.Net;
using DurableTask.Core.Exceptions;
using Microsoft.DurableTask.Client;
using Fleet.Functions.Http;
using Fleet.Functions.Sphere;
using Microsoft.Azure.Functions.Worker;
using Fleet.Shared.DesiredState;
using Fleet.Shared.Sphere;
using Microsoft.Azure.Functions.Worker.Http;
using Microsoft.Extensions.Logging;

namespace Fleet.Functions.Rollouts;

/// <summary><c>POST /api/rollouts</c>: starts <c>RolloutDeployment</c>.</summary>
public sealed class RolloutFunctions(ILogger<RolloutFunctions> logger)
{
    /// <summary>The prefix of rollout instance ids.</summary>
    public const string InstancePrefix = "rollout-";

    /// <summary>
    /// Starts a rollout described by a <see cref="RolloutRequest"/>; 202 with the check-status payload (approve a wave
    /// by raising <c>approve</c> through its <c>sendEventPostUri</c>), 409 with the payload when a rollout with that
    /// id is still running.
    /// </summary>
    [Function("StartRollout")]
    public async Task<HttpResponseData> StartRollout(
        [HttpTrigger(AuthorizationLevel.Function, "post", Route = "rollouts")] HttpRequestData request, [DurableClient] DurableTaskClient client)
    {
        var (body, errors) = await HttpJson.ReadAsync<RolloutRequest>(request);
        if (body is null || errors.Count > 0)
        {
            return await HttpJson.BadRequest(request, errors);
        }

        var input = body.ToInput();
        var instanceId = InstancePrefix + (body.Id ?? Guid.NewGuid().ToString("N"));
        try
        {
            await client.ScheduleNewOrchestrationInstanceAsync(
                RolloutDeploymentOrchestration.Name, input, Fleet.Functions.Orchestration.StartOptions.Unique(instanceId), request.FunctionContext.CancellationToken);
        }
        catch (OrchestrationAlreadyExistsException)
        {
            return await HttpJson.WriteAsync(request, HttpStatusCode.Conflict, client.CreateHttpManagementPayload(instanceId, request));
        }

        logger.RolloutScheduled(instanceId, input.Images.Count, input.Waves.Count, input.Tenant);
        return await client.CreateCheckStatusResponseAsync(request, instanceId);
    }
}

/// <summary>Activities of rollouts beyond the shared Sphere steps.</summary>
public sealed class RolloutActivities(SphereClient sphere, TenantDirectory tenants)
{
    /// <summary>Resolves the tenant and every device group (by <c>"Product/Group"</c> or id) of a rollout, before anything is deployed.</summary>
    [Function(nameof(ResolveRolloutTargets))]
    public async Task<ApiResult<RolloutTargets>> ResolveRolloutTargets([ActivityTrigger] RolloutTargetsRequest request, CancellationToken cancellationToken)
    {
        var tenant = await tenants.ResolveAsync(request.Tenant, cancellationToken);
        if (tenant.Error is { } error)
        {
            return ApiResult.Failed<RolloutTargets>(error);
        }

        var tenantId = tenant.Value!.Id;
        var listed = await SphereCall.TryAsync(async () =>
        {
            var products = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            await foreach (var product in sphere.GetProductsAsync(tenantId, cancellationToken))
            {
                products[product.Id] = product.Name;
            }

            var groups = new List<(ResolvedGroup Group, GroupPath Path)>();
            await foreach (var group in sphere.GetDeviceGroupsAsync(tenantId, cancellationToken))
            {
                var path = new GroupPath(products.GetValueOrDefault(group.ProductId, group.ProductId), group.Name);
                groups.Add((new ResolvedGroup(group.Id, group.Id, path.ToString()), path));
            }

            return groups;
        });
        if (listed.Error is { } listError)
        {
            return ApiResult.Failed<RolloutTargets>(listError);
        }

        var resolved = new List<ResolvedGroup>();
        foreach (var reference in request.DeviceGroups)
        {
            var match = GroupPath.TryParse(reference, out var path)
                ? listed.Value!.FirstOrDefault(g => g.Path.Equals(path)).Group
                : listed.Value!.FirstOrDefault(g => string.Equals(g.Group.DeviceGroupId, reference, StringComparison.OrdinalIgnoreCase)).Group;
            if (match is null)
            {
                return ApiResult.Failed<RolloutTargets>(new SphereError(404, SphereError.DeviceGroupNotFound,
                    $"Tenant {tenant.Value.Name} has no device group '{reference}'."));
            }

            resolved.Add(match with { Reference = reference });
        }

        return ApiResult.Ok(new RolloutTargets(tenantId, tenant.Value.Name, resolved));
    }
}
