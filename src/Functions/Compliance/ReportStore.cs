using System.Collections.Concurrent;
using System.Text.Json;
using Azure;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Fleet.Shared.DesiredState;

namespace Fleet.Functions.Compliance;

/// <summary>What a sweep step found, as stored per tenant under <c>{sweepId}/tenants/{tenantId}/findings/</c>.</summary>
/// <param name="Phase">groups, devices or unclaimed.</param>
/// <param name="PageIndex">The device page, for the devices phase.</param>
/// <param name="Devices">Devices judged on the page.</param>
/// <param name="PlacedDevices">Devices on the page that the policy places explicitly (to find the unclaimed ones).</param>
/// <param name="Findings">The drift.</param>
/// <param name="PolicyErrors">Parts of the policy that could not be checked.</param>
public sealed record FindingsRecord(
    string Phase, int? PageIndex, int Devices, IReadOnlyList<string> PlacedDevices, IReadOnlyList<DriftFinding> Findings, IReadOnlyList<string> PolicyErrors);

/// <summary>
/// The compliance blobs in the report container (<c>ComplianceSweep:ReportContainer</c>), one prefix per sweep:
/// the policy it ran against, each tenant's catalog, findings and remediation outcomes, and finally
/// <c>report.json</c> and <c>summary.txt</c>. Every write is an idempotent overwrite of a name fixed by the step, so
/// an activity that runs twice writes the same blob twice.
/// </summary>
public sealed class ReportStore(BlobContainerClient container)
{
    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    internal static readonly JsonSerializerOptions IndentedJson = new(JsonSerializerDefaults.Web) { WriteIndented = true };
    private int _created;

    /// <summary>The container.</summary>
    public string ContainerName => container.Name;

    /// <summary>The report of a sweep.</summary>
    public static string ReportBlob(string sweepId) => $"{sweepId}/report.json";

    /// <summary>The readable summary of a sweep.</summary>
    public static string SummaryBlob(string sweepId) => $"{sweepId}/summary.txt";

    /// <summary>The policy a sweep runs against.</summary>
    public static string PolicyBlob(string sweepId) => $"{sweepId}/policy.json";

    /// <summary>A tenant's groups, as the sweep knows them.</summary>
    public static string CatalogBlob(TenantScope scope) => $"{TenantPrefix(scope.SweepId, scope.TenantId)}catalog.json";

    /// <summary>A tenant's findings of one step.</summary>
    public static string FindingsBlob(TenantScope scope, string step) => $"{FindingsPrefix(scope.SweepId, scope.TenantId)}{step}.json";

    /// <summary>A tenant's remediation outcomes of one batch.</summary>
    public static string RemediationBlob(TenantScope scope, string batch) => $"{RemediationPrefix(scope.SweepId, scope.TenantId)}{batch}.json";

    /// <summary>Everything of one tenant of one sweep.</summary>
    public static string TenantPrefix(string sweepId, string tenantId) => $"{sweepId}/tenants/{tenantId}/";

    /// <summary>A tenant's findings.</summary>
    public static string FindingsPrefix(string sweepId, string tenantId) => $"{TenantPrefix(sweepId, tenantId)}findings/";

    /// <summary>A tenant's remediation outcomes.</summary>
    public static string RemediationPrefix(string sweepId, string tenantId) => $"{TenantPrefix(sweepId, tenantId)}remediation/";

