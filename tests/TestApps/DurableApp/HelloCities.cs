using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Http;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;

namespace DurableApp;

/// <summary>The Durable Functions quick-start: five sequential activity calls, started over HTTP.</summary>
public static class HelloCities
{
    /// <summary>Says hello to five cities, one activity after the other.</summary>
    [Function(nameof(HelloCities5))]
    public static async Task<List<string>> HelloCities5([OrchestrationTrigger] TaskOrchestrationContext context)
    {
        var outputs = new List<string>();
        foreach (var city in new[] { "Tokyo", "Seattle", "London", "Cairo", "Lima" })
        {
            outputs.Add(await context.CallActivityAsync<string>(nameof(SayHello), city));
        }

        return outputs;
    }

    /// <summary>"Hello {name}!".</summary>
    [Function(nameof(SayHello))]
    public static string SayHello([ActivityTrigger] string name) => $"Hello {name}!";

    /// <summary>POST /api/start/{name}: starts orchestrator {name} with the body as its input and answers with the status URLs.</summary>
    [Function(nameof(StartOrchestration))]
    public static async Task<HttpResponseData> StartOrchestration(
        [HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "start/{name}")] HttpRequestData request,
        string name,
        [DurableClient] DurableTaskClient client)
    {
        var body = await request.ReadAsStringAsync();
        object? input = string.IsNullOrWhiteSpace(body) ? null : System.Text.Json.JsonDocument.Parse(body).RootElement.Clone();
        var instanceId = await client.ScheduleNewOrchestrationInstanceAsync(name, input);
        return await client.CreateCheckStatusResponseAsync(request, instanceId);
    }

    /// <summary>GET /api/payload/{instanceId}: the management payload the client builds from the binding alone.</summary>
    [Function(nameof(ManagementPayload))]
    public static async Task<HttpResponseData> ManagementPayload(
        [HttpTrigger(AuthorizationLevel.Anonymous, "get", Route = "payload/{instanceId}")] HttpRequestData request,
        string instanceId,
        [DurableClient] DurableTaskClient client)
    {
        var response = request.CreateResponse(System.Net.HttpStatusCode.OK);
        await response.WriteAsJsonAsync(client.CreateHttpManagementPayload(instanceId));
        return response;
    }
}
