using Microsoft.DurableTask.Client;
using Fleet.Functions.Http;
using Fleet.Functions.Settings;
using Fleet.Functions.Clouds;
using Fleet.Shared.DesiredState;
using Fleet.Shared.FleetClouds;
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
        var (request, errors) = HttpJson.Parse<ProvisioningRequest>(message, "message", items: starter.ValidationItems);
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
        var (body, errors) = await HttpJson.ReadAsync<ProvisioningRequest>(request, items: starter.ValidationItems);
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

/// <summary>Activities of provisioning beyond the port's steps.</summary>
public sealed class ProvisioningActivities(FleetActivities port, PolicyProvider policies)
{
    /// <summary>Resolves the scope (Sphere tenant; a configured connection) and reads what the policy says about a Sphere target group (may it be created, with which settings).</summary>
    [Function(nameof(PlanProvisioning))]
    public async Task<PortRead<ProvisioningPlan>> PlanProvisioning([ActivityTrigger] ProvisionInput input, CancellationToken cancellationToken)
    {
        var scope = await port.FleetResolveScope(input.Target, cancellationToken);
        if (scope.Error is { } error)
        {
            return new PortRead<ProvisioningPlan>(null, error);
        }

        var (id, name) = scope.Value!;
        var target = input.Target with { Scope = id };
        if (target.Cloud == FleetCloud.Sphere && GroupPath.TryParse(target.Group, out var path))
        {
            var policy = policies.Current()?.FindTenant(id, name);
            var group = policy?.FindGroup(path);
            target = target with { AllowCreate = policy?.AllowCreate ?? false, OsFeedType = (int?)group?.OsFeedType, UpdatePolicy = (int?)group?.UpdatePolicy };
        }

        return new PortRead<ProvisioningPlan>(new ProvisioningPlan(id, name, target), null);
    }
}
