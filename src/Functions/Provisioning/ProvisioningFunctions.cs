using Fleet.Durable.Client;
using Fleet.Functions.Http;
using Fleet.Functions.Settings;
using Fleet.Functions.Sphere;
using Fleet.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;

namespace Fleet.Functions.Provisioning;

/// <summary>The provisioning triggers: the queue and <c>POST /api/provision</c>, both starting <c>ProvisionDevice</c>.</summary>
public sealed class ProvisioningFunctions(ProvisioningStarter starter)
{
    /// <summary>
    /// One provisioning per message. Invalid messages never get here: binding validation moves them to
    /// <c>{queue}-poison</c> with the reason. A duplicate of a provisioning still running completes without starting one.
    /// </summary>
    [Function("ProvisioningQueue")]
    public Task ProvisioningQueue(
        [QueueTrigger("%Provisioning:Queue%")] ProvisioningRequest request, string id, [DurableClient] DurableTaskClient client,
        CancellationToken cancellationToken) =>
        starter.StartAsync(client, request, $"queue message {id}", cancellationToken);

    /// <summary><c>POST /api/provision</c> with a provisioning request; answers 202 with the check-status payload.</summary>
    [Function("StartProvisioning")]
    public async Task<IActionResult> StartProvisioning(
        [HttpTrigger(AuthorizationLevel.Function, "post", Route = "provision")] HttpRequest request, [DurableClient] DurableTaskClient client)
    {
        var (body, errors) = await HttpJson.ReadAsync<ProvisioningRequest>(request);
        if (body is null || errors.Count > 0)
        {
            return HttpJson.BadRequest(errors);
        }

        try
        {
            var start = await starter.StartAsync(client, body, "HTTP", request.HttpContext.RequestAborted);
            return await client.CreateCheckStatusResponseAsync(request, start.InstanceId);
        }
        catch (InvalidProvisioningRequestException ex)
        {
            return HttpJson.BadRequest([ex.Message]);
        }
    }
}

/// <summary>Activities of provisioning beyond the shared Sphere steps.</summary>
public sealed class ProvisioningActivities(TenantDirectory tenants, PolicyProvider policies)
{
    /// <summary>Resolves the tenant and reads what the policy says about the target group (may it be created, with which settings).</summary>
    [Function(nameof(PlanProvisioning))]
    public async Task<ApiResult<ProvisioningPlan>> PlanProvisioning([ActivityTrigger] ProvisionInput input, CancellationToken cancellationToken)
    {
        var tenant = await tenants.ResolveAsync(input.Tenant, cancellationToken);
        if (tenant.Error is { } error)
        {
            return ApiResult.Failed<ProvisioningPlan>(error);
        }

        var (id, name) = tenant.Value!;
        var policy = policies.Current()?.FindTenant(id, name);
        var group = policy?.FindGroup(input.Placement);
        return ApiResult.Ok(new ProvisioningPlan(id, name, policy?.AllowCreate ?? false, group?.OsFeedType, group?.UpdatePolicy));
    }
}
