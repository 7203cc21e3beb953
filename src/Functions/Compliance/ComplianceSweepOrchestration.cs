using System.Globalization;
using Microsoft.DurableTask;
using Fleet.Functions.Clouds;
using Fleet.Functions.Orchestration;
using Fleet.Functions.Settings;
using Fleet.Functions.Sphere;
using Microsoft.Azure.Functions.Worker;
using Fleet.Shared.DesiredState;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Fleet.Functions.Compliance;

/// <summary>
/// <c>ComplianceSweep</c> stores the policy, sweeps every tenant in parallel (one <c>ComplianceSweepTenant</c> each)
/// and writes the report. A tenant sweep reads the fleet a page at a time, fixes drift through <c>RemediateDrift</c>
/// sub-orchestrations in a sliding window while it reads on, and continues as new every <c>ChunkPages</c> pages
/// carrying only counters and the continuation token, so its history stays bounded whatever the fleet size.
/// </summary>
public sealed class ComplianceSweepOrchestration(IOptions<OrchestrationOptions> options)
{
    /// <summary>The sweep orchestrator's name.</summary>
    public const string Name = "ComplianceSweep";

    /// <summary>The tenant sweep orchestrator's name.</summary>
    public const string TenantName = "ComplianceSweepTenant";

    /// <summary>The remediation orchestrator's name.</summary>
    public const string RemediateName = "RemediateDrift";

    /// <summary>Runs a sweep; its output is the report's counts and location.</summary>
    [Function(Name)]
    public async Task<SweepSummary> ComplianceSweep([OrchestrationTrigger] TaskOrchestrationContext context)
    {
        var input = context.GetInput<SweepInput>() ?? throw new InvalidOperationException("ComplianceSweep needs an input.");
        var logger = context.CreateReplaySafeLogger<ComplianceSweepOrchestration>();
        var steps = new FleetSteps(context, options.Value);
        var startedAt = context.CurrentUtcDateTime;
        context.SetCustomStatus(new SweepStatus("Preparing", input.Mode, [], null));

        var plan = await context.CallActivityAsync<SweepPlan>(nameof(SweepActivities.PrepareSweep), new PrepareSweepRequest(context.InstanceId, input.PolicyJson), steps.Retry);
        var instances = plan.Tenants.Select((_, i) => TenantInstanceId(context.InstanceId, i)).ToList();
        context.SetCustomStatus(new SweepStatus("Sweeping", input.Mode, instances, null));
        var results = await Task.WhenAll(plan.Tenants.Select((tenant, i) => SweepTenantAsync(context, input, tenant, instances[i], logger)));

        context.SetCustomStatus(new SweepStatus("Reporting", input.Mode, instances, null));
        var summary = await context.CallActivityAsync<SweepSummary>(nameof(SweepActivities.WriteSweepReport),
            new ReportRequest(context.InstanceId, input.Mode, startedAt, context.CurrentUtcDateTime, plan, results), steps.Retry);
        context.SetCustomStatus(new SweepStatus("Done", input.Mode, instances, summary));
        logger.SweepCompleted(context.InstanceId, summary.Devices, summary.Tenants, summary.Findings, summary.Fixed, summary.Failed, summary.TenantErrors, summary.ReportBlob);
        return summary;
    }

    /// <summary>Sweeps one tenant: one execution per phase or chunk of pages (see the class summary).</summary>
    [Function(TenantName)]
    public async Task<TenantSweepResult> ComplianceSweepTenant([OrchestrationTrigger] TaskOrchestrationContext context)
    {
        var state = context.GetInput<TenantSweepState>() ?? throw new InvalidOperationException("ComplianceSweepTenant needs an input.");
        var run = new TenantSweep(context, new FleetSteps(context, options.Value), state);
        try
        {
            return await run.RunAsync();
        }
        catch (FleetStepFailedException ex)
        {
            return run.Result(ex.Error);
        }
        catch (TaskFailedException ex)
        {
            return run.Result(new SphereError(0, ex.FailureDetails.ErrorType, ex.FailureDetails.ErrorMessage));
        }
    }

