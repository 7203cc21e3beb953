using System.Text.Json;
using System.Text.Json.Nodes;
using Fleet.Hosting.Configuration;
using Fleet.Hosting.Rpc.Protocol;
using Microsoft.Extensions.Configuration;

namespace Fleet.Hosting.Local;

/// <summary>An HTTP-triggered function's route (route prefix included), methods (empty: all) and authorization level.</summary>
internal sealed record HttpRoute(string Template, IReadOnlyList<string> Methods, AuthorizationLevel Level);

/// <summary>A function the worker announced: loaded (with its HTTP route, for HTTP triggers) or not, with the reason.</summary>
internal sealed record RegisteredFunction(FunctionSpec Spec, string? NotLoadedReason, HttpRoute? Http)
{
    public bool Loaded => NotLoadedReason is null;
}

/// <summary>
/// Turns the worker's metadata into <see cref="FunctionSpec"/>s (from <c>raw_bindings</c>, where the settings live)
/// and decides which functions load: not when disabled (<c>AzureWebJobs.&lt;name&gt;.Disabled</c>), left out of
/// host.json <c>functions</c>, or using a trigger or binding the host has no handler for.
/// </summary>
internal static class FunctionRegistry
{
    public const string HttpTrigger = "httpTrigger";
    public const string HttpOutput = "http";

    /// <summary>What the host can run, by binding type.</summary>
    internal sealed record Capabilities(ISet<string> Triggers, ISet<string> Inputs, ISet<string> Outputs);

    public static IReadOnlyList<RegisteredFunction> Register(
        IEnumerable<RpcFunctionMetadata> metadata, Capabilities capabilities, HostSettings settings, IConfiguration appSettings)
    {
        var result = new List<RegisteredFunction>();
        foreach (var function in metadata)
        {
            FunctionSpec spec;
            try
            {
                spec = ToSpec(function);
            }
            catch (FormatException ex)
            {
                var empty = new BindingSpec(string.Empty, string.Empty, "In", null, []);
                result.Add(new RegisteredFunction(new FunctionSpec(function.FunctionId, function.Name, empty, [], [], function), ex.Message, null));
                continue;
            }

            var (reason, http) = Check(spec, capabilities, settings, appSettings);
            result.Add(new RegisteredFunction(spec, reason, http));
        }

        return result;
    }

    /// <summary>Parses one function's raw bindings.</summary>
    /// <exception cref="FormatException">A raw binding is not a JSON object with name, type and direction, or there is not exactly one trigger.</exception>
    public static FunctionSpec ToSpec(RpcFunctionMetadata metadata)
    {
        var bindings = new List<BindingSpec>();
        foreach (var raw in metadata.RawBindings)
        {
            JsonObject json;
            try
            {
                json = JsonNode.Parse(raw) as JsonObject ?? throw new FormatException($"a raw binding of '{metadata.Name}' is not a JSON object");
            }
            catch (JsonException ex)
            {
                throw new FormatException($"a raw binding of '{metadata.Name}' is not valid JSON: {ex.Message}", ex);
            }

            var name = Text(json, "name") ?? throw new FormatException($"a binding of '{metadata.Name}' has no name");
            var type = Text(json, "type") ?? throw new FormatException($"binding '{name}' of '{metadata.Name}' has no type");
            var direction = Text(json, "direction") ?? "In";
            bindings.Add(new BindingSpec(name, type, direction, Text(json, "dataType"), json));
        }

        var triggers = bindings.Where(b => b.Type.EndsWith("Trigger", StringComparison.OrdinalIgnoreCase) && IsIn(b)).ToList();
        if (triggers.Count != 1)
        {
            throw new FormatException($"'{metadata.Name}' has {triggers.Count} trigger bindings; a function needs exactly one");
        }

        var trigger = triggers[0];
        return new FunctionSpec(
            metadata.FunctionId,
            metadata.Name,
            trigger,
            bindings.Where(b => b != trigger && IsIn(b)).ToList(),
            bindings.Where(b => !IsIn(b)).ToList(),
            metadata);
    }

