using Azure;
using Azure.Core;

namespace Fleet.Shared.IoTCentral;

public partial class IoTCentralClient
{
    /// <summary>Jobs of the application, every page.</summary>
    public virtual AsyncPageable<IoTCentralJob> GetJobsAsync(CancellationToken cancellationToken = default) =>
        Pageable<IoTCentralJob>("jobs", null, cancellationToken);

    /// <summary>One job, with its status and progress.</summary>
    public virtual Task<IoTCentralJob> GetJobAsync(string jobId, CancellationToken cancellationToken = default) =>
        GetAsync<IoTCentralJob>(PathOf("jobs", jobId), cancellationToken);

    /// <summary>
    /// Creates and starts a job (<c>PUT /jobs/{id}</c>) on <see cref="IoTCentralJob.Group"/> with
    /// <see cref="IoTCentralJob.Data"/>, optionally in batches (<see cref="IoTCentralJob.Batch"/>) and with a
    /// <see cref="IoTCentralJob.CancellationThreshold"/>. The answer's status is usually <c>pending</c>.
    /// </summary>
    public virtual Task<IoTCentralJob> CreateJobAsync(string jobId, IoTCentralJob job,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(job);
        ArgumentException.ThrowIfNullOrWhiteSpace(job.Group, nameof(job));
        if (job.Data is not { Count: > 0 })
        {
            throw new ArgumentException("A job needs at least one data entry.", nameof(job));
        }

        var body = job with { Id = null, Start = null, End = null, Progress = null, Status = null };
        return SendForAsync<IoTCentralJob>(RequestMethod.Put, PathOf("jobs", jobId), JsonBody(body), cancellationToken);
    }

    /// <summary>Each targeted device's status in a job, every page.</summary>
    public virtual AsyncPageable<IoTCentralJobDevice> GetJobDevicesAsync(string jobId,
        CancellationToken cancellationToken = default) =>
        Pageable<IoTCentralJobDevice>(PathOf("jobs", jobId, "devices"), null, cancellationToken);

    /// <summary>Stops a running job (<c>POST /jobs/{id}/stop</c>); <see cref="ResumeJobAsync"/> continues it.</summary>
    public virtual async Task StopJobAsync(string jobId, CancellationToken cancellationToken = default) =>
        await SendAsync(new Call(RequestMethod.Post, PathOf("jobs", jobId, "stop")), cancellationToken)
            .ConfigureAwait(false);

    /// <summary>Resumes a stopped job (<c>POST /jobs/{id}/resume</c>).</summary>
    public virtual async Task ResumeJobAsync(string jobId, CancellationToken cancellationToken = default) =>
        await SendAsync(new Call(RequestMethod.Post, PathOf("jobs", jobId, "resume")), cancellationToken)
            .ConfigureAwait(false);

    /// <summary>
    /// Runs a job again on the devices where it failed, as a new job with id <paramref name="rerunId"/>
    /// (<c>PUT /jobs/{id}/rerun/{rerunId}</c>).
    /// </summary>
    public virtual Task<IoTCentralJob> RerunJobAsync(string jobId, string rerunId,
        CancellationToken cancellationToken = default) =>
        SendForAsync<IoTCentralJob>(RequestMethod.Put, PathOf("jobs", jobId, "rerun", rerunId), null,
            cancellationToken);

    /// <summary>
    /// Watches a job to its end: polls it every <see cref="IoTCentralClientOptions.JobPollInterval"/> until it is
    /// complete, cancelled, failed or stopped, asking <paramref name="healthGate"/> after each poll of an unfinished
    /// job whether it may go on; when the gate says no, the job is stopped. Returns the last state and every
    /// device's status.
    /// </summary>
    /// <exception cref="TimeoutException">Still unfinished after <see cref="IoTCentralClientOptions.JobTimeout"/>.</exception>
    public virtual async Task<IoTCentralJobOutcome> WatchJobAsync(string jobId, IoTCentralJobHealthGate? healthGate = null,
        CancellationToken cancellationToken = default)
    {
        var started = _time.GetTimestamp();
        var job = await GetJobAsync(jobId, cancellationToken).ConfigureAwait(false);
        var stoppedByGate = false;
        while (!job.IsFinished && job.Status != IoTCentralJobStatus.Stopped)
        {
            var progress = job.Progress ?? new IoTCentralJobProgress(0, 0, 0, 0);
            if (healthGate is not null && !await healthGate(job, cancellationToken).ConfigureAwait(false))
            {
                _logger.JobStoppedByHealthGate(jobId, progress.Completed, progress.Failed, progress.Total);
                await StopJobAsync(jobId, cancellationToken).ConfigureAwait(false);
                job = await GetJobAsync(jobId, cancellationToken).ConfigureAwait(false);
                stoppedByGate = true;
                break;
            }

            var elapsed = _time.GetElapsedTime(started);
            if (elapsed + _options.JobPollInterval > _options.JobTimeout)
            {
                throw new TimeoutException(
                    $"IoT Central job {jobId} was still {job.Status} after {elapsed:g} ({progress.Completed} completed, " +
                    $"{progress.Failed} failed of {progress.Total}); JobTimeout is {_options.JobTimeout:g}.");
            }

            _logger.JobWaiting(jobId, job.Status, progress.Completed, progress.Failed, progress.Pending, progress.Total);
            await Task.Delay(_options.JobPollInterval, _time, cancellationToken).ConfigureAwait(false);
            job = await GetJobAsync(jobId, cancellationToken).ConfigureAwait(false);
        }

        var devices = new List<IoTCentralJobDevice>();
        await foreach (var device in GetJobDevicesAsync(jobId, cancellationToken).ConfigureAwait(false))
        {
            devices.Add(device);
        }

        var final = job.Progress ?? new IoTCentralJobProgress(devices.Count, 0, 0, 0);
        var watched = _time.GetElapsedTime(started);
        _logger.JobFinished(jobId, job.Status, watched, final.Completed, final.Failed, final.Total);
        return new IoTCentralJobOutcome(job, stoppedByGate, devices);
    }
}
