using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace Fleet.Simulator.IoTCentral;

/// <summary>
/// Jobs, progressing on the injected clock (none of this timing is documented; docs/iotcentral.md lists the choices):
/// a job is <c>pending</c> for <c>JobStartDelayMs</c> and while five jobs already run (the documented concurrency
/// limit); then its devices (the group's members when it was created, in id order) run batch by batch, each batch
/// taking <c>JobBatchDurationMs</c> and its devices finishing together at its end, <c>completed</c> or <c>failed</c>
/// by a draw from (seed, app, job, device) under the failure rate. When failures exceed the cancellation threshold
/// the job ends <c>cancelled</c> and the remaining devices stay <c>pending</c>; otherwise it ends <c>complete</c>
/// (<c>failed</c> when every device failed). Stop freezes the running batch; resume continues it.
/// </summary>
internal sealed partial class IoTCentralApp
{
    private const int MaxRunningJobs = 5;

    private static readonly Dictionary<string, string> DataTypes = new(StringComparer.Ordinal)
    {
        ["property"] = "property",
        ["PropertyJobData"] = "property",
        ["cloudProperty"] = "cloudProperty",
        ["CloudPropertyJobData"] = "cloudProperty",
        ["command"] = "command",
        ["CommandJobData"] = "command",
        ["deviceTemplateMigration"] = "deviceTemplateMigration",
    };

    public JobWire CreateJob(string id, JsonObject body, IReadOnlyList<RoleAssignment> roles)
    {
        CheckJobId(id);
        lock (_gate)
        {
            Advance();
            if (_jobs.TryGetValue(id, out var existing))
            {
                return Wire(existing); // a repeated PUT of the same job id is answered with the job as it is
            }

            var groupId = OptionalString(body, "group") ?? throw IoTCentralFault.Invalid("group (the device group id) is required.");
            if (!_groups.TryGetValue(groupId, out var group))
            {
                throw IoTCentralFault.Invalid($"The device group '{groupId}' does not exist in this application.");
            }

            var data = ReadData(body);
            var batch = ReadRule(body, "batch", allowBatchFlag: false);
            var threshold = ReadRule(body, "cancellationThreshold", allowBatchFlag: true);
            var organization = ReadOrganization(body, null, replace: true);
            var devices = Members(group)
                .Where(d => InScope(d.Organization, roles) && (organization is null || IsWithin(d.Organization, organization)))
                .Select(d => d.Id).ToList();
            var job = NewJob(id, groupId, OptionalString(body, "displayName"), OptionalString(body, "description"), batch,
                threshold, data, organization, devices);
            _jobs[id] = job;
            return Wire(job);
        }
    }

    public JobWire GetJob(string id)
    {
        lock (_gate)
        {
            Advance();
            return Wire(Job(id));
        }
    }

    public Collection<JobWire> ListJobs(HttpContext ctx)
    {
        lock (_gate)
        {
            Advance();
            return IoTCentralWire.Page(ctx, "jobs", _jobs.Values.OrderBy(j => j.Sequence),
                static j => j.Sequence.ToString("D12", CultureInfo.InvariantCulture), Wire, takesTop: false);
        }
    }

    public Collection<JobDeviceWire> JobDevices(HttpContext ctx, string id)
    {
        lock (_gate)
        {
            Advance();
            var job = Job(id);
            return IoTCentralWire.Page(ctx, "jobs/" + id, job.Devices.Select((d, i) => (Device: d, Index: i)),
                static x => x.Index.ToString("D9", CultureInfo.InvariantCulture),
                x => new JobDeviceWire(x.Device, job.Outcomes.GetValueOrDefault(x.Device, "pending")), takesTop: false);
        }
    }

    public void StopJob(string id)
    {
        lock (_gate)
        {
            Advance();
            var job = Job(id);
            var now = _time.GetUtcNow();
            switch (job.Status)
            {
                case "pending":
                    job.StoppedBeforeStart = true;
                    break;
                case "running":
                    job.Remaining = job.BatchEndsAt - now;
                    job.BatchEndsAt = null;
                    break;
                case "stopped":
                    return;
                default:
                    throw IoTCentralFault.BadRequest("JobNotRunning", $"The job '{id}' is {job.Status}; only a pending or running job can be stopped.");
            }

            job.Status = "stopped";
        }
    }

    public void ResumeJob(string id)
    {
        lock (_gate)
        {
            Advance();
            var job = Job(id);
            if (job.Status != "stopped")
            {
                if (job.IsActive)
                {
                    return;
                }

                throw IoTCentralFault.BadRequest("JobNotStopped", $"The job '{id}' is {job.Status}; only a stopped job can be resumed.");
            }

            if (job.StoppedBeforeStart)
            {
                job.StoppedBeforeStart = false;
                job.Status = "pending";
                return;
            }

            job.BatchEndsAt = _time.GetUtcNow() + (job.Remaining ?? TimeSpan.Zero);
            job.Remaining = null;
            job.Status = "running";
        }
    }

