using System.Globalization;
using Fleet.Functions.Settings;
using Fleet.Functions.Sphere;
using Microsoft.Azure.Functions.Worker;
using Fleet.Shared.DesiredState;
using Fleet.Shared.Sphere;

namespace Fleet.Functions.Compliance;

/// <summary>
/// The sweep's activities: read the fleet a page at a time, judge it with <see cref="DriftDetector"/>, and keep the
/// findings in the report container so orchestrations carry only counters, tokens and the findings to fix.
/// </summary>
public sealed class SweepActivities(
    SphereClient sphere, TenantDirectory tenants, PolicyProvider policies, ReportStore store, SweepContextCache cache,
    DeviceSetSweep deviceSets, Clouds.FleetActivities port)
{
    private const int LargePage = 1000;

    /// <summary>
    /// Stores the policy the sweep runs against (the request's, else the configured one) and resolves its tenants.
    /// </summary>
    /// <exception cref="InvalidOperationException">No policy is configured or the configured one is invalid (not retried).</exception>
    [Function(nameof(PrepareSweep))]
    public async Task<SweepPlan> PrepareSweep([ActivityTrigger] PrepareSweepRequest request, CancellationToken cancellationToken)
    {
        var (policy, source) = request.PolicyJson is { } json
            ? (DesiredStatePolicy.Parse(json), "request")
            : (policies.Current() ?? throw new InvalidOperationException(
                "No desired-state policy is configured: set ComplianceSweep:Policy or ComplianceSweep:PolicyPath, or pass one with the request."),
                "configuration");
        await store.WriteTextAsync(ReportStore.PolicyBlob(request.SweepId), policy.Json, cancellationToken);

        var resolved = new List<SweepTenant>();
        foreach (var tenant in policy.Tenants)
        {
            var found = await tenants.ResolveAsync(tenant.Tenant, cancellationToken);
            resolved.Add(new SweepTenant(tenant.Tenant, found.Value?.Id, found.Value?.Name, found.Error));
        }

        // Each device set is swept like a tenant: its id keeps its findings apart from other sets of the same connection.
        foreach (var set in policy.DeviceSets)
        {
            var scope = await port.FleetResolveScope(set.Target, cancellationToken);
            resolved.Add(new SweepTenant(set.Name, $"{Shared.FleetClouds.FleetCloudJsonConverter.NameOf(set.Target.Cloud)}-{set.Name}",
                scope.Value is { } s ? $"{set.Target.Scope} ({s.Name})" : null, scope.Error is { } e ? Clouds.FleetErrors.ToAppError(e) : null)
            {
                Cloud = set.Target.Cloud,
                DeviceSet = set.Name,
            });
        }

        return new SweepPlan(policy.Sha256, source, resolved);
    }

    /// <summary>Judges the tenant's products, groups and deployments; stores the findings and the catalog the device pages use.</summary>
    [Function(nameof(SweepGroups))]
    public Task<ApiResult<GroupPhaseResult>> SweepGroups([ActivityTrigger] GroupPhaseRequest request, CancellationToken cancellationToken) =>
        request.Scope.DeviceSet is not null ? deviceSets.GroupsAsync(request.Scope, cancellationToken) : SphereCall.TryAsync(async () =>
        {
            var scope = request.Scope;
            var policy = await cache.GetTenantPolicyAsync(scope, cancellationToken);
            var products = ReadAllAsync(sphere.GetProductsAsync(scope.TenantId, cancellationToken));
            var groups = ReadAllAsync(sphere.GetDeviceGroupsAsync(scope.TenantId, cancellationToken));
            var images = ReadAllAsync(sphere.GetImagesAsync(scope.TenantId, cancellationToken));
            var evaluation = DriftDetector.EvaluateGroups(policy, scope.TenantId, await products, await groups, await images);

            await store.WriteJsonAsync(ReportStore.CatalogBlob(scope), evaluation.Catalog, indented: false, cancellationToken);
            cache.SetCatalog(scope, evaluation.Catalog);
            await store.WriteJsonAsync(ReportStore.FindingsBlob(scope, "groups"),
                new FindingsRecord("groups", null, 0, [], evaluation.Findings, evaluation.PolicyErrors), indented: false, cancellationToken);
            return new GroupPhaseResult(evaluation.Catalog.Groups.Count, CountByKind(evaluation.Findings), evaluation.PolicyErrors.Count,
                request.IncludeItems ? [.. evaluation.Findings.Where(f => f.Remediable)] : [], policy.Devices.Count);
        });

    /// <summary>Reads the tenant's groups again (remediation may have created some) and replaces the stored catalog.</summary>
    [Function(nameof(RefreshCatalog))]
    public Task<ApiResult<int>> RefreshCatalog([ActivityTrigger] TenantScope scope, CancellationToken cancellationToken) =>
        SphereCall.TryAsync(async () =>
        {
            var policy = await cache.GetTenantPolicyAsync(scope, cancellationToken);
            var products = ReadAllAsync(sphere.GetProductsAsync(scope.TenantId, cancellationToken));
            var groups = ReadAllAsync(sphere.GetDeviceGroupsAsync(scope.TenantId, cancellationToken));
            var catalog = DriftDetector.EvaluateGroups(policy, scope.TenantId, await products, await groups, []).Catalog;
            await store.WriteJsonAsync(ReportStore.CatalogBlob(scope), catalog, indented: false, cancellationToken);
            cache.SetCatalog(scope, catalog);
            return catalog.Groups.Count;
        });

    /// <summary>Reads one page of the tenant's devices from a continuation token, judges it and stores the findings.</summary>
    [Function(nameof(SweepDevicePage))]
    public Task<ApiResult<DevicePageResult>> SweepDevicePage([ActivityTrigger] DevicePageRequest request, CancellationToken cancellationToken) =>
        request.Scope.DeviceSet is not null ? deviceSets.PageAsync(request, cancellationToken) : SphereCall.TryAsync(async () =>
        {
            var scope = request.Scope;
            var policy = await cache.GetTenantPolicyAsync(scope, cancellationToken);
            var catalog = await cache.GetCatalogAsync(scope, cancellationToken);
            await using var pages = sphere.GetDevicesAsync(scope.TenantId, cancellationToken)
                .AsPages(request.Continuation, request.PageSize).GetAsyncEnumerator(cancellationToken);
            var page = await pages.MoveNextAsync() ? pages.Current : null;
            IReadOnlyList<Device> devices = page?.Values ?? [];

            var findings = DriftDetector.EvaluateDevices(policy, catalog, devices);
            var step = "devices-" + request.PageIndex.ToString("D6", CultureInfo.InvariantCulture);
            await store.WriteJsonAsync(ReportStore.FindingsBlob(scope, step),
                new FindingsRecord("devices", request.PageIndex, devices.Count, DriftDetector.PlacedDevicesIn(policy, devices), findings, []),
                indented: false, cancellationToken);
            var next = string.IsNullOrEmpty(page?.ContinuationToken) ? null : page.ContinuationToken;
            return new DevicePageResult(next, devices.Count, CountByKind(findings),
                request.IncludeItems ? [.. findings.Where(f => f.Remediable)] : []);
        });

    /// <summary>
    /// Finds the devices the policy places in the tenant that no device page contained (computed and stored at offset
    /// 0, read back for later slices) and returns a slice of the remediable ones when asked.
    /// </summary>
    [Function(nameof(SweepUnclaimed))]
    public async Task<UnclaimedSlice> SweepUnclaimed([ActivityTrigger] UnclaimedRequest request, CancellationToken cancellationToken)
    {
        var scope = request.Scope;
        var blob = ReportStore.FindingsBlob(scope, "unclaimed");
        var stored = request.Offset == 0 ? null : await store.ReadJsonAsync<FindingsRecord>(blob, cancellationToken);
        var findings = stored?.Findings;
        if (findings is null)
        {
            var policy = await cache.GetTenantPolicyAsync(scope, cancellationToken);
            var catalog = await cache.GetCatalogAsync(scope, cancellationToken);
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var name in await store.ListAsync(ReportStore.FindingsPrefix(scope.SweepId, scope.TenantId) + "devices-", cancellationToken))
            {
                var page = await store.ReadJsonAsync<FindingsRecord>(name, cancellationToken);
                seen.UnionWith(page?.PlacedDevices ?? []);
            }

            findings = DriftDetector.FindUnclaimedDevices(policy, catalog, seen);
            await store.WriteJsonAsync(blob, new FindingsRecord("unclaimed", null, 0, [], findings, []), indented: false, cancellationToken);
        }

        var remediable = request.IncludeItems ? findings.Where(f => f.Remediable).ToList() : [];
        var slice = remediable.Skip(request.Offset).Take(request.Take).ToList();
        var end = request.Offset + slice.Count;
        return new UnclaimedSlice(findings.Count, slice, end < remediable.Count ? end : null);
    }

    /// <summary>Stores the outcomes of a batch of remediations.</summary>
    [Function(nameof(RecordRemediations))]
    public async Task<int> RecordRemediations([ActivityTrigger] RemediationBatch batch, CancellationToken cancellationToken)
    {
        await store.WriteJsonAsync(ReportStore.RemediationBlob(batch.Scope, batch.Name), batch.Results, indented: false, cancellationToken);
        return batch.Results.Count;
    }

    /// <summary>Writes <c>report.json</c> and <c>summary.txt</c> from everything the sweep stored, and returns the counts.</summary>
    [Function(nameof(WriteSweepReport))]
    public async Task<SweepSummary> WriteSweepReport([ActivityTrigger] ReportRequest request, CancellationToken cancellationToken)
    {
        var tenantReports = new List<TenantReport>();
        foreach (var tenant in request.Tenants)
        {
            var findings = new List<FindingsRecord>();
            var remediations = new List<RemediationResult>();
            if (tenant.TenantId is { } tenantId)
            {
                foreach (var name in await store.ListAsync(ReportStore.FindingsPrefix(request.SweepId, tenantId), cancellationToken))
                {
                    findings.Add((await store.ReadJsonAsync<FindingsRecord>(name, cancellationToken))!);
                }

                foreach (var name in await store.ListAsync(ReportStore.RemediationPrefix(request.SweepId, tenantId), cancellationToken))
                {
                    remediations.AddRange(await store.ReadJsonAsync<List<RemediationResult>>(name, cancellationToken) ?? []);
                }
            }

            tenantReports.Add(SweepReportBuilder.Tenant(tenant, findings, remediations));
        }

        var report = SweepReportBuilder.Build(request, tenantReports);
        await store.WriteJsonAsync(ReportStore.ReportBlob(request.SweepId), report, indented: true, cancellationToken);
        await store.WriteTextAsync(ReportStore.SummaryBlob(request.SweepId), SweepReportBuilder.Summary(report), cancellationToken);
        return SweepReportBuilder.Summarize(report, store.ContainerName);
    }

    private static Dictionary<DriftKind, int> CountByKind(IEnumerable<DriftFinding> findings) =>
        findings.GroupBy(f => f.Kind).ToDictionary(g => g.Key, g => g.Count());

    private static async Task<List<T>> ReadAllAsync<T>(Azure.AsyncPageable<T> pageable)
        where T : notnull
    {
        var items = new List<T>();
        await foreach (var page in pageable.AsPages(pageSizeHint: LargePage))
        {
            items.AddRange(page.Values);
        }

        return items;
    }
}
