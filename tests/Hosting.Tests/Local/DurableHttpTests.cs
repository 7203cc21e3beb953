using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Fleet.Hosting.Local.Durable;

namespace Fleet.Hosting.Tests.Local;

/// <summary>
/// The durableClient binding and the Durable HTTP management API: HTTP starters answer with the URLs the worker's
/// <c>CreateCheckStatusResponseAsync</c> builds, and those URLs work against the host.
/// </summary>
public sealed partial class DurableFunctionsTests
{
    private const string Query = "taskHub=DurableAppHub&connection=Storage";

    private HttpClient Http => fixture.Client;

    [Fact]
    public async Task An_http_starter_answers_202_with_the_management_urls_and_the_status_url_reports_the_output()
    {
        using var cts = new CancellationTokenSource(Timeout);
        using var response = await Http.PostAsync("api/start/HelloCities5", null, cts.Token);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        // The worker writes the payload with its System.Text.Json serializer: PascalCase names (Id, StatusQueryGetUri, ...).
        var payload = Starter(await response.Content.ReadAsStringAsync(cts.Token));
        var id = payload["id"]!.GetValue<string>();
        var instance = $"{Http.BaseAddress}runtime/webhooks/durabletask/instances/{id}";
        Assert.Equal($"{instance}?{Query}", payload["statusQueryGetUri"]!.GetValue<string>());
        Assert.Equal($"{instance}?{Query}", response.Headers.Location!.ToString());
        Assert.Equal($"{instance}/raiseEvent/{{eventName}}?{Query}", payload["sendEventPostUri"]!.GetValue<string>());
        Assert.Equal($"{instance}/terminate?reason={{text}}&{Query}", payload["terminatePostUri"]!.GetValue<string>());
        Assert.Equal($"{instance}/suspend?reason={{text}}&{Query}", payload["suspendPostUri"]!.GetValue<string>());
        Assert.Equal($"{instance}/resume?reason={{text}}&{Query}", payload["resumePostUri"]!.GetValue<string>());
        Assert.Equal($"{instance}/restart?{Query}", payload["restartPostUri"]!.GetValue<string>());
        Assert.Equal($"{instance}?{Query}", payload["purgeHistoryDeleteUri"]!.GetValue<string>());

        var status = await PollUntilDoneAsync(payload["statusQueryGetUri"]!.GetValue<string>(), cts.Token);
        Assert.Equal("Completed", status["runtimeStatus"]!.GetValue<string>());
        Assert.Equal("Hello Tokyo!", status["output"]![0]!.GetValue<string>());

        // The payload built from the binding alone (no request) has the same URLs: httpBaseUrl and the query match.
        var fromBinding = Starter(await Http.GetStringAsync($"api/payload/{id}", cts.Token));
        Assert.Equal(payload["statusQueryGetUri"]!.GetValue<string>(), fromBinding["statusQueryGetUri"]!.GetValue<string>());
        Assert.Equal(payload["terminatePostUri"]!.GetValue<string>(), fromBinding["terminatePostUri"]!.GetValue<string>());

        using var history = await Http.GetAsync($"{payload["statusQueryGetUri"]}&showHistory=true&showHistoryOutput=true", cts.Token);
        var events = JsonNode.Parse(await history.Content.ReadAsStringAsync(cts.Token))!["historyEvents"]!.AsArray();
        Assert.Equal(5, events.Count(e => e!["EventType"]!.GetValue<string>() == "TaskScheduled"));
        Assert.Contains(events, e => e!["EventType"]!.GetValue<string>() == "TaskCompleted" && e["Result"]?.GetValue<string>() == "Hello Lima!");
    }

    [Fact]
    public async Task The_management_api_starts_raises_events_terminates_and_refuses_what_it_should()
    {
        using var cts = new CancellationTokenSource(Timeout);
        using var unknown = await Http.PostAsync("runtime/webhooks/durabletask/orchestrators/Nope", null, cts.Token);
        Assert.Equal(HttpStatusCode.BadRequest, unknown.StatusCode);
        Assert.Contains("'Nope' doesn't exist", (await unknown.Content.ReadFromJsonAsync<JsonObject>(cts.Token))!["message"]!.GetValue<string>(), StringComparison.Ordinal);
        using (var missing = await Http.GetAsync($"runtime/webhooks/durabletask/instances/no-such-instance?{Query}", cts.Token))
        {
            Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        }

        using var started = await Http.PostAsync("runtime/webhooks/durabletask/orchestrators/WaitForApproval", null, cts.Token);
        Assert.Equal(HttpStatusCode.Accepted, started.StatusCode);
        var payload = JsonNode.Parse(await started.Content.ReadAsStringAsync(cts.Token))!.AsObject();
        var statusUri = payload["statusQueryGetUri"]!.GetValue<string>();
        await fixture.Durable.WaitForInstanceStartAsync(payload["id"]!.GetValue<string>(), cts.Token);
        using (var running = await Http.GetAsync(statusUri, cts.Token))
        {
            Assert.Equal(HttpStatusCode.Accepted, running.StatusCode);
            Assert.Equal(TimeSpan.FromSeconds(5), running.Headers.RetryAfter?.Delta);
        }

        var raise = payload["sendEventPostUri"]!.GetValue<string>().Replace("{eventName}", "Approval", StringComparison.Ordinal);
        using (var raised = await Http.PostAsync(raise, new StringContent("\"bob\"", Encoding.UTF8, "application/json"), cts.Token))
        {
            Assert.Equal(HttpStatusCode.Accepted, raised.StatusCode);
        }

        var done = await PollUntilDoneAsync(statusUri, cts.Token);
        Assert.Equal("approved by bob", done["output"]!.GetValue<string>());
        using (var gone = await Http.PostAsync(payload["terminatePostUri"]!.GetValue<string>().Replace("{text}", "late", StringComparison.Ordinal), null, cts.Token))
        {
            Assert.Equal(HttpStatusCode.Gone, gone.StatusCode);
        }

        using var second = await Http.PostAsync("api/start/WaitForApproval", null, cts.Token);
        var secondPayload = Starter(await second.Content.ReadAsStringAsync(cts.Token));
        await fixture.Durable.WaitForInstanceStartAsync(secondPayload["id"]!.GetValue<string>(), cts.Token);
        using (var terminated = await Http.PostAsync(secondPayload["terminatePostUri"]!.GetValue<string>().Replace("{text}", "no-longer-needed", StringComparison.Ordinal), null, cts.Token))
        {
            Assert.Equal(HttpStatusCode.Accepted, terminated.StatusCode);
        }

        var final = await PollUntilDoneAsync(secondPayload["statusQueryGetUri"]!.GetValue<string>(), cts.Token);
        Assert.Equal("Terminated", final["runtimeStatus"]!.GetValue<string>());
        using var purged = await Http.DeleteAsync(secondPayload["purgeHistoryDeleteUri"]!.GetValue<string>(), cts.Token);
        Assert.Equal(1, (await purged.Content.ReadFromJsonAsync<JsonObject>(cts.Token))!["instancesDeleted"]!.GetValue<int>());
    }

