using System.Text.Json.Nodes;
using System.Xml.Linq;
using Fleet.Testing;

namespace Fleet.Hosting.Tests.Local;

/// <summary>
/// Pins what the real worker (at the versions in Directory.Packages.props) sends: a package bump that changes the
/// payloads fails here, not in a user's app.
/// </summary>
[Collection(HttpAppCollection.Name)]
public sealed class ProtocolContractTests(HttpAppFixture builtIn)
{
    private static readonly string[] BaseCapabilities =
    [
        "HandlesWorkerTerminateMessage", "HandlesInvocationCancelMessage", "IncludeEmptyEntriesInMessagePayload", "EnableUserCodeException",
        "RpcHttpBodyOnly", "RawHttpBodyBytes", "RpcHttpTriggerMetadataRemoved", "UseNullableValueDictionaryForHttp", "TypedDataCollection", "WorkerStatus",
    ];

    [Fact]
    public void The_worker_is_the_pinned_version()
    {
        var props = XDocument.Load(RepoPaths.Combine("Directory.Packages.props"));
        var pinned = props.Descendants("PackageVersion").Single(p => (string?)p.Attribute("Include") == "Microsoft.Azure.Functions.Worker").Attribute("Version")!.Value;
        Assert.Equal(pinned + ".0", builtIn.Host.Supervisor.Current!.Init.WorkerVersion);
    }

    [Fact]
    public void The_worker_announces_the_capabilities_the_host_relies_on()
    {
        var builtInCapabilities = builtIn.Host.Supervisor.Current!.Init.Capabilities;
        Assert.All(BaseCapabilities, c => Assert.Equal("True", builtInCapabilities[c]));
        Assert.False(builtInCapabilities.ContainsKey("HttpUri"));
        Assert.False(builtInCapabilities.ContainsKey("SupportsLoadResponseCollection"));
    }

    [Fact]
    public void Metadata_carries_the_settings_only_in_raw_bindings()
    {
        var ping = builtIn.Host.Functions.Single(f => f.Spec.Name == "Ping").Spec;
        Assert.Equal("dotnet-isolated", ping.Metadata.Language);
        Assert.Equal("HttpApp.dll", ping.Metadata.ScriptFile);
        Assert.Equal("HttpApp.HttpFunctions.PingAsync", ping.Metadata.EntryPoint);
        Assert.False(string.IsNullOrEmpty(ping.FunctionId));
        Assert.Equal(2, ping.Metadata.RawBindings.Count);
        Assert.Equal(
            Canonical("""{"name":"request","direction":"In","type":"httpTrigger","authLevel":"Anonymous","methods":["get","post"],"route":"ping"}"""),
            Canonical(ping.Metadata.RawBindings[0]));
        Assert.Equal(Canonical("""{"name":"$return","type":"http","direction":"Out"}"""), Canonical(ping.Metadata.RawBindings[1]));

        // The bindings map is thin: type and direction, no route or methods.
        var trigger = ping.Metadata.Bindings["request"];
        Assert.Equal("httpTrigger", trigger.Type);
        Assert.DoesNotContain(trigger.Properties, p => p.Key is "route" or "methods");

        var notify = builtIn.Host.Functions.Single(f => f.Spec.Name == "Notify").Spec;
        Assert.Equal(["Text", "Response"], notify.Outputs.Select(o => o.Name));
        Assert.Equal(("sms", "Out", "+100200300"), (notify.Outputs[0].Type, notify.Outputs[0].Direction, notify.Outputs[0].Raw["to"]!.GetValue<string>()));
    }

    /// <summary>The JSON with object keys sorted, so comparisons ignore the worker's property order.</summary>
    private static string Canonical(string json) => Sort(JsonNode.Parse(json))?.ToJsonString() ?? "null";

    private static JsonNode? Sort(JsonNode? node) => node switch
    {
        JsonObject o => new JsonObject(o.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => KeyValuePair.Create(p.Key, Sort(p.Value)))),
        JsonArray a => new JsonArray(a.Select(Sort).ToArray()),
        _ => node?.DeepClone(),
    };
}
