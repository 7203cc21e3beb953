using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Fleet.Hosting.Tests.Local;

/// <summary>
/// <c>POST /admin/functions/{name}</c> runs StorageApp's queue and timer functions by hand in the real worker, and
/// <c>GET /admin/functions</c> lists them, all behind the master key.
/// </summary>
[Collection(StorageAppCollection.Name)]
public sealed class AdminFunctionInvokeTests(StorageQueueAppFixture app) : IDisposable
{
    private readonly HttpClient _client = new() { BaseAddress = app.Host.BaseAddress };

    public void Dispose() => _client.Dispose();

    [Fact]
    public async Task A_queue_function_run_by_hand_gets_the_input_as_its_message_text_and_writes_its_outputs()
    {
        using var response = await AdminPostAsync("QueueString", """{"input":"by-hand"}""");
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);

        // A message that never was on the queue: a fresh id, dequeue count 1, inserted this year, no pop receipt.
        var result = (await app.NextAsync("results", m => m.StartsWith("string|by-hand|", StringComparison.Ordinal))).Split('|');
        Assert.True(Guid.TryParse(result[2], out _), result[2]);
        Assert.Equal(["1", DateTimeOffset.UtcNow.Year.ToString(System.Globalization.CultureInfo.InvariantCulture), "False"], result[3..]);
    }

    [Fact]
    public async Task A_json_input_binds_to_a_poco_parameter()
    {
        using var response = await AdminPostAsync("QueuePoco", """{"input":"{\"deviceId\":\"by-hand-7\",\"priority\":4}"}""");
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        Assert.Equal("poco|by-hand-7|4", await app.NextAsync("results", m => m.StartsWith("poco|by-hand-7|", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task A_timer_function_run_by_hand_is_not_past_due_and_has_no_schedule_status()
    {
        using var response = await AdminPostAsync("Tick", "{}");
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var tick = (await app.NextAsync("ticks", _ => true)).Split('|');
        Assert.Equal(["tick", "False", string.Empty, string.Empty], tick[..4]);
        Assert.Equal(app.Host.Supervisor.Current!.Process.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture), tick[4]);
    }

    [Theory]
    [InlineData("not json", "It is not JSON")]
    [InlineData("[\"by-hand\"]", "must be a JSON object")]
    [InlineData("""{"input":42}""", "It is Number")]
    public async Task A_body_that_is_not_an_input_object_is_refused_with_the_reason(string body, string reason)
    {
        using var response = await AdminPostAsync("QueueString", body);
        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains(reason, (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_the_master_key_nothing_is_listed_or_run()
    {
        using var list = await _client.GetAsync("admin/functions");
        using var run = await _client.PostAsync("admin/functions/QueueString", new StringContent("""{"input":"no-key"}"""));
        using var wrong = new HttpRequestMessage(HttpMethod.Get, "admin/functions") { Headers = { { "x-functions-key", "wrong-key-0123456789abcdef" } } };
        using var wrongAnswer = await _client.SendAsync(wrong);
        Assert.Equal([HttpStatusCode.Unauthorized, HttpStatusCode.Unauthorized, HttpStatusCode.Unauthorized], [list.StatusCode, run.StatusCode, wrongAnswer.StatusCode]);
    }

    [Fact]
    public async Task The_listing_names_every_function_with_its_bindings()
    {
        var functions = await AdminGetAsync("admin/functions");
        var names = functions.EnumerateArray().Select(f => f.GetProperty("name").GetString()).ToList();
        Assert.Equal(app.Host.Functions.Select(f => f.Spec.Name).Order(StringComparer.Ordinal), names.Order(StringComparer.Ordinal));

        var one = await AdminGetAsync($"admin/functions/QueueString?code={TestApps.MasterKey}");
        Assert.Equal(new Uri(app.Host.BaseAddress, "admin/functions/QueueString").ToString(), one.GetProperty("href").GetString());
        Assert.False(one.GetProperty("isDisabled").GetBoolean());
        var trigger = one.GetProperty("config").GetProperty("bindings").EnumerateArray().First();
        Assert.Equal(("queueTrigger", "%StringQueue%"), (trigger.GetProperty("type").GetString(), trigger.GetProperty("queueName").GetString()));

        using var missing = new HttpRequestMessage(HttpMethod.Get, "admin/functions/NoSuchFunction") { Headers = { { "x-functions-key", TestApps.MasterKey } } };
        Assert.Equal(HttpStatusCode.NotFound, (await _client.SendAsync(missing)).StatusCode);
    }

    private async Task<HttpResponseMessage> AdminPostAsync(string function, string body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"admin/functions/{function}")
        {
            Content = new StringContent(body, System.Text.Encoding.UTF8, "application/json"),
            Headers = { { "x-functions-key", TestApps.MasterKey } },
        };
        return await _client.SendAsync(request);
    }

    private async Task<JsonElement> AdminGetAsync(string path)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path) { Headers = { { "x-functions-key", TestApps.MasterKey } } };
        using var response = await _client.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return await response.Content.ReadFromJsonAsync<JsonElement>();
    }
}

/// <summary>The admin API on HttpApp: what cannot be run by hand is refused with the reason.</summary>
[Collection(HttpAppCollection.Name)]
public sealed class AdminFunctionRefusalTests(HttpAppFixture app)
{
    [Theory]
    [InlineData("Ping", HttpStatusCode.BadRequest, "is an HTTP function: call its URL instead")]
    [InlineData("Retired", HttpStatusCode.Conflict, "is not loaded: disabled by the setting AzureWebJobs.Retired.Disabled")]
    [InlineData("Texted", HttpStatusCode.Conflict, "is not loaded: trigger 'smsTrigger' is not supported by this host")]
    [InlineData("NoSuchFunction", HttpStatusCode.NotFound, null)]
    public async Task A_function_that_cannot_run_by_hand_is_refused_with_the_reason(string function, HttpStatusCode status, string? reason)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"admin/functions/{function}")
        {
            Content = new StringContent("""{"input":"x"}"""),
            Headers = { { "x-functions-key", TestApps.MasterKey } },
        };
        using var response = await app.Client.SendAsync(request);
        Assert.Equal(status, response.StatusCode);
        if (reason is not null)
        {
            Assert.Contains(reason, (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task The_listing_gives_http_functions_their_url_and_marks_what_did_not_load()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "admin/functions") { Headers = { { "x-functions-key", TestApps.MasterKey } } };
        using var response = await app.Client.SendAsync(request);
        var functions = (await response.Content.ReadFromJsonAsync<JsonElement>()).EnumerateArray().ToDictionary(f => f.GetProperty("name").GetString()!);
        Assert.Equal(new Uri(app.Host.BaseAddress, "api/ping").ToString(), functions["Ping"].GetProperty("invoke_url_template").GetString());
        Assert.Equal(JsonValueKind.Null, functions["Texted"].GetProperty("invoke_url_template").ValueKind);
        Assert.True(functions["Retired"].GetProperty("isDisabled").GetBoolean());
        Assert.Equal("disabled by the setting AzureWebJobs.Retired.Disabled", functions["Retired"].GetProperty("notLoadedReason").GetString());
        Assert.Null(functions["Ping"].GetProperty("notLoadedReason").GetString());
    }
}
