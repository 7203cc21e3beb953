using System.Net;
using System.Text.Json;
using System.Text.Json.Serialization;
using Fleet.Durable.Client;
using Fleet.Hosting.Configuration;
using Fleet.Hosting.Durable;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Extensions.DependencyInjection;

namespace Fleet.Hosting;

/// <summary>
/// The management URLs of one orchestration instance, as Durable Functions returns them (field names match):
/// each carries <c>taskHub</c>, <c>connection</c> and, when set, the system key as <c>code</c>.
/// </summary>
public sealed class HttpManagementPayload
{
    /// <summary>The instance ID.</summary>
    [JsonPropertyName("id")]
    public required string Id { get; init; }

    /// <summary>GET: the instance status.</summary>
    [JsonPropertyName("statusQueryGetUri")]
    public required string StatusQueryGetUri { get; init; }

    /// <summary>POST: raise an event (replace <c>{eventName}</c>).</summary>
    [JsonPropertyName("sendEventPostUri")]
    public required string SendEventPostUri { get; init; }

    /// <summary>POST: terminate (replace <c>{text}</c> with a reason).</summary>
    [JsonPropertyName("terminatePostUri")]
    public required string TerminatePostUri { get; init; }

    /// <summary>DELETE: purge the finished instance's history.</summary>
    [JsonPropertyName("purgeHistoryDeleteUri")]
    public required string PurgeHistoryDeleteUri { get; init; }

    /// <summary>POST: suspend (replace <c>{text}</c> with a reason).</summary>
    [JsonPropertyName("suspendPostUri")]
    public required string SuspendPostUri { get; init; }

    /// <summary>POST: resume (replace <c>{text}</c> with a reason).</summary>
    [JsonPropertyName("resumePostUri")]
    public required string ResumePostUri { get; init; }
}

/// <summary>HTTP helpers for HTTP-triggered starter functions, as in Durable Functions.</summary>
public static class DurableTaskClientHttpExtensions
{
    /// <summary>
    /// The management URLs of <paramref name="instanceId"/>, rooted at the scheme and host <paramref name="request"/>
    /// came in on.
    /// </summary>
    public static HttpManagementPayload CreateHttpManagementPayload(this DurableTaskClient client, string instanceId, HttpRequest request)
    {
        ArgumentNullException.ThrowIfNull(client);
        ArgumentException.ThrowIfNullOrEmpty(instanceId);
        ArgumentNullException.ThrowIfNull(request);
        var keys = request.HttpContext.RequestServices.GetService<HostSettings>()?.Keys ?? FunctionKeys.None;
        return DurableHttpApi.Payload(request, client.Name, instanceId, keys.DurableTaskKey);
    }

    /// <summary>
    /// The 202 Accepted answer of an HTTP starter: the <see cref="HttpManagementPayload"/> as JSON, <c>Location</c> set to
    /// the status URL and <c>Retry-After: 10</c>.
    /// </summary>
    /// <param name="client">The durable client.</param>
    /// <param name="request">The starter's request.</param>
    /// <param name="instanceId">The started instance.</param>
    /// <param name="returnInternalServerErrorOnFailure">Make the status URL answer 500 (not 200) once the instance failed.</param>
    /// <param name="cancellation">Unused; kept for the Durable Functions shape.</param>
    public static Task<IActionResult> CreateCheckStatusResponseAsync(
        this DurableTaskClient client, HttpRequest request, string instanceId, bool returnInternalServerErrorOnFailure = false,
        CancellationToken cancellation = default)
    {
        var payload = client.CreateHttpManagementPayload(instanceId, request);
        if (returnInternalServerErrorOnFailure)
        {
            payload = new HttpManagementPayload
            {
                Id = payload.Id,
                StatusQueryGetUri = payload.StatusQueryGetUri + "&returnInternalServerErrorOnFailure=true",
                SendEventPostUri = payload.SendEventPostUri,
                TerminatePostUri = payload.TerminatePostUri,
                PurgeHistoryDeleteUri = payload.PurgeHistoryDeleteUri,
                SuspendPostUri = payload.SuspendPostUri,
                ResumePostUri = payload.ResumePostUri,
            };
        }

        return Task.FromResult<IActionResult>(new CheckStatusResult(payload));
    }

    /// <summary>202 + Location + Retry-After + payload; usable as an MVC action result and as a minimal API result.</summary>
    private sealed class CheckStatusResult(HttpManagementPayload payload) : IActionResult, IResult
    {
        private static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web);

        public Task ExecuteResultAsync(ActionContext context) => ExecuteAsync(context.HttpContext);

        public Task ExecuteAsync(HttpContext httpContext)
        {
            httpContext.Response.StatusCode = (int)HttpStatusCode.Accepted;
            httpContext.Response.Headers.Location = payload.StatusQueryGetUri;
            httpContext.Response.Headers.RetryAfter = "10";
            return httpContext.Response.WriteAsJsonAsync(payload, JsonOptions, httpContext.RequestAborted);
        }
    }
}
