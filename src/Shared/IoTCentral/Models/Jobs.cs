using System.Text.Json.Nodes;

namespace Fleet.Shared.IoTCentral;

/// <summary>
/// An IoT Central job (<c>Job</c>): what it does (<see cref="Data"/>) to the devices of a device group, in batches,
/// cancelled by the service when failures pass <see cref="CancellationThreshold"/>. <see cref="Status"/> is a free
/// string on the wire; the known values are in <see cref="IoTCentralJobStatus"/>.
/// </summary>
public sealed record IoTCentralJob
{
    /// <summary>Job id.</summary>
    public string? Id { get; init; }

    /// <summary>The scheduled job that started it, if any.</summary>
    public string? ScheduledJobId { get; init; }

    /// <summary>Name shown in the application.</summary>
    public string? DisplayName { get; init; }

    /// <summary>Description.</summary>
    public string? Description { get; init; }

    /// <summary>The device group the job runs on (required on create).</summary>
    public string? Group { get; init; }

    /// <summary>How the devices are split into batches run one after another; null runs all at once.</summary>
    public IoTCentralJobBatch? Batch { get; init; }

    /// <summary>When the service cancels the job for failures; null never.</summary>
    public IoTCentralJobCancellationThreshold? CancellationThreshold { get; init; }

    /// <summary>What the job does (at least one entry, all of one type).</summary>
    public IReadOnlyList<IoTCentralJobData>? Data { get; init; }

    /// <summary>When the job started running (read-only).</summary>
    public DateTimeOffset? Start { get; init; }

    /// <summary>When the job ended (read-only).</summary>
    public DateTimeOffset? End { get; init; }

    /// <summary>Device counts (read-only).</summary>
    public IoTCentralJobProgress? Progress { get; init; }

    /// <summary>Job status (read-only), e.g. <c>running</c>.</summary>
    public string? Status { get; init; }

    /// <summary>The job's organization (exactly one when present).</summary>
    public IReadOnlyList<string>? Organizations { get; init; }

    /// <summary>True once the job can change no more: complete, cancelled or failed.</summary>
    public bool IsFinished => IoTCentralJobStatus.IsFinished(Status);
}

/// <summary>Job status values (job level) as the service sends them.</summary>
public static class IoTCentralJobStatus
{
    /// <summary>Created, not yet running.</summary>
    public const string Pending = "pending";

    /// <summary>Running its batches.</summary>
    public const string Running = "running";

    /// <summary>Stopped by a caller; <c>resume</c> continues it.</summary>
    public const string Stopped = "stopped";

    /// <summary>Ran on every device (some may have failed).</summary>
    public const string Complete = "complete";

    /// <summary>Cancelled by the service because failures passed the cancellation threshold.</summary>
    public const string Cancelled = "cancelled";

    /// <summary>Did not run through.</summary>
    public const string Failed = "failed";

    /// <summary>True for complete, cancelled and failed.</summary>
    public static bool IsFinished(string? status) =>
        status is Complete or Cancelled or Failed;
}

/// <summary>Per-device status values of <c>GET /jobs/{id}/devices</c> (note <c>completed</c>, not <c>complete</c>).</summary>
public static class IoTCentralJobDeviceStatus
{
    /// <summary>Not yet run on the device.</summary>
    public const string Pending = "pending";

    /// <summary>Ran successfully on the device.</summary>
    public const string Completed = "completed";

    /// <summary>Failed on the device.</summary>
    public const string Failed = "failed";
}

/// <summary>Batching of a job: <c>number</c> devices per batch, or <c>percentage</c> of the group per batch.</summary>
/// <param name="Type"><c>number</c> or <c>percentage</c>.</param>
/// <param name="Value">Devices, or percent of the group, per batch.</param>
public sealed record IoTCentralJobBatch(string Type, double Value)
{
    /// <summary><paramref name="devices"/> devices per batch.</summary>
    public static IoTCentralJobBatch Number(int devices) => new("number", devices);

    /// <summary><paramref name="percent"/> % of the group per batch.</summary>
    public static IoTCentralJobBatch Percentage(double percent) => new("percentage", percent);
}

