using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using Fleet.Shared.Sphere;

namespace Fleet.Shared.DesiredState;

/// <summary>
/// Reads the policy JSON strictly (unknown members are errors, so a typo cannot silently weaken a policy) and checks
/// its rules, reporting every problem with its path.
/// </summary>
internal static partial class PolicyParser
{
    private static readonly JsonSerializerOptions Options = new()
    {
        PropertyNameCaseInsensitive = true,
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow,
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
        Converters = { new JsonStringEnumConverter() },
    };

    public static DesiredStatePolicy Parse(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        PolicyDocument? document;
        try
        {
            document = JsonSerializer.Deserialize<PolicyDocument>(json, Options);
        }
        catch (JsonException ex)
        {
            var path = ex.Path is { Length: > 1 } p ? p.TrimStart('$').TrimStart('.') : "(document)";
            throw new PolicyFormatException([$"{path}: {Explain(path, ex.Message)}"]);
        }

        var errors = new List<string>();
        var sets = DeviceSetParser.Read(document?.DeviceSets, errors);
        var tenants = document?.Tenants ?? [];
        if (tenants.Count == 0 && sets.Count == 0)
        {
            throw new PolicyFormatException(errors.Count > 0 ? errors : ["tenants: at least one tenant (or a device set under deviceSets) is required."]);
        }

        var result = new List<TenantPolicy>();
        var seenTenants = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i < tenants.Count; i++)
        {
            var at = $"tenants[{i}]";
            if (tenants[i] is not { } tenant)
            {
                errors.Add($"{at}: must be an object.");
                continue;
            }

            if (string.IsNullOrWhiteSpace(tenant.Tenant))
            {
                errors.Add($"{at}.tenant: the tenant id or name is required.");
            }
            else if (!seenTenants.Add(tenant.Tenant.Trim()))
            {
                errors.Add($"{at}.tenant: '{tenant.Tenant}' appears more than once.");
            }

            if (ReadTenant(tenant, at, errors) is { } parsed)
            {
                result.Add(parsed);
            }
        }

