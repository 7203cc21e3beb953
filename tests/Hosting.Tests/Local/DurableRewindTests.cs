using System.Net;
using System.Text.Json.Nodes;

namespace Fleet.Hosting.Tests.Local;

/// <summary>Rewind through the Durable HTTP management API on the Functions path (the app's real worker replays).</summary>
public sealed partial class DurableFunctionsTests
{
    [Fact]
    public async Task A_failed_instance_rewound_through_the_management_api_runs_its_failed_activity_again_and_completes()
    {
        using var cts = new CancellationTokenSource(Timeout);
        using var started = await Http.PostAsync($"runtime/webhooks/durabletask/orchestrators/FailsUntilRewound?{Query}", null, cts.Token);
        var body = await started.Content.ReadAsStringAsync(cts.Token);
        Assert.True(started.StatusCode == HttpStatusCode.Accepted, body);
        var payload = JsonNode.Parse(body)!.AsObject();
        var statusUri = payload["statusQueryGetUri"]!.GetValue<string>();
        var rewindUri = payload["rewindPostUri"]!.GetValue<string>();
        Assert.Equal("Failed", (await StatusWhenAsync(statusUri, "Failed", cts.Token))["runtimeStatus"]!.GetValue<string>());

        using (var rewound = await Http.PostAsync(rewindUri.Replace("{text}", "fixed", StringComparison.Ordinal), null, cts.Token))
        {
            Assert.Equal(HttpStatusCode.Accepted, rewound.StatusCode);
        }

        var done = await StatusWhenAsync(statusUri, "Completed", cts.Token);
        Assert.Equal("succeeded on attempt 2", done["output"]!.GetValue<string>());

        // Only a failed instance rewinds (410 as Durable Functions answers); an unknown one is 404.
        using (var again = await Http.PostAsync(rewindUri.Replace("{text}", "again", StringComparison.Ordinal), null, cts.Token))
        {
            Assert.Equal(HttpStatusCode.Gone, again.StatusCode);
        }

        using var missing = await Http.PostAsync($"runtime/webhooks/durabletask/instances/no-such-instance/rewind?{Query}", null, cts.Token);
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }

    private async Task<JsonObject> StatusWhenAsync(string statusUri, string runtimeStatus, CancellationToken cancellationToken)
    {
        while (true)
        {
            using var response = await Http.GetAsync(statusUri, cancellationToken);
            var body = JsonNode.Parse(await response.Content.ReadAsStringAsync(cancellationToken))!.AsObject();
            if (body["runtimeStatus"]?.GetValue<string>() == runtimeStatus)
            {
                return body;
            }

            await Task.Delay(50, cancellationToken);
        }
    }
}
