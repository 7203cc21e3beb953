using System.Text.RegularExpressions;
using Microsoft.DurableTask.Client;
using Fleet.Functions.Http;
using Microsoft.Azure.Functions.Worker;
using System.Net;
using Microsoft.Azure.Functions.Worker.Http;

namespace Fleet.Functions.Compliance;

/// <summary>The sweep triggers: the schedule, <c>POST /api/sweeps</c> and <c>GET /api/sweeps/{id}/report</c>.</summary>
public sealed partial class SweepFunctions(SweepStarter starter, ReportStore reports)
{
    /// <summary>Starts a sweep on <c>ComplianceSweep:Schedule</c> unless one is running.</summary>
    [Function("ComplianceSweepTimer")]
    public Task ComplianceSweepTimer(
        [TimerTrigger("%ComplianceSweep:Schedule%")] TimerInfo timer, [DurableClient] DurableTaskClient client, CancellationToken cancellationToken) =>
        starter.StartScheduledAsync(client, timer.IsPastDue, cancellationToken);

    /// <summary>
    /// <c>POST /api/sweeps</c> with an optional <see cref="SweepRequest"/> (<c>{"dryRun": true}</c> for a dry run);
    /// 202 with the check-status payload, or 409 with the payload of the sweep still running.
    /// </summary>
    [Function("StartComplianceSweep")]
    public async Task<HttpResponseData> StartComplianceSweep(
        [HttpTrigger(AuthorizationLevel.Function, "post", Route = "sweeps")] HttpRequestData request, [DurableClient] DurableTaskClient client)
    {
        var (body, errors) = await HttpJson.ReadAsync(request, () => new SweepRequest());
        if (body is null || errors.Count > 0)
        {
            return await HttpJson.BadRequest(request, errors);
        }

        try
        {
            var start = await starter.StartAsync(client, body, "HTTP", request.FunctionContext.CancellationToken);
            return start.Started
                ? await client.CreateCheckStatusResponseAsync(request, start.InstanceId)
                : await HttpJson.WriteAsync(request, HttpStatusCode.Conflict, client.CreateHttpManagementPayload(start.InstanceId, request));
        }
        catch (NoPolicyException ex)
        {
            return await HttpJson.BadRequest(request, [ex.Message]);
        }
    }

    /// <summary>
    /// <c>POST /api/sweeps/{id}/stop</c>: terminates a running sweep together with its tenant sweeps and their
    /// remediations (the management API's terminate stops only the instance named); 202 with the payload, 404 for an
    /// unknown sweep, 409 when it has finished.
    /// </summary>
    [Function("StopComplianceSweep")]
    public static async Task<HttpResponseData> StopComplianceSweep(
        [HttpTrigger(AuthorizationLevel.Function, "post", Route = "sweeps/{id}/stop")] HttpRequestData request, string id,
        [DurableClient] DurableTaskClient client)
    {
        var cancellation = request.FunctionContext.CancellationToken;
        var sweep = SweepIdPattern().IsMatch(id) ? await client.GetInstanceAsync(id, cancellation) : null;
        if (sweep is null || sweep.Name != ComplianceSweepOrchestration.Name)
        {
            return await HttpJson.NotFound(request, $"No compliance sweep '{id}'.");
        }

        if (sweep.IsCompleted)
        {
            return await HttpJson.Conflict(request, $"Sweep '{id}' has already finished ({sweep.RuntimeStatus}).");
        }

        await client.TerminateInstanceAsync(id, new TerminateInstanceOptions("Stopped by an operator.", Recursive: true), cancellation);
        return await client.CreateCheckStatusResponseAsync(request, id);
    }

    /// <summary>
    /// <c>GET /api/sweeps/{id}/report</c>: the sweep's <c>report.json</c> (<c>?format=text</c>: <c>summary.txt</c>);
    /// 404 until the sweep has written it.
    /// </summary>
    [Function("GetComplianceSweepReport")]
    public async Task<HttpResponseData> GetComplianceSweepReport(
        [HttpTrigger(AuthorizationLevel.Function, "get", Route = "sweeps/{id}/report")] HttpRequestData request, string id)
    {
        if (!SweepIdPattern().IsMatch(id))
        {
            return await HttpJson.BadRequest(request, [$"'{id}' is not a sweep id."]);
        }

        var text = string.Equals(request.Query["format"], "text", StringComparison.OrdinalIgnoreCase);
        var content = await reports.ReadAsync(text ? ReportStore.SummaryBlob(id) : ReportStore.ReportBlob(id), request.FunctionContext.CancellationToken);
        return content is null
            ? await HttpJson.NotFound(request, $"Sweep '{id}' has no report (yet).")
            : await HttpJson.WriteAsync(request, HttpStatusCode.OK, content.ToMemory(), text ? "text/plain; charset=utf-8" : "application/json");
    }

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9_.:-]{0,199}$")]
    private static partial Regex SweepIdPattern();
}