    /// <summary>Fixes one finding; never fails: the outcome (with the service's error) is its output.</summary>
    [Function(RemediateName)]
    public async Task<RemediationResult> RemediateDrift([OrchestrationTrigger] TaskOrchestrationContext context)
    {
        var request = context.GetInput<RemediationRequest>() ?? throw new InvalidOperationException("RemediateDrift needs an input.");
        var finding = request.Finding;
        if (!finding.Remediable)
        {
            return new RemediationResult(finding.Id, RemediationOutcome.Skipped, null, finding.Note);
        }

        var steps = new FleetSteps(context, options.Value);
        try
        {
            await Remediation.FixAsync(steps, new PortSteps(context, options.Value, steps), request, finding);
            return new RemediationResult(finding.Id, RemediationOutcome.Fixed);
        }
        catch (FleetStepFailedException ex)
        {
            return new RemediationResult(finding.Id, RemediationOutcome.Failed, ex.Error.ErrorCode, $"{ex.Step}: {ex.Error.Message}");
        }
        catch (TaskFailedException ex)
        {
            return new RemediationResult(finding.Id, RemediationOutcome.Failed, ex.FailureDetails.ErrorType, ex.FailureDetails.ErrorMessage);
        }
    }

    /// <summary>The instance id of a sweep's n-th tenant sweep.</summary>
    public static string TenantInstanceId(string sweepId, int index) => $"{sweepId}-t{index.ToString(CultureInfo.InvariantCulture)}";

    private static async Task<TenantSweepResult> SweepTenantAsync(
        TaskOrchestrationContext context, SweepInput input, SweepTenant tenant, string instanceId, ILogger logger)
    {
        if (tenant.Error is { } unresolved)
        {
            logger.TenantSweepFailed(context.InstanceId, tenant.PolicyTenant, unresolved.ToString());
            return new TenantSweepResult(tenant.PolicyTenant, tenant.TenantId, tenant.TenantName, new TenantSweepCounters(), unresolved) { Cloud = tenant.Cloud };
        }

        var scope = new TenantScope(context.InstanceId, tenant.TenantId!, tenant.TenantName!, tenant.PolicyTenant) { Cloud = tenant.Cloud, DeviceSet = tenant.DeviceSet };
        var start = new TenantSweepState(scope, input.Mode, input.PageSize, input.MaxParallelRemediations, input.ChunkPages,
            TenantSweepPhase.Groups, null, 0, 0, 0, new TenantSweepCounters());
        try
        {
            var result = await context.CallSubOrchestratorAsync<TenantSweepResult>(TenantName, start, new SubOrchestrationOptions(instanceId: instanceId));
            if (result.Error is { } error)
            {
                logger.TenantSweepFailed(context.InstanceId, tenant.PolicyTenant, error.ToString());
            }

            return result with { Cloud = tenant.Cloud };
        }
        catch (TaskFailedException ex)
        {
            var error = new SphereError(0, ex.FailureDetails.ErrorType, ex.FailureDetails.ErrorMessage);
            logger.TenantSweepFailed(context.InstanceId, tenant.PolicyTenant, error.ToString());
            return new TenantSweepResult(tenant.PolicyTenant, tenant.TenantId, tenant.TenantName, new TenantSweepCounters(), error) { Cloud = tenant.Cloud };
        }
    }

    /// <summary>One execution of a tenant sweep.</summary>
    private sealed class TenantSweep(TaskOrchestrationContext context, FleetSteps steps, TenantSweepState state)
    {
        // Outcomes are ~250 bytes each: 500 keep a RecordRemediations input far below the payload limit.
        private const int RecordBatchSize = 500;

        private TenantSweepCounters _counters = state.Counters;
        private int _placed = state.PlacedDevices;
        private TenantSweepPhase _phase = state.Phase;
        private int _running;

        private TenantScope Scope => state.Scope;

        public TenantSweepResult Result(SphereError? error = null) =>
            new(Scope.PolicyTenant, Scope.TenantId, Scope.TenantName, _counters, error);

