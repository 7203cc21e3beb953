namespace Fleet.Hosting.Local.Durable;

/// <summary>Where the local host serves what a <c>durableClient</c> binding talks to.</summary>
public sealed class DurableFunctionsOptions
{
    /// <summary>
    /// The TaskHubSidecarService endpoint the worker's client calls (an HTTP/2 cleartext listener of the host's Kestrel).
    /// Null: the host's first listening address.
    /// </summary>
    public Uri? RpcBaseUrl { get; set; }

    /// <summary>The host's public HTTP address, root of the management API URLs. Null: the host's first listening address.</summary>
    public Uri? HttpBaseUrl { get; set; }

    /// <summary>The Durable system key (<c>code</c> on every management URL, required by the API); null: no key (local development).</summary>
    public string? SystemKey { get; set; }

    /// <summary>The connection name the management URLs carry (<c>connection=…</c>), as Durable Functions writes it.</summary>
    public string ConnectionName { get; set; } = "Storage";
}
