using System.Text;
using Fleet.Testing;

namespace Fleet.Simulator.Tests;

/// <summary>A simulator plus an HTTP client of its <c>contoso</c> IoT Central application, as the system-assigned identity (Administrator).</summary>
internal sealed class IoTCentralTestSim : IAsyncDisposable
{
    public const string IoTCentralResource = "https://apps.azureiotcentral.com";
    public const string Version = "api-version=2022-07-31";

    private IoTCentralTestSim(TestSim sim, HttpClient http)
    {
        Sim = sim;
        Http = http;
    }

    public TestSim Sim { get; }

    /// <summary>Base address <c>…/iotc/contoso/api/</c>, authorised with a bearer token for IoT Central.</summary>
    public HttpClient Http { get; }

    public SimulatorControlClient Control => Sim.Control;

    public FakeTimeProvider? Clock => Sim.Clock;

    public static async Task<IoTCentralTestSim> StartAsync(Action<IoTCentralSimulatorOptions>? configure = null, bool fakeClock = false)
    {
        var sim = await TestSim.StartAsync(o =>
        {
            o.Devices = 20;
            o.IoTCentral.Devices = 60;
            o.IoTCentral.RateLimit = 0;
            configure?.Invoke(o.IoTCentral);
        }, fakeClock);
        var http = sim.ClientWithToken(await sim.TokenAsync(resource: IoTCentralResource));
        http.BaseAddress = sim.Host.IoTCentralEndpoint("contoso");
        return new IoTCentralTestSim(sim, http);
    }

    public HttpClient ClientWith(string authorization)
    {
        var http = TestSim.NewClient(Sim.Host.IoTCentralEndpoint("contoso"));
        http.DefaultRequestHeaders.TryAddWithoutValidation("Authorization", authorization);
        return http;
    }

    public async Task<Reply> GetAsync(string pathAndQuery, HttpClient? client = null) =>
        await Reply.From(await (client ?? Http).GetAsync(WithVersion(pathAndQuery)));

    public async Task<Reply> SendAsync(HttpMethod method, string path, string? json = null, HttpClient? client = null)
    {
        using var request = new HttpRequestMessage(method, WithVersion(path));
        if (json is not null)
        {
            request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        }

        return await Reply.From(await (client ?? Http).SendAsync(request));
    }

    public static string WithVersion(string pathAndQuery) =>
        pathAndQuery.StartsWith("http", StringComparison.Ordinal) || pathAndQuery.Contains("api-version", StringComparison.Ordinal)
            ? pathAndQuery
            : pathAndQuery + (pathAndQuery.Contains('?') ? "&" : "?") + Version;

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await Sim.DisposeAsync();
    }
}

internal static class IoTCentralReplyExtensions
{
    /// <summary>The error code of an IoT Central error envelope, checked against the <c>x-ms-error-code</c> header.</summary>
    public static string IoTCentralErrorCode(this Reply reply)
    {
        var error = reply.Json.GetProperty("error");
        var code = error.GetProperty("code").GetString()!;
        Assert.Equal(code, reply.Headers.GetValues("x-ms-error-code").Single());
        Assert.False(string.IsNullOrEmpty(error.GetProperty("message").GetString()));
        Assert.Equal(reply.Headers.GetValues("x-ms-request-id").Single(), error.GetProperty("requestId").GetString());
        Assert.True(DateTimeOffset.TryParse(error.GetProperty("time").GetString(), out _));
        return code;
    }
}