    /// <summary>A new job <paramref name="rerunId"/> with the same definition on the devices where the job failed.</summary>
    public JobWire RerunJob(string id, string rerunId)
    {
        CheckJobId(rerunId);
        lock (_gate)
        {
            Advance();
            var job = Job(id);
            if (_jobs.TryGetValue(rerunId, out var existing))
            {
                return Wire(existing);
            }

            if (job.IsActive)
            {
                throw IoTCentralFault.BadRequest("JobNotFinished", $"The job '{id}' is still {job.Status}; rerun it once it has ended or been stopped.");
            }

            var failed = job.Devices.Where(d => job.Outcomes.GetValueOrDefault(d) == "failed" && _devices.ContainsKey(d)).ToList();
            var rerun = NewJob(rerunId, job.Group, job.DisplayName, job.Description, job.Batch?.DeepClone(),
                job.CancellationThreshold?.DeepClone(), (JsonArray)job.Data.DeepClone(), job.Organization, failed);
            _jobs[rerunId] = rerun;
            return Wire(rerun);
        }
    }

    private IoTCentralJobEntity NewJob(string id, string group, string? displayName, string? description, JsonNode? batch,
        JsonNode? threshold, JsonArray data, string? organization, List<string> devices)
    {
        var settings = _settings.Current;
        var now = _time.GetUtcNow();
        var size = devices.Count;
        if (batch is JsonObject b)
        {
            var value = b["value"]!.GetValue<double>();
            size = (string?)b["type"] == "percentage" ? (int)Math.Ceiling(devices.Count * value / 100) : (int)value;
        }

        return new IoTCentralJobEntity
        {
            Id = id,
            Group = group,
            DisplayName = displayName,
            Description = description,
            Batch = batch,
            CancellationThreshold = threshold,
            Data = data,
            Organization = organization,
            Devices = devices,
            BatchSize = Math.Max(1, size),
            FailureRate = settings.JobDeviceFailureRate,
            Created = now,
            StartsAt = now + TimeSpan.FromMilliseconds(settings.JobStartDelayMs),
            Sequence = ++_jobSequence,
        };
    }

    /// <summary>Applies every job event due by now, in time order (called under the lock on every entry).</summary>
    private void Advance()
    {
        if (_jobs.Count == 0)
        {
            return;
        }

        var now = _time.GetUtcNow();
        var clock = DateTimeOffset.MinValue;
        while (true)
        {
            var running = _jobs.Values.Count(j => j.Status == "running");
            IoTCentralJobEntity? next = null;
            var nextAt = DateTimeOffset.MaxValue;
            foreach (var job in _jobs.Values.OrderBy(j => j.Sequence))
            {
                DateTimeOffset? due = job.Status switch
                {
                    "running" => job.BatchEndsAt,
                    "pending" when running < MaxRunningJobs => job.StartsAt,
                    _ => null,
                };
                if (due is { } at && at < nextAt)
                {
                    next = job;
                    nextAt = at;
                }
            }

            if (next is null || nextAt > now)
            {
                return;
            }

            // A job that waited for a slot starts when the slot freed, not when it was first due.
            clock = nextAt > clock ? nextAt : clock;
            if (next.Status == "pending")
            {
                Start(next, clock);
            }
            else
            {
                FinishBatch(next, clock);
            }
        }
    }

    private void Start(IoTCentralJobEntity job, DateTimeOffset at)
    {
        job.Status = "running";
        job.Start = at;
        if (job.Devices.Count == 0)
        {
            Finish(job, at, "complete");
            return;
        }

        job.BatchEndsAt = at + TimeSpan.FromMilliseconds(_settings.Current.JobBatchDurationMs);
    }

    private void FinishBatch(IoTCentralJobEntity job, DateTimeOffset at)
    {
        var end = Math.Min(job.Done + job.BatchSize, job.Devices.Count);
        var batchFailures = 0;
        for (var i = job.Done; i < end; i++)
        {
            var deviceId = job.Devices[i];
            var failed = Fails(job, deviceId) || !_devices.ContainsKey(deviceId);
            job.Outcomes[deviceId] = failed ? "failed" : "completed";
            if (failed)
            {
                batchFailures++;
                job.Failed++;
            }
            else
            {
                ApplyData(job, _devices[deviceId]);
            }
        }

        var batchSize = end - job.Done;
        job.Done = end;
        if (Exceeds(job.CancellationThreshold, batchFailures, batchSize, job.Failed, job.Devices.Count))
        {
            Finish(job, at, "cancelled");
        }
        else if (job.Done == job.Devices.Count)
        {
            Finish(job, at, job.Failed == job.Devices.Count ? "failed" : "complete");
        }
        else
        {
            job.BatchEndsAt = at + TimeSpan.FromMilliseconds(_settings.Current.JobBatchDurationMs);
        }
    }

    private static void Finish(IoTCentralJobEntity job, DateTimeOffset at, string status)
    {
        job.Status = status;
        job.End = at;
        job.BatchEndsAt = null;
    }