        public async Task<TenantSweepResult> RunAsync()
        {
            Status();
            if (state.Phase == TenantSweepPhase.Unclaimed)
            {
                if (await UnclaimedAsync() is { } offset)
                {
                    context.ContinueAsNew(Next(TenantSweepPhase.Unclaimed, null, state.PageIndex, offset));
                }

                return Result();
            }

            IReadOnlyList<DriftFinding> first = [];
            if (state.Phase == TenantSweepPhase.Groups)
            {
                var groups = await GroupsAsync();
                if (groups.Items.Any(f => f.Kind == DriftKind.GroupMissing))
                {
                    // Device findings may target groups that remediation is about to create: fix the groups first.
                    await RemediateAllAsync(groups.Items, "groups");
                    _counters = _counters with
                    {
                        Groups = await steps.CallAsync<int>(nameof(TenantSweepPhase.Groups), nameof(SweepActivities.RefreshCatalog), Scope),
                    };
                    Progress(nameof(TenantSweepPhase.Groups));
                    context.ContinueAsNew(Next(TenantSweepPhase.Devices, null, 0, 0));
                    return Result();
                }

                // Nothing to create: the group fixes join the device window while the first pages are read.
                first = groups.Items;
            }

            var (continuation, pageIndex) = await DevicesAsync(first);
            if (continuation is not null)
            {
                context.ContinueAsNew(Next(TenantSweepPhase.Devices, continuation, pageIndex, 0));
            }
            else if (_placed > 0)
            {
                context.ContinueAsNew(Next(TenantSweepPhase.Unclaimed, null, pageIndex, 0));
            }

            return Result();
        }

        private TenantSweepState Next(TenantSweepPhase phase, string? continuation, int pageIndex, int offset) =>
            state with
            {
                Phase = phase, Continuation = continuation, PageIndex = pageIndex, Offset = offset, Chunk = state.Chunk + 1,
                Counters = _counters, PlacedDevices = _placed,
            };

        private async Task<GroupPhaseResult> GroupsAsync()
        {
            var groups = await steps.CallAsync<GroupPhaseResult>(nameof(TenantSweepPhase.Groups), nameof(SweepActivities.SweepGroups),
                new GroupPhaseRequest(Scope, state.Remediate));
            _counters = _counters.AddFindings(groups.ByKind) with { Groups = groups.Groups, PolicyErrors = groups.PolicyErrors };
            _placed = groups.PlacedDevices;
            Progress(nameof(TenantSweepPhase.Groups));
            return groups;
        }

        /// <summary>
        /// Reads up to ChunkPages pages, one at a time (the continuation token chains them), while remediations (of
        /// <paramref name="first"/>, then of the pages read) run in a window of MaxParallelRemediations; returns the
        /// next token (null at the end of the list).
        /// </summary>
        private async Task<(string? Continuation, int PageIndex)> DevicesAsync(IReadOnlyList<DriftFinding> first)
        {
            _phase = TenantSweepPhase.Devices;
            var pending = new Queue<DriftFinding>(first);
            var running = new List<Task<RemediationResult>>();
            var results = new List<RemediationResult>();
            var part = 0;
            var pageIndex = state.PageIndex;
            var pagesRead = 0;
            string? continuation = state.Continuation;
            var page = ReadPageAsync(continuation, pageIndex);
            while (page is not null || pending.Count > 0 || running.Count > 0)
            {
                while (running.Count < state.MaxParallelRemediations && pending.Count > 0)
                {
                    running.Add(RemediateAsync(pending.Dequeue()));
                }

                _running = running.Count;
                var waiting = new List<Task>(running);
                if (page is not null)
                {
                    waiting.Add(page);
                }

                var finished = await Task.WhenAny(waiting);
                if (finished == page)
                {
                    var read = await page;
                    pageIndex++;
                    pagesRead++;
                    _counters = _counters.AddFindings(read.ByKind) with { Pages = _counters.Pages + 1, Devices = _counters.Devices + read.Devices };
                    foreach (var item in read.Items)
                    {
                        pending.Enqueue(item);
                    }

                    continuation = read.Next;
                    page = continuation is not null && pagesRead < state.ChunkPages ? ReadPageAsync(continuation, pageIndex) : null;
                    Status();
                }
                else
                {
                    var done = (Task<RemediationResult>)finished;
                    running.Remove(done);
                    results.Add(await done);
                    if (results.Count >= RecordBatchSize)
                    {
                        await RecordAsync(results, $"devices-{state.Chunk:D6}-{part++:D4}");
                    }
                }
            }

            _running = 0;
            await RecordAsync(results, $"devices-{state.Chunk:D6}-{part:D4}");
            Progress(nameof(TenantSweepPhase.Devices));
            return (continuation, pageIndex);
        }