        return errors.Count > 0 ? throw new PolicyFormatException(errors) : new DesiredStatePolicy(result, json, sets);
    }

    private static TenantPolicy? ReadTenant(TenantDocument tenant, string at, List<string> errors)
    {
        var before = errors.Count;
        var products = new List<ProductPolicy>();
        var productNames = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        var documents = tenant.Products ?? [];
        for (var p = 0; p < documents.Count; p++)
        {
            var pat = $"{at}.products[{p}]";
            if (documents[p] is not { } product)
            {
                errors.Add($"{pat}: must be an object.");
                continue;
            }

            if (!GroupPath.IsValidName(product.Name?.Trim()))
            {
                errors.Add($"{pat}.name: a product name of 1-50 letters, digits and spaces is required.");
                continue;
            }

            var name = product.Name!.Trim();
            if (!productNames.Add(name))
            {
                errors.Add($"{pat}.name: product '{name}' appears more than once.");
            }

            products.Add(new ProductPolicy(name, ReadGroups(name, product.DeviceGroups ?? [], pat, errors)));
        }

        var groups = products.SelectMany(p => p.DeviceGroups).Select(g => g.Path).ToHashSet();
        var devices = new Dictionary<string, GroupPath>(StringComparer.Ordinal);
        foreach (var (deviceId, target) in tenant.Devices ?? [])
        {
            var dat = $"{at}.devices['{Shorten(deviceId)}']";
            if (!DeviceIdPattern().IsMatch(deviceId))
            {
                errors.Add($"{dat}: a device id is 128 hexadecimal characters.");
                continue;
            }

            if (!GroupPath.TryParse(target, out var path))
            {
                errors.Add($"{dat}: write the target as \"Product/Group\".");
                continue;
            }

            if (!groups.Contains(path))
            {
                errors.Add($"{dat}: '{path}' is not a device group of this tenant's policy; declare it under products.");
                continue;
            }

            if (!devices.TryAdd(deviceId.ToUpperInvariant(), path))
            {
                errors.Add($"{dat}: the device appears more than once.");
            }
        }

        var rule = ReadUnassignedRule(tenant.UnassignedDevices, $"{at}.unassignedDevices", groups, errors);
        return errors.Count > before
            ? null
            : new TenantPolicy(tenant.Tenant!.Trim(), tenant.AllowCreate ?? false, products, devices, rule);
    }

    private static List<GroupPolicy> ReadGroups(string product, List<GroupDocument?> documents, string at, List<string> errors)
    {
        var groups = new List<GroupPolicy>();
        var names = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        for (var g = 0; g < documents.Count; g++)
        {
            var gat = $"{at}.deviceGroups[{g}]";
            if (documents[g] is not { } group)
            {
                errors.Add($"{gat}: must be an object.");
                continue;
            }

            if (!GroupPath.IsValidName(group.Name?.Trim()))
            {
                errors.Add($"{gat}.name: a device group name of 1-50 letters, digits and spaces is required.");
                continue;
            }

            var name = group.Name!.Trim();
            if (!names.Add(name))
            {
                errors.Add($"{gat}.name: device group '{name}' appears more than once in product '{product}'.");
            }

            if (group.OsFeedType is { } feed && !Enum.IsDefined(feed))
            {
                errors.Add($"{gat}.osFeedType: use Retail or RetailEval.");
            }

            if (group.UpdatePolicy is { } update && !Enum.IsDefined(update))
            {
                errors.Add($"{gat}.updatePolicy: use UpdateAll, No3rdPartyAppUpdates or NoUpdates.");
            }

            List<string>? deployment = null;
            if (group.Deployment is { } images)
            {
                deployment = images.Select(i => i?.Trim() ?? string.Empty).ToList();
                if (deployment.Count == 0 || deployment.Any(string.IsNullOrEmpty))
                {
                    errors.Add($"{gat}.deployment: list one or more image ids or names (leave it out to not check deployments).");
                }
                else if (deployment.Distinct(StringComparer.OrdinalIgnoreCase).Count() != deployment.Count)
                {
                    errors.Add($"{gat}.deployment: an image is listed twice.");
                }
            }

            groups.Add(new GroupPolicy(new GroupPath(product, name), group.OsFeedType, group.UpdatePolicy, deployment));
        }

        return groups;
    }

    private static UnassignedDeviceRule ReadUnassignedRule(UnassignedDocument? document, string at, HashSet<GroupPath> groups, List<string> errors)
    {
        if (document is null)
        {
            return UnassignedDeviceRule.ReportOnly;
        }

        var action = document.Action ?? UnassignedDeviceAction.Report;
        if (!Enum.IsDefined(action))
        {
            errors.Add($"{at}.action: use report or assign.");
            return UnassignedDeviceRule.ReportOnly;
        }

        if (action == UnassignedDeviceAction.Report)
        {
            if (document.Target is not null)
            {
                errors.Add($"{at}.target: a target is used only with action 'assign'.");
            }

            return UnassignedDeviceRule.ReportOnly;
        }

        if (!GroupPath.TryParse(document.Target, out var target))
        {
            errors.Add($"{at}.target: action 'assign' needs a target \"Product/Group\".");
            return UnassignedDeviceRule.ReportOnly;
        }

        if (!groups.Contains(target))
        {
            errors.Add($"{at}.target: '{target}' is not a device group of this tenant's policy; declare it under products.");
        }

        return new UnassignedDeviceRule(UnassignedDeviceAction.Assign, target);
    }

    private static string Shorten(string deviceId) => deviceId.Length > 16 ? deviceId[..16] + "…" : deviceId;

    /// <summary>Says what is wrong in the policy's terms instead of System.Text.Json's (which name internal types).</summary>
    internal static string Explain(string path, string message)
    {
        var member = path[(path.LastIndexOf('.') + 1)..];
        var bracket = member.IndexOf('[', StringComparison.Ordinal);
        member = bracket >= 0 ? member[..bracket] : member;
        if (message.Contains("could not be mapped", StringComparison.Ordinal))
        {
            return $"'{member}' is not a member of the policy format here (check its spelling).";
        }

        if (message.StartsWith("The JSON value could not be converted", StringComparison.Ordinal))
        {
            return member switch
            {
                "osFeedType" => "use Retail or RetailEval.",
                "updatePolicy" => "use UpdateAll, No3rdPartyAppUpdates or NoUpdates.",
                "action" => "use report or assign.",
                "allowCreate" => "use true or false.",
                "tenants" or "products" or "deviceGroups" or "deviceSets" => "must be a JSON array.",
                "deployment" when path.StartsWith("deviceSets", StringComparison.Ordinal) => "must be an object { \"version\": … }.",
                "deployment" => "must be a JSON array.",
                "cloud" => "use iotcentral or iotconnect.",
                "devices" => "must be a JSON object of device id to \"Product/Group\".",
                _ => "the value has the wrong JSON type.",
            };
        }

        // A syntax error: keep the reader's explanation without its trailing "Path: … | LineNumber: …".
        var cut = message.IndexOf(" Path:", StringComparison.Ordinal);
        return cut > 0 ? message[..cut] : message;
    }

    [GeneratedRegex("^[0-9A-Fa-f]{128}$")]
    private static partial Regex DeviceIdPattern();

    private sealed class PolicyDocument
    {
        public List<TenantDocument?>? Tenants { get; set; }

        public List<DeviceSetParser.DeviceSetDocument?>? DeviceSets { get; set; }
    }

    private sealed class TenantDocument
    {
        public string? Tenant { get; set; }

        public bool? AllowCreate { get; set; }

        public List<ProductDocument?>? Products { get; set; }

        public Dictionary<string, string?>? Devices { get; set; }

        public UnassignedDocument? UnassignedDevices { get; set; }
    }

    private sealed class ProductDocument
    {
        public string? Name { get; set; }

        public List<GroupDocument?>? DeviceGroups { get; set; }
    }

    private sealed class GroupDocument
    {
        public string? Name { get; set; }

        public OsFeedType? OsFeedType { get; set; }

        public UpdatePolicy? UpdatePolicy { get; set; }

        public List<string?>? Deployment { get; set; }
    }

    private sealed class UnassignedDocument
    {
        public UnassignedDeviceAction? Action { get; set; }

        public string? Target { get; set; }
    }
}