/// <summary>When the service cancels a job: failures reach <see cref="Value"/> devices or percent, per batch or overall.</summary>
/// <param name="Type"><c>number</c> or <c>percentage</c>.</param>
/// <param name="Value">Failed devices, or percent failed, that cancel the job.</param>
/// <param name="Batch">True to count within each batch, false over the whole job.</param>
public sealed record IoTCentralJobCancellationThreshold(string Type, double Value, bool Batch = false)
{
    /// <summary>Cancel once <paramref name="failedDevices"/> devices failed.</summary>
    public static IoTCentralJobCancellationThreshold Number(int failedDevices, bool perBatch = false) =>
        new("number", failedDevices, perBatch);

    /// <summary>Cancel once <paramref name="percent"/> % of the devices failed.</summary>
    public static IoTCentralJobCancellationThreshold Percentage(double percent, bool perBatch = false) =>
        new("percentage", percent, perBatch);
}

/// <summary>
/// One thing a job does, discriminated by <see cref="Type"/>: <c>property</c>, <c>cloudProperty</c> and
/// <c>command</c> take <see cref="Target"/> (template DTMI), <see cref="Path"/> and <see cref="Value"/>;
/// <c>deviceTemplateMigration</c> takes <see cref="Template"/>.
/// </summary>
public sealed record IoTCentralJobData
{
    /// <summary>The discriminator.</summary>
    public required string Type { get; init; }

    /// <summary>Template the capability belongs to.</summary>
    public string? Target { get; init; }

    /// <summary>Capability path, e.g. a property or command name.</summary>
    public string? Path { get; init; }

    /// <summary>Property value or command request.</summary>
    public JsonNode? Value { get; init; }

    /// <summary>Template to migrate to (<c>deviceTemplateMigration</c>).</summary>
    public string? Template { get; init; }

    /// <summary>Sets a writable device property.</summary>
    public static IoTCentralJobData Property(string target, string path, JsonNode? value) =>
        new() { Type = "property", Target = target, Path = path, Value = value };

    /// <summary>Sets a cloud property.</summary>
    public static IoTCentralJobData CloudProperty(string target, string path, JsonNode? value) =>
        new() { Type = "cloudProperty", Target = target, Path = path, Value = value };

    /// <summary>Calls a command.</summary>
    public static IoTCentralJobData Command(string target, string path, JsonNode? request) =>
        new() { Type = "command", Target = target, Path = path, Value = request };

    /// <summary>Moves devices to another template.</summary>
    public static IoTCentralJobData TemplateMigration(string template) =>
        new() { Type = "deviceTemplateMigration", Template = template };
}

/// <summary>Device counts of a job.</summary>
/// <param name="Total">Devices the job targets.</param>
/// <param name="Pending">Not yet run.</param>
/// <param name="Completed">Succeeded.</param>
/// <param name="Failed">Failed.</param>
public sealed record IoTCentralJobProgress(int Total, int Pending, int Completed, int Failed);

/// <summary>One device's status in a job.</summary>
/// <param name="Id">Device id.</param>
/// <param name="Status">e.g. <c>completed</c> (<see cref="IoTCentralJobDeviceStatus"/>).</param>
public sealed record IoTCentralJobDevice(string Id, string Status);

/// <summary>Decides after each poll of a running job whether it may go on (false stops it).</summary>
public delegate ValueTask<bool> IoTCentralJobHealthGate(IoTCentralJob job, CancellationToken cancellationToken);

/// <summary>How a watched job ended.</summary>
/// <param name="Job">The job's last state.</param>
/// <param name="StoppedByHealthGate">True when the health gate said no and the client stopped the job.</param>
/// <param name="Devices">Every device's status at the end.</param>
public sealed record IoTCentralJobOutcome(IoTCentralJob Job, bool StoppedByHealthGate, IReadOnlyList<IoTCentralJobDevice> Devices)
{
    /// <summary>Ids of the devices whose status is <c>failed</c>.</summary>
    public IReadOnlyList<string> FailedDeviceIds =>
        [.. Devices.Where(d => d.Status == IoTCentralJobDeviceStatus.Failed).Select(d => d.Id)];
}