    /// <summary>Writes JSON (indented when it is for people).</summary>
    public async Task WriteJsonAsync<T>(string name, T value, bool indented, CancellationToken cancellationToken)
    {
        var data = BinaryData.FromBytes(JsonSerializer.SerializeToUtf8Bytes(value, indented ? IndentedJson : Json));
        await WriteAsync(name, data, "application/json", cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Writes text.</summary>
    public Task WriteTextAsync(string name, string text, CancellationToken cancellationToken) =>
        WriteAsync(name, BinaryData.FromString(text), "text/plain; charset=utf-8", cancellationToken);

    /// <summary>Reads a blob, or null when it does not exist.</summary>
    public async Task<BinaryData?> ReadAsync(string name, CancellationToken cancellationToken)
    {
        try
        {
            return (await container.GetBlobClient(name).DownloadContentAsync(cancellationToken).ConfigureAwait(false)).Value.Content;
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            return null;
        }
    }

    /// <summary>Reads JSON, or null when the blob does not exist.</summary>
    public async Task<T?> ReadJsonAsync<T>(string name, CancellationToken cancellationToken)
        where T : class =>
        await ReadAsync(name, cancellationToken).ConfigureAwait(false) is { } data ? data.ToObjectFromJson<T>(Json) : null;

    /// <summary>Names of the blobs under a prefix, in name order.</summary>
    public async Task<IReadOnlyList<string>> ListAsync(string prefix, CancellationToken cancellationToken)
    {
        var names = new List<string>();
        try
        {
            await foreach (var item in container.GetBlobsAsync(BlobTraits.None, BlobStates.None, prefix, cancellationToken).ConfigureAwait(false))
            {
                names.Add(item.Name);
            }
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            // No container yet: nothing was written.
        }

        names.Sort(StringComparer.Ordinal);
        return names;
    }

    private async Task WriteAsync(string name, BinaryData data, string contentType, CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _created) == 0)
        {
            await container.CreateIfNotExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
            Volatile.Write(ref _created, 1);
        }

        await container.GetBlobClient(name).UploadAsync(data, new BlobUploadOptions { HttpHeaders = new BlobHttpHeaders { ContentType = contentType } }, cancellationToken).ConfigureAwait(false);
    }
}

/// <summary>
/// Keeps the policy and catalogs of running sweeps in memory, so each page activity does not download and parse
/// them again; loads them from the report container after a restart. Bounded: old sweeps fall out.
/// </summary>
public sealed class SweepContextCache(ReportStore store)
{
    private const int MaxEntries = 64;
    private readonly ConcurrentDictionary<string, Lazy<Task<object>>> _entries = new(StringComparer.Ordinal);

    /// <summary>The policy snapshot of a sweep.</summary>
    /// <exception cref="InvalidOperationException">The sweep has no stored policy.</exception>
    public async Task<DesiredStatePolicy> GetPolicyAsync(string sweepId, CancellationToken cancellationToken) =>
        (DesiredStatePolicy)await GetAsync("policy|" + sweepId, async () =>
        {
            var json = await store.ReadAsync(ReportStore.PolicyBlob(sweepId), cancellationToken).ConfigureAwait(false)
                ?? throw new InvalidOperationException($"Sweep '{sweepId}' has no stored policy ({ReportStore.PolicyBlob(sweepId)}).");
            return DesiredStatePolicy.Parse(json.ToString());
        }).ConfigureAwait(false);

    /// <summary>A tenant's policy in a sweep.</summary>
    public async Task<TenantPolicy> GetTenantPolicyAsync(TenantScope scope, CancellationToken cancellationToken)
    {
        var policy = await GetPolicyAsync(scope.SweepId, cancellationToken).ConfigureAwait(false);
        return policy.FindTenant(scope.PolicyTenant)
            ?? throw new InvalidOperationException($"The policy of sweep '{scope.SweepId}' has no tenant '{scope.PolicyTenant}'.");
    }

    /// <summary>A tenant's catalog in a sweep.</summary>
    /// <exception cref="InvalidOperationException">The groups phase has not stored it.</exception>
    public async Task<TenantCatalog> GetCatalogAsync(TenantScope scope, CancellationToken cancellationToken) =>
        (TenantCatalog)await GetAsync("catalog|" + ReportStore.CatalogBlob(scope), async () =>
            await store.ReadJsonAsync<TenantCatalog>(ReportStore.CatalogBlob(scope), cancellationToken).ConfigureAwait(false)
            ?? throw new InvalidOperationException($"Sweep '{scope.SweepId}' has no catalog of tenant {scope.TenantId} yet.")).ConfigureAwait(false);

    /// <summary>Replaces a tenant's catalog (after remediation created groups).</summary>
    public void SetCatalog(TenantScope scope, TenantCatalog catalog) =>
        _entries["catalog|" + ReportStore.CatalogBlob(scope)] = new Lazy<Task<object>>(Task.FromResult<object>(catalog));

    private async Task<object> GetAsync(string key, Func<Task<object>> load)
    {
        if (_entries.Count > MaxEntries)
        {
            _entries.Clear();
        }

        var entry = _entries.GetOrAdd(key, _ => new Lazy<Task<object>>(load));
        try
        {
            return await entry.Value.ConfigureAwait(false);
        }
        catch
        {
            // A failed load (not found yet, storage error) must not stick.
            _entries.TryRemove(new KeyValuePair<string, Lazy<Task<object>>>(key, entry));
            throw;
        }
    }
}