        private async Task<int?> UnclaimedAsync()
        {
            var slice = await context.CallActivityAsync<UnclaimedSlice>(nameof(SweepActivities.SweepUnclaimed),
                new UnclaimedRequest(Scope, state.Offset, state.PageSize, state.Remediate), steps.Retry);
            if (state.Offset == 0)
            {
                _counters = _counters.AddFindings(new Dictionary<DriftKind, int> { [DriftKind.UnclaimedDevice] = slice.Total });
            }

            await RemediateAllAsync(slice.Items, $"unclaimed-{state.Chunk:D6}");
            Progress(nameof(TenantSweepPhase.Unclaimed));
            return slice.NextOffset;
        }

        private Task<DevicePageResult> ReadPageAsync(string? continuation, int pageIndex) =>
            steps.CallAsync<DevicePageResult>(nameof(TenantSweepPhase.Devices), nameof(SweepActivities.SweepDevicePage),
                new DevicePageRequest(Scope, continuation, pageIndex, state.PageSize, state.Remediate));

        /// <summary>Fixes findings in a sliding window of MaxParallelRemediations and records the outcomes.</summary>
        private async Task RemediateAllAsync(IReadOnlyList<DriftFinding> findings, string batch)
        {
            if (findings.Count == 0)
            {
                return;
            }

            var results = new List<RemediationResult>();
            var running = new List<Task<RemediationResult>>();
            var next = 0;
            var part = 0;
            while (next < findings.Count || running.Count > 0)
            {
                while (running.Count < state.MaxParallelRemediations && next < findings.Count)
                {
                    running.Add(RemediateAsync(findings[next++]));
                }

                var done = await Task.WhenAny(running);
                running.Remove(done);
                results.Add(await done);
                if (results.Count >= RecordBatchSize)
                {
                    await RecordAsync(results, $"{batch}-{part++:D4}");
                }
            }

            await RecordAsync(results, $"{batch}-{part:D4}");
        }

        private async Task<RemediationResult> RemediateAsync(DriftFinding finding)
        {
            try
            {
                var result = await context.CallSubOrchestratorAsync<RemediationResult>(RemediateName, new RemediationRequest(Scope.SweepId, Scope.TenantId, finding));
                if (result.Outcome == RemediationOutcome.Failed)
                {
                    context.CreateReplaySafeLogger<ComplianceSweepOrchestration>().RemediationFailed(Scope.SweepId, finding.Id, Scope.TenantId, $"{result.ErrorCode} {result.Message}");
                }

                return result;
            }
            catch (TaskFailedException ex)
            {
                context.CreateReplaySafeLogger<ComplianceSweepOrchestration>().RemediationFailed(Scope.SweepId, finding.Id, Scope.TenantId, ex.FailureDetails.ToString());
                return new RemediationResult(finding.Id, RemediationOutcome.Failed, ex.FailureDetails.ErrorType, ex.FailureDetails.ErrorMessage);
            }
        }

        /// <summary>Stores outcomes (then forgets them), in batches small enough for an activity input.</summary>
        private async Task RecordAsync(List<RemediationResult> results, string batch)
        {
            if (results.Count == 0)
            {
                return;
            }

            await context.CallActivityAsync<int>(nameof(SweepActivities.RecordRemediations), new RemediationBatch(Scope, batch, [.. results]), steps.Retry);
            _counters = _counters.AddRemediations(results);
            results.Clear();
        }

        private void Status() => context.SetCustomStatus(new TenantSweepStatus(Scope.TenantId, Scope.TenantName, _phase, _counters, _running) { Cloud = Scope.Cloud });

        private void Progress(string phase)
        {
            Status();
            context.CreateReplaySafeLogger<ComplianceSweepOrchestration>().TenantSweepProgress(Scope.SweepId, Scope.TenantId, phase, _counters.Pages, _counters.Devices, _counters.Findings, _counters.Fixed, _counters.Failed);
        }
    }
}
