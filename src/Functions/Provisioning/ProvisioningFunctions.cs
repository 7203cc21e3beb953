using Microsoft.DurableTask.Client;
using Fleet.Functions.Http;
using Fleet.Functions.Settings;
using Fleet.Functions.Sphere;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Fleet.Functions.Provisioning;

/// <summary>The provisioning triggers: the queue and <c>POST /api/provision</c>, both starting <c>ProvisionDevice</c>.</summary>
public sealed class ProvisioningFunctions(
    ProvisioningStarter starter, IOptions<ProvisioningOptions> options, TimeProvider time, ILogger<ProvisioningFunctions> logger)
{
    /// <summary>
    /// One provisioning per message. A message that is not a valid request is not retried: it is recorded in
    /// <c>{queue}-rejected</c> with the reason (a <see cref="RejectedMessage"/>) and the trigger completes. A duplicate
    /// of a provisioning still running completes without starting one. Anything else that fails (no tenant to use,
    /// the durable backend unreachable) throws, so the host retries the message and moves it to <c>{queue}-poison</c>
    /// after <c>maxDequeueCount</c> attempts.
    /// </summary>
    [Function("ProvisioningQueue")]
    [QueueOutput("%Provisioning:Queue%-rejected")]
    public async Task<string?> ProvisioningQueue(
        [QueueTrigger("%Provisioning:Queue%")] string message, string id, [DurableClient] DurableTaskClient client,
        CancellationToken cancellationToken)
    {
        var (request, errors) = HttpJson.Parse<ProvisioningRequest>(message, "message");
        if (request is null || errors.Count > 0)
        {
            logger.ProvisioningMessageRejected(id, string.Join(" ", errors));
            return RejectedMessage.Serialize(new RejectedMessage(options.Value.Queue, id, errors, message, time.GetUtcNow()));
        }

        await starter.StartAsync(client, request, $"queue message {id}", cancellationToken);
        return null;
    }

    /// <summary><c>POST /api/provision</c> with a provisioning request; answers 202 with the check-status payload.</summary>
    [Function("StartProvisioning")]
    public async Task<HttpResponseData> StartProvisioning(
        [HttpTrigger(AuthorizationLevel.Function, "post", Route = "provision")] HttpRequestData request, [DurableClient] DurableTaskClient client)
    {
        var (body, errors) = await HttpJson.ReadAsync<ProvisioningRequest>(request);
        if (body is null || errors.Count > 0)
        {
            return await HttpJson.BadRequest(request, errors);
        }

        try
        {
            var start = await starter.StartAsync(client, body, "HTTP", request.FunctionContext.CancellationToken);
            return await client.CreateCheckStatusResponseAsync(request, start.InstanceId);
        }
        catch (InvalidProvisioningRequestException ex)
        {
            return await HttpJson.BadRequest(request, [ex.Message]);
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
