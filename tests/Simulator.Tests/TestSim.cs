using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Fleet.Testing;

namespace Fleet.Simulator.Tests;

/// <summary>An in-process simulator plus an HTTP client authorised as the system-assigned identity.</summary>
internal sealed class TestSim : IAsyncDisposable
{
    public const string Audience = "https://firstparty.sphere.azure.net/api";

    private TestSim(SimulatorHost host, FleetDescription fleet, HttpClient http, FakeTimeProvider? clock)
    {
        Host = host;
        Fleet = fleet;
        Http = http;
        Clock = clock;
    }

    public SimulatorHost Host { get; }

    public FleetDescription Fleet { get; }

    /// <summary>Authorised as the system-assigned identity (Contributor in tenants A and B).</summary>
    public HttpClient Http { get; }

    public FakeTimeProvider? Clock { get; }

    public SimulatorControlClient Control => Host.Control;

    public Guid TenantA => Fleet.Contoso.Id;

    public Guid TenantB => Fleet.Fabrikam.Id;

    public static async Task<TestSim> StartAsync(Action<SimulatorOptions>? configure = null, bool fakeClock = false)
    {
        var options = new SimulatorOptions { Devices = 200, Seed = 1, IdentityHeader = "test-identity-header" };
        configure?.Invoke(options);
        var clock = fakeClock ? new FakeTimeProvider() : null;
        var host = await SimulatorHost.StartAsync(options, clock);
        var fleet = await host.Control.GetFleetAsync();
        var http = NewClient(host.BaseAddress);
        var sim = new TestSim(host, fleet, http, clock);
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", await sim.TokenAsync());
        return sim;
    }

    public static HttpClient NewClient(Uri baseAddress) => new() { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(20) };

    /// <summary>A token from the managed-identity endpoint (system-assigned unless a client id is given).</summary>
    public async Task<string> TokenAsync(string? clientId = null, string resource = Audience)
    {
        using var http = NewClient(Host.BaseAddress);
        var url = $"msi/token?resource={Uri.EscapeDataString(resource)}&api-version=2019-08-01" + (clientId is null ? string.Empty : $"&client_id={clientId}");
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.Add("X-IDENTITY-HEADER", Host.IdentityHeader);
        using var response = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var doc = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        return doc.RootElement.GetProperty("access_token").GetString()!;
    }

    public HttpClient ClientWithToken(string? token)
    {
        var http = NewClient(Host.BaseAddress);
        if (token is not null)
        {
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        return http;
    }

    public async Task<Reply> GetAsync(string path, string? continuation = null, HttpClient? client = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        if (continuation is not null)
        {
            request.Headers.Add("Sphere-Continuation", continuation);
        }

        return await Reply.From(await (client ?? Http).SendAsync(request));
    }

    public async Task<Reply> SendJsonAsync(HttpMethod method, string path, string? json, HttpClient? client = null)
    {
        using var request = new HttpRequestMessage(method, path);
        if (json is not null)
        {
            request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        }

        return await Reply.From(await (client ?? Http).SendAsync(request));
    }

    public async Task<Reply> UploadAsync(Guid tenantId, byte[] package, string contentType = "application/octet-stream")
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"v2/tenants/{tenantId}/images");
        request.Content = new ByteArrayContent(package);
        request.Content.Headers.ContentType = new MediaTypeHeaderValue(contentType);
        return await Reply.From(await Http.SendAsync(request));
    }

    /// <summary>Polls an operation until it ends (real clock), or advances the fake clock past the delay.</summary>
    public async Task<JsonElement> WaitAsync(Guid tenantId, Reply operationReply)
    {
        var id = operationReply.Json.GetProperty("OperationId").GetString();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(15));
        while (true)
        {
            var reply = await GetAsync($"v2/tenants/{tenantId}/operations/{id}");
            Assert.Equal(HttpStatusCode.OK, reply.Status);
            if (reply.Json.GetProperty("State").GetInt32() >= 2)
            {
                return reply.Json;
            }

            if (Clock is not null)
            {
                Clock.Advance(TimeSpan.FromSeconds(1));
            }
            else
            {
                await Task.Delay(10, cts.Token);
            }
        }
    }

    /// <summary>Every item of a paged list, following Sphere-Continuation to the end.</summary>
    public async Task<List<JsonElement>> ListAllAsync(string path, int? maxPageSize = null)
    {
        var items = new List<JsonElement>();
        string? token = null;
        var url = maxPageSize is null ? path : $"{path}{(path.Contains('?') ? '&' : '?')}maxPageSize={maxPageSize}";
        for (var pages = 0; pages < 10_000; pages++)
        {
            var reply = await GetAsync(url, token);
            Assert.Equal(HttpStatusCode.OK, reply.Status);
            items.AddRange(reply.Json.GetProperty("Items").EnumerateArray());
            var next = reply.Json.GetProperty("ContinuationToken");
            if (next.ValueKind == JsonValueKind.Null)
            {
                return items;
            }

            token = next.GetString();
        }

        throw new InvalidOperationException("Paging did not end.");
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await Host.DisposeAsync();
    }
}

/// <summary>A response read whole: status, headers and JSON body.</summary>
internal sealed class Reply
{
    private Reply(HttpStatusCode status, HttpResponseHeaders headers, string body, string? contentType)
    {
        Status = status;
        Headers = headers;
        Body = body;
        ContentType = contentType;
    }

    public HttpStatusCode Status { get; }

    public HttpResponseHeaders Headers { get; }

    public string Body { get; }

    public string? ContentType { get; }

    public JsonElement Json => JsonDocument.Parse(Body).RootElement;

    /// <summary>The ErrorCode of a one-element PublicApiErrorDetails array.</summary>
    public string ErrorCode
    {
        get
        {
            var json = Json;
            Assert.Equal(JsonValueKind.Array, json.ValueKind);
            Assert.Equal(1, json.GetArrayLength());
            Assert.Equal((int)Status, json[0].GetProperty(nameof(Status)).GetInt32());
            return json[0].GetProperty(nameof(ErrorCode)).GetString()!;
        }
    }

    public static async Task<Reply> From(HttpResponseMessage response)
    {
        using (response)
        {
            var body = await response.Content.ReadAsStringAsync();
            return new Reply(response.StatusCode, response.Headers, body, response.Content.Headers.ContentType?.MediaType);
        }
    }
}
