namespace Fleet.Hosting.Local.Durable;

/// <summary>Where the durableClient binding points the worker's client, when not at the host's own listeners.</summary>
public sealed class DurableFunctionsOptions
{
    /// <summary>The TaskHubSidecarService endpoint (HTTP/2 cleartext). Null: the host's worker-facing listener.</summary>
    public Uri? RpcBaseUrl { get; set; }

    /// <summary>The origin of the management API URLs (<c>scheme://host:port</c>). Null: the host's HTTP front door.</summary>
    public Uri? HttpBaseUrl { get; set; }
}
