using System.Text.Json.Nodes;
using Fleet.Testing;

namespace Fleet.Infra.Tests;

/// <summary>
/// infra/ compiled once per test run: <c>bicep build</c> of main.bicep (the ARM JSON that <c>az deployment group
/// create</c> sends) and <c>bicep snapshot</c> of each environment (the resources that deployment would create, with
/// every expression evaluated that can be before it runs: names, parameters, conditions). Runs in a copy of infra/,
/// so the snapshot files never land in the repository.
/// </summary>
public sealed class InfraTemplate : IDisposable
{
    /// <summary>The committed sample environment (infra/main.bicepparam): every optional part switched on.</summary>
    public const string Sample = "sample";

    /// <summary>
    /// The smallest environment: only the required parameter, with the longest prefix allowed (the names' length
    /// rules), no IoT Central, IoTConnect, policy or Service Bus.
    /// </summary>
    public const string Minimal = "minimal";

    // Any ids do: the snapshot needs a subscription and resource group to evaluate resourceGroup().id and names.
    private const string SubscriptionId = "6b1c2a8e-4f1d-4c7e-9a35-0d2f5e8b7c41";
    private const string ResourceGroup = "fleet-test";
    private const string Location = "westeurope";
    private const string TenantId = "3f0e9c1a-7d2b-4e6f-8a90-1b2c3d4e5f60";

    private readonly string _folder;

    /// <summary>Compiles and snapshots infra/ (about 20 s).</summary>
    public InfraTemplate()
    {
        _folder = Directory.CreateTempSubdirectory("fleet-infra-").FullName;
        CopyDirectory(RepoPaths.Combine("infra"), _folder);
        File.WriteAllText(Path.Combine(_folder, Minimal + ".bicepparam"),
            "using './main.bicep'\n\nparam prefix = 'a23456789'\nparam serviceBus = false\n");

        // Three CLI runs of several seconds each, independent of each other: at once.
        var build = Task.Run(() => BicepCli.Run(_folder, "build", "main.bicep", "--outfile", "main.json"));
        var sample = Task.Run(() => Snapshot("main.bicepparam"));
        var minimal = Task.Run(() => Snapshot(Minimal + ".bicepparam"));
        Task.WaitAll(build, sample, minimal);
        Compiled = JsonNode.Parse(File.ReadAllText(Path.Combine(_folder, "main.json")))!.AsObject();
        Environments = new Dictionary<string, DeployedEnvironment>
        {
            [Sample] = sample.Result,
            [Minimal] = minimal.Result,
        };
    }

    /// <summary>The compiled ARM template of main.bicep (modules are nested deployments in it).</summary>
    public JsonObject Compiled { get; }

    /// <summary>The environments by name (<see cref="Sample"/>, <see cref="Minimal"/>).</summary>
    public IReadOnlyDictionary<string, DeployedEnvironment> Environments { get; }

    /// <summary>The environment names, for theories.</summary>
    public static TheoryData<string> EnvironmentNames => new() { Sample, Minimal };

    /// <inheritdoc />
    public void Dispose() => Directory.Delete(_folder, recursive: true);

    private DeployedEnvironment Snapshot(string parameterFile)
    {
        var output = BicepCli.Run(_folder, "snapshot", parameterFile, "--mode", "overwrite",
            "--subscription-id", SubscriptionId, "--resource-group", ResourceGroup, "--location", Location, "--tenant-id", TenantId);
        var snapshotFile = Path.Combine(_folder, Path.ChangeExtension(parameterFile, ".snapshot.json"));
        var snapshot = JsonNode.Parse(File.ReadAllText(snapshotFile))!.AsObject();
        var diagnostics = snapshot["diagnostics"]?.AsArray() ?? [];
        if (diagnostics.Count > 0 || output.Contains("Warning", StringComparison.Ordinal))
        {
            // A nested deployment that cannot be expanded is left out of the prediction, and the tests would miss it.
            throw new InvalidOperationException($"bicep snapshot of {parameterFile} reported diagnostics:\n{output}\n{diagnostics.ToJsonString()}");
        }

        return new DeployedEnvironment(snapshot);
    }

    private static void CopyDirectory(string source, string target)
    {
        foreach (var file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(source, file);
            if (relative.EndsWith(".snapshot.json", StringComparison.Ordinal))
            {
                continue;
            }

            var destination = Path.Combine(target, relative);
            Directory.CreateDirectory(Path.GetDirectoryName(destination)!);
            File.Copy(file, destination);
        }
    }
}

/// <summary>Runs the template once for all infra test classes.</summary>
[CollectionDefinition(Name)]
public sealed class InfraCollection : ICollectionFixture<InfraTemplate>
{
    /// <summary>The collection's name.</summary>
    public const string Name = "infra";
}
