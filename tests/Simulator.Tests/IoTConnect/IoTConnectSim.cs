using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Fleet.Simulator.IoTConnect;
using Fleet.Testing;

namespace Fleet.Simulator.Tests.IoTConnect;

/// <summary>
/// An in-process simulator seen as an IoTConnect client sees it: plain HTTP to the service base URLs, logged in to
/// solution A (Contoso) by the documented flow (basic token, then login with the solution-key header).
/// </summary>
internal sealed class IoTConnectSim : IAsyncDisposable
{
    private IoTConnectSim(SimulatorHost host, IoTConnectDescription description, FakeTimeProvider? clock)
    {
        Host = host;
        Description = description;
        Clock = clock;
        Http = TestSim.NewClient(host.BaseAddress);
    }

    public SimulatorHost Host { get; }

    public IoTConnectDescription Description { get; }

    public IoTConnectSolutionDescription Contoso => Description.Contoso;

    public FakeTimeProvider? Clock { get; }

    /// <summary>Unauthenticated; every call of the helpers below sets its own headers.</summary>
    public HttpClient Http { get; }

    public IoTConnectBaseUrls Urls => Description.BaseUrls;

    public static async Task<IoTConnectSim> StartAsync(Action<SimulatorOptions>? configure = null, bool fakeClock = false)
    {
        var options = new SimulatorOptions { Devices = 250, Seed = 1 };
        configure?.Invoke(options);
        var clock = fakeClock ? new FakeTimeProvider() : null;
        var host = await SimulatorHost.StartAsync(options, clock);
        return new IoTConnectSim(host, await host.Control.GetIoTConnectAsync(), clock);
    }

    public async Task<string> BasicTokenAsync()
    {
        var reply = await Reply.From(await Http.GetAsync(new Uri(Urls.Auth, "Auth/basic-token")));
        Assert.Equal(HttpStatusCode.OK, reply.Status);
        return reply.Json.GetProperty("data").GetString()!;
    }

    /// <summary>POST Auth/login with the given parts (null leaves a header out).</summary>
    public async Task<Reply> LoginAsync(string? basic, string? solutionKey, string username, string password)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(Urls.Auth, "Auth/login"))
        {
            Content = Json(new { username, password }),
        };
        if (basic is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Basic", basic);
        }

        if (solutionKey is not null)
        {
            request.Headers.Add("solution-key", solutionKey);
        }

        return await Reply.From(await Http.SendAsync(request));
    }

    /// <summary>A full login to a solution; returns the login answer's JSON.</summary>
    public async Task<JsonElement> LoginAsync(IoTConnectSolutionDescription? solution = null)
    {
        solution ??= Contoso;
        var reply = await LoginAsync(await BasicTokenAsync(), solution.SolutionKey, solution.Username, solution.Password);
        Assert.Equal(HttpStatusCode.OK, reply.Status);
        return reply.Json;
    }

    public async Task<string> AccessTokenAsync(IoTConnectSolutionDescription? solution = null) =>
        (await LoginAsync(solution)).GetProperty("access_token").GetString()!;

    public Task<Reply> RefreshAsync(string refreshToken) => SendAsync(HttpMethod.Post, new Uri(Urls.Auth, "Auth/refresh-token"), null, new { refreshtoken = refreshToken });

    public Task<Reply> GetAsync(Uri service, string path, string? token) => SendAsync(HttpMethod.Get, new Uri(service, path), token, null);

    public async Task<Reply> SendAsync(HttpMethod method, Uri uri, string? token, object? body)
    {
        using var request = new HttpRequestMessage(method, uri);
        if (token is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }

        if (body is not null)
        {
            request.Content = Json(body);
        }

        return await Reply.From(await Http.SendAsync(request));
    }

    public static StringContent Json(object body) => new(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");

    /// <summary>The <c>param</c> of a one-entry IoTConnect error body, after checking its shape.</summary>
    public static string ErrorParam(Reply reply)
    {
        var json = reply.Json;
        Assert.Equal((int)reply.Status, json.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrEmpty(json.GetProperty("message").GetString()));
        var errors = json.GetProperty("error");
        Assert.Equal(1, errors.GetArrayLength());
        return errors[0].GetProperty("param").GetString()!;
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await Host.DisposeAsync();
    }
}