    /// <summary>Whether failures exceed the threshold: counted in the batch when its <c>batch</c> flag is set, else overall.</summary>
    private static bool Exceeds(JsonNode? threshold, int batchFailures, int batchSize, int failures, int total)
    {
        if (threshold is not JsonObject t)
        {
            return false;
        }

        var perBatch = t["batch"]?.GetValue<bool>() ?? false;
        var count = perBatch ? batchFailures : failures;
        var value = t["value"]!.GetValue<double>();
        return (string?)t["type"] == "percentage"
            ? count * 100.0 / Math.Max(1, perBatch ? batchSize : total) > value
            : count > value;
    }

    private void ApplyData(IoTCentralJobEntity job, IoTCentralDeviceEntity device)
    {
        foreach (var entry in job.Data.OfType<JsonObject>())
        {
            switch ((string?)entry["type"])
            {
                case "property" or "cloudProperty" when (string?)entry["path"] is { } path:
                    device.Properties[path] = entry["value"]?.DeepClone();
                    break;
                case "deviceTemplateMigration" when (string?)entry["template"] is { } template && _templates.ContainsKey(template):
                    device.Template = template;
                    device.Revision++;
                    break;
            }
        }
    }

    private bool Fails(IoTCentralJobEntity job, string deviceId)
    {
        if (job.FailureRate <= 0)
        {
            return false;
        }

        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes($"{_seed}|{Name}|{job.Id}|{deviceId}"), hash);
        return (BitConverter.ToUInt64(hash) >> 11) * (1.0 / (1UL << 53)) < job.FailureRate;
    }

    private static JobWire Wire(IoTCentralJobEntity job) => new(
        job.Id, job.DisplayName, job.Description, job.Group, job.Batch?.DeepClone(), job.CancellationThreshold?.DeepClone(),
        (JsonArray)job.Data.DeepClone(), IoTCentralWire.Time(job.Start), IoTCentralWire.Time(job.End),
        new JobProgressWire(job.Devices.Count, job.Devices.Count - job.Done, job.Done - job.Failed, job.Failed),
        job.Status, job.Organization is null ? null : [job.Organization]);

    private IoTCentralJobEntity Job(string id) =>
        _jobs.TryGetValue(id, out var job) ? job : throw IoTCentralFault.NotFound("job", id);

    private static void CheckJobId(string id)
    {
        if (!JobId().IsMatch(id))
        {
            throw IoTCentralFault.BadRequest("InvalidJobId", $"'{id}' is not a valid job id (1 to 255 letters, digits, '_' and '-').");
        }
    }

    private static JsonArray ReadData(JsonObject body)
    {
        if (body["data"] is not JsonArray { Count: > 0 } data)
        {
            throw IoTCentralFault.Invalid("data must be an array of at least one job data entry.");
        }

        var result = new JsonArray();
        string? kind = null;
        foreach (var node in data)
        {
            if (node is not JsonObject entry || (string?)entry["type"] is not { } type || !DataTypes.TryGetValue(type, out var wire))
            {
                throw IoTCentralFault.Invalid("Each data entry needs a type: property, cloudProperty, command or deviceTemplateMigration.");
            }

            if (kind is not null && kind != wire)
            {
                throw IoTCentralFault.Invalid("All data entries of a job must have the same type.");
            }

            kind = wire;
            var copy = (JsonObject)entry.DeepClone();
            copy["type"] = wire; // accepted in either spelling, sent back in the spec's
            var complete = wire == "deviceTemplateMigration"
                ? copy["template"]?.GetValueKind() == JsonValueKind.String
                : copy["target"]?.GetValueKind() == JsonValueKind.String && copy["path"]?.GetValueKind() == JsonValueKind.String;
            if (!complete)
            {
                throw IoTCentralFault.Invalid(wire == "deviceTemplateMigration"
                    ? "A deviceTemplateMigration entry needs a template."
                    : $"A {wire} entry needs a target (template id) and a path.");
            }

            result.Add(copy);
        }

        return result;
    }

    private static JsonObject? ReadRule(JsonObject body, string name, bool allowBatchFlag)
    {
        if (body[name] is not { } node)
        {
            return null;
        }

        if (node is not JsonObject rule || (string?)rule["type"] is not ("number" or "percentage")
            || rule["value"]?.GetValueKind() != JsonValueKind.Number || rule["value"]!.GetValue<double>() <= 0
            || ((string?)rule["type"] == "percentage" && rule["value"]!.GetValue<double>() > 100)
            || (rule["batch"] is { } flag && (!allowBatchFlag || flag.GetValueKind() is not (JsonValueKind.True or JsonValueKind.False))))
        {
            throw IoTCentralFault.Invalid($"{name} must be {{ \"type\": \"number\" | \"percentage\", \"value\": > 0{(allowBatchFlag ? ", \"batch\": true|false" : string.Empty)} }}.");
        }

        return (JsonObject)rule.DeepClone();
    }

    [GeneratedRegex("^[a-zA-Z0-9_-]{1,255}$")]
    private static partial Regex JobId();
}