    [Fact]
    public async Task The_instance_list_filters_by_prefix_and_pages_with_the_continuation_header()
    {
        // What an operator's dashboard (and ./run's progress) does: all instances of one prefix, page by page.
        using var cts = new CancellationTokenSource(Timeout);
        var prefix = $"page-{Guid.NewGuid():N}-";
        var started = new List<string>();
        foreach (var id in Enumerable.Range(1, 5).Select(i => $"{prefix}{i}").Append($"other-{prefix}"))
        {
            using var response = await Http.PostAsync($"runtime/webhooks/durabletask/orchestrators/Chain/{id}", new StringContent("1", Encoding.UTF8, "application/json"), cts.Token);
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
            var status = await PollUntilDoneAsync(JsonNode.Parse(await response.Content.ReadAsStringAsync(cts.Token))!["statusQueryGetUri"]!.GetValue<string>(), cts.Token);
            Assert.Equal(4, status["output"]!.GetValue<int>());
            started.Add(id);
        }

        var listed = new List<string>();
        var pages = 0;
        string? continuation = null;
        do
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, $"runtime/webhooks/durabletask/instances?instanceIdPrefix={prefix}&top=2&{Query}");
            if (continuation is not null)
            {
                request.Headers.Add("x-ms-continuation-token", continuation);
            }

            using var response = await Http.SendAsync(request, cts.Token);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var page = JsonNode.Parse(await response.Content.ReadAsStringAsync(cts.Token))!.AsArray();
            Assert.InRange(page.Count, 1, 2);
            Assert.All(page, i => Assert.Equal("Completed", i!["runtimeStatus"]!.GetValue<string>()));
            listed.AddRange(page.Select(i => i!["instanceId"]!.GetValue<string>()));
            pages++;
            continuation = response.Headers.TryGetValues("x-ms-continuation-token", out var values) ? values.Single() : null;
        }
        while (continuation is not null && pages < 10);

        Assert.Null(continuation);
        Assert.Equal(3, pages);
        Assert.Equal(started.Take(5).Order(StringComparer.Ordinal), listed.Order(StringComparer.Ordinal));
    }

    [Fact]
    public void The_durable_client_binding_payload_has_the_field_names_and_shapes_the_worker_reads()
    {
        var payload = new DurableClientBindingPayload(
            new Uri("http://127.0.0.1:5001/"), "Hub", null, "taskHub=Hub&connection=Storage", new Uri("http://127.0.0.1:7071/runtime/webhooks/durabletask"),
            MaxGrpcMessageSizeInBytes: 4194304, GrpcHttpClientTimeout: TimeSpan.FromSeconds(100));
        Assert.Equal(
            """{"rpcBaseUrl":"http://127.0.0.1:5001/","taskHubName":"Hub","connectionName":null,"requiredQueryStringParameters":"taskHub=Hub\u0026connection=Storage","httpBaseUrl":"http://127.0.0.1:7071/runtime/webhooks/durabletask","maxGrpcMessageSizeInBytes":4194304,"grpcHttpClientTimeout":"\u002200:01:40\u0022"}""",
            payload.ToJson());

        // An unset timeout is left out (the worker's default, 100 s); the size is always a number (absent reads as 0).
        var minimal = JsonNode.Parse((payload with { GrpcHttpClientTimeout = null }).ToJson())!.AsObject();
        Assert.False(minimal.ContainsKey("grpcHttpClientTimeout"));
        Assert.Equal(4194304, minimal["maxGrpcMessageSizeInBytes"]!.GetValue<int>());
    }

    private static JsonObject Starter(string json) =>
        JsonNode.Parse(json, new JsonNodeOptions { PropertyNameCaseInsensitive = true })!.AsObject();

    private async Task<JsonObject> PollUntilDoneAsync(string statusUri, CancellationToken cancellationToken)
    {
        while (true)
        {
            using var response = await Http.GetAsync(statusUri, cancellationToken);
            var body = JsonNode.Parse(await response.Content.ReadAsStringAsync(cancellationToken))!.AsObject();
            if (response.StatusCode != HttpStatusCode.Accepted)
            {
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                return body;
            }

            await Task.Delay(50, cancellationToken);
        }
    }
}