    /// <summary>The app setting that disables a function, as Azure Functions names it.</summary>
    public static string DisabledSetting(string functionName) => $"AzureWebJobs.{functionName}.Disabled";

    private static (string? Reason, HttpRoute? Http) Check(FunctionSpec spec, Capabilities capabilities, HostSettings settings, IConfiguration appSettings)
    {
        try
        {
            if (HostSettingsReader.ReadSettingBool(appSettings, DisabledSetting(spec.Name), false))
            {
                return ($"disabled by the setting {DisabledSetting(spec.Name)}", null);
            }
        }
        catch (HostConfigurationException ex)
        {
            return (ex.Message, null);
        }

        if (settings.FunctionNames is { } only && !only.Contains(spec.Name, StringComparer.OrdinalIgnoreCase))
        {
            return ("not listed in host.json 'functions'", null);
        }

        var isHttp = string.Equals(spec.Trigger.Type, HttpTrigger, StringComparison.OrdinalIgnoreCase);
        if (!isHttp && !capabilities.Triggers.Contains(spec.Trigger.Type))
        {
            return ($"trigger '{spec.Trigger.Type}' is not supported by this host", null);
        }

        foreach (var input in spec.Inputs.Where(i => !capabilities.Inputs.Contains(i.Type)))
        {
            return ($"input binding '{input.Name}' of type '{input.Type}' is not supported by this host", null);
        }

        foreach (var output in spec.Outputs)
        {
            var httpOutput = string.Equals(output.Type, HttpOutput, StringComparison.OrdinalIgnoreCase);
            if (httpOutput && !isHttp)
            {
                return ($"output binding '{output.Name}' of type 'http' needs an HTTP trigger", null);
            }

            if (!httpOutput && !capabilities.Outputs.Contains(output.Type))
            {
                return ($"output binding '{output.Name}' of type '{output.Type}' is not supported by this host", null);
            }
        }

        return isHttp ? HttpRouteOf(spec, settings) : (null, null);
    }

    private static (string? Reason, HttpRoute? Http) HttpRouteOf(FunctionSpec spec, HostSettings settings)
    {
        var raw = spec.Trigger.Raw;
        var route = (Text(raw, "route") ?? spec.Name).Trim().Trim('/');
        var template = settings.Http.RoutePrefix.Length == 0 ? route : settings.Http.RoutePrefix + "/" + route;
        var methods = raw["methods"] is JsonArray array
            ? array.Select(m => m?.GetValue<string>().ToUpperInvariant()).OfType<string>().ToList()
            : [];
        AuthorizationLevel? level = (Text(raw, "authLevel") ?? "Function").ToUpperInvariant() switch
        {
            "ANONYMOUS" => AuthorizationLevel.Anonymous,
            "FUNCTION" => AuthorizationLevel.Function,
            "ADMIN" or "SYSTEM" => AuthorizationLevel.Admin,
            _ => null,
        };
        if (level is null)
        {
            return ($"authLevel '{Text(raw, "authLevel")}' is not supported by this host (use Anonymous, Function or Admin)", null);
        }

        if (template.StartsWith("admin", StringComparison.OrdinalIgnoreCase) && (template.Length == 5 || template[5] == '/'))
        {
            return ($"route '{template}' is reserved for the host's admin endpoints", null);
        }

        return (null, new HttpRoute(template, methods, level.Value));
    }

    private static bool IsIn(BindingSpec binding) =>
        string.Equals(binding.Direction, "In", StringComparison.OrdinalIgnoreCase);

    private static string? Text(JsonObject json, string name)
    {
        foreach (var (key, value) in json)
        {
            if (string.Equals(key, name, StringComparison.OrdinalIgnoreCase) && value is JsonValue v && v.TryGetValue<string>(out var text))
            {
                return text;
            }
        }

        return null;
    }
}
