using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Fleet.Infra.Tests;

/// <summary>What one environment's deployment would create, read from its <c>bicep snapshot</c>.</summary>
public sealed class DeployedEnvironment
{
    /// <summary>The resource type of the Function App.</summary>
    public const string SiteType = "Microsoft.Web/sites";

    /// <summary>The resource type of the app's identity.</summary>
    public const string IdentityType = "Microsoft.ManagedIdentity/userAssignedIdentities";

    /// <summary>Reads a snapshot (its <c>predictedResources</c> and <c>outputs</c>).</summary>
    public DeployedEnvironment(JsonObject snapshot)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        Resources = snapshot["predictedResources"]!.AsArray()
            .Select(r => new PredictedResource(r!.AsObject()))
            .ToList();
        Outputs = snapshot["outputs"]?.AsObject() ?? [];
        Site = Resources.Single(r => r.Type == SiteType);
        Identity = Resources.Single(r => r.Type == IdentityType);
        AppSettings = Site.Properties!["siteConfig"]!["appSettings"]!.AsArray()
            .Select(s => new AppSetting((string)s!["name"]!, (string)s["value"]!))
            .ToDictionary(s => s.Name, StringComparer.OrdinalIgnoreCase);
        RoleAssignments = Resources.Where(r => r.Type == "Microsoft.Authorization/roleAssignments")
            .Select(RoleAssignment.From)
            .ToList();
    }

    /// <summary>Every resource the deployment would create.</summary>
    public IReadOnlyList<PredictedResource> Resources { get; }

    /// <summary>The deployment's outputs (values or unevaluated expressions).</summary>
    public JsonObject Outputs { get; }

    /// <summary>The Function App.</summary>
    public PredictedResource Site { get; }

    /// <summary>The user-assigned identity.</summary>
    public PredictedResource Identity { get; }

    /// <summary>The app's settings by name (case-insensitive, as the platform treats them).</summary>
    public IReadOnlyDictionary<string, AppSetting> AppSettings { get; }

    /// <summary>Every role assignment.</summary>
    public IReadOnlyList<RoleAssignment> RoleAssignments { get; }

    /// <summary>The expression every <c>__clientId</c> setting must be: the identity's client id at deployment time.</summary>
    public string IdentityClientIdExpression => $"[reference('{Identity.Id}', '{Identity.ApiVersion}').clientId]";

    /// <summary>The app settings as the app's configuration sees them (<c>__</c> is the section separator).</summary>
    public Dictionary<string, string?> AppConfiguration() =>
        AppSettings.Values.ToDictionary(s => s.ConfigurationKey, s => (string?)s.ValueForApp, StringComparer.OrdinalIgnoreCase);

    /// <summary>The resources of a type.</summary>
    public IEnumerable<PredictedResource> OfType(string type) => Resources.Where(r => r.Type == type);

    /// <summary>The resource of <paramref name="type"/> whose own name (the last segment) is <paramref name="name"/>, or null.</summary>
    public PredictedResource? Find(string type, string name) =>
        OfType(type).SingleOrDefault(r => string.Equals(r.ShortName, name, StringComparison.OrdinalIgnoreCase));
}

/// <summary>A predicted resource.</summary>
public sealed class PredictedResource(JsonObject json)
{
    /// <summary>The resource id.</summary>
    public string Id { get; } = (string)json["id"]!;

    /// <summary>The resource type.</summary>
    public string Type { get; } = (string)json["type"]!;

    /// <summary>The full name (parent names and this one, separated by '/').</summary>
    public string Name { get; } = (string)json["name"]!;

    /// <summary>The resource's own name.</summary>
    public string ShortName => Name.Split('/')[^1];

    /// <summary>The API version.</summary>
    public string ApiVersion { get; } = (string)json["apiVersion"]!;

    /// <summary>The resource's properties, if any.</summary>
    public JsonNode? Properties => Json["properties"];

    /// <summary>The whole resource.</summary>
    public JsonObject Json { get; } = json;

    /// <inheritdoc />
    public override string ToString() => $"{Type} {Name}";
}

/// <summary>A role assignment: who gets which role where.</summary>
/// <param name="Scope">The resource id the assignment is made on.</param>
/// <param name="RoleDefinitionId">The role's definition id (a GUID).</param>
/// <param name="PrincipalId">The principal, as the template says it (an expression for a principal deployed with it).</param>
/// <param name="PrincipalType">The principal's type.</param>
public sealed record RoleAssignment(string Scope, string RoleDefinitionId, string PrincipalId, string? PrincipalType)
{
    private const string Marker = "/providers/Microsoft.Authorization/roleAssignments/";

    /// <summary>Reads a predicted role assignment; its scope is the part of its id before the assignment.</summary>
    public static RoleAssignment From(PredictedResource resource)
    {
        ArgumentNullException.ThrowIfNull(resource);
        var at = resource.Id.IndexOf(Marker, StringComparison.OrdinalIgnoreCase);
        var properties = resource.Properties!;
        return new RoleAssignment(
            at < 0 ? string.Empty : resource.Id[..at],
            ((string)properties["roleDefinitionId"]!).Split('/')[^1],
            (string)properties["principalId"]!,
            (string?)properties["principalType"]);
    }
}

/// <summary>One app setting as deployed: a plain value, a Key Vault reference, or an ARM expression evaluated at deployment.</summary>
public sealed partial record AppSetting(string Name, string Value)
{
    /// <summary>The configuration key the app reads (<c>A__b</c> is <c>A:b</c>).</summary>
    public string ConfigurationKey => Name.Replace("__", ":", StringComparison.Ordinal);

    /// <summary>A Key Vault reference, which the platform replaces with the secret before the app starts.</summary>
    public bool IsKeyVaultReference => Value.StartsWith("@Microsoft.KeyVault(", StringComparison.Ordinal);

    /// <summary>An ARM expression only the deployment can evaluate (e.g. the identity's client id).</summary>
    public bool IsDeploymentExpression => Value.StartsWith('[') && Value.EndsWith(']');

    /// <summary>The Key Vault reference's vault and secret names, or null.</summary>
    public (string Vault, string Secret)? KeyVaultTarget =>
        KeyVaultPattern().Match(Value) is { Success: true } m ? (m.Groups["vault"].Value, m.Groups["secret"].Value) : null;

    /// <summary>
    /// What the app would read: the value itself; for a Key Vault reference a stand-in for the secret; for a deployment
    /// expression a GUID derived from it (client and principal ids are GUIDs), the same for the same expression.
    /// </summary>
    public string ValueForApp =>
        IsKeyVaultReference ? $"secret-{KeyVaultTarget?.Secret}-from-key-vault"
        : IsDeploymentExpression ? new Guid(SHA256.HashData(Encoding.UTF8.GetBytes(Value))[..16]).ToString()
        : Value;

    [GeneratedRegex(@"^@Microsoft\.KeyVault\(VaultName=(?<vault>[^;]+);SecretName=(?<secret>[^;)]+)\)$")]
    private static partial Regex KeyVaultPattern();
}
