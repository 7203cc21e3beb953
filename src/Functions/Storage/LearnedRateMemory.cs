using Azure;
using Azure.Storage.Blobs;
using Fleet.Functions.Http;
using Fleet.Functions.Settings;
using Fleet.Shared.Resilience;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Fleet.Functions.Storage;

/// <summary>
/// Keeps the server rates the clients' limiters learn (one per Sphere tenant, IoT Central application, IoTConnect
/// solution) in the app's storage, so a new worker process — a restart, a deployment, the cold start of a nightly
/// sweep — starts each limiter at the rate its service accepted instead of slow-starting from the initial rate and
/// meeting the limit with 429s again. Loaded at start-up, saved every 30 seconds while rates change and when the worker
/// stops. Storage trouble costs only the memory: it is logged, and the limiters learn as they would without it.
/// </summary>
internal sealed class LearnedRateMemory(
    RateLimiterRegistry registry, BlobServiceClient blobs, IOptions<LearnedRateOptions> options, TimeProvider time, ILogger<LearnedRateMemory> logger)
    : BackgroundService
{
    private static readonly TimeSpan SaveInterval = TimeSpan.FromSeconds(30);

    // Loading must not hold up the worker's start for long: the memory is a hint.
    private static readonly TimeSpan LoadTimeout = TimeSpan.FromSeconds(10);

    private readonly BlobContainerClient _container = blobs.GetBlobContainerClient(LearnedRateOptions.Container);
    private readonly BlobClient _blob = blobs.GetBlobContainerClient(LearnedRateOptions.Container).GetBlobClient(LearnedRateOptions.Blob);
    private readonly LearnedRateOptions _options = options.Value;
    private Dictionary<string, RememberedRate> _known = new(StringComparer.Ordinal);

    // Created once, by the first save that needs it, not at every save.
    private bool _containerExists;

    /// <inheritdoc />
    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        if (_options.Remember)
        {
            using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            bounded.CancelAfter(LoadTimeout);
            await LoadAsync(bounded.Token).ConfigureAwait(false);
        }

        await base.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken).ConfigureAwait(false);
        if (_options.Remember)
        {
            await SaveAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!_options.Remember)
        {
            return;
        }

        using var timer = new PeriodicTimer(SaveInterval, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                await SaveAsync(stoppingToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping: StopAsync saves once more.
        }
    }

    private async Task LoadAsync(CancellationToken cancellationToken)
    {
        try
        {
            var content = await _blob.DownloadContentAsync(cancellationToken).ConfigureAwait(false);
            _containerExists = true;
            var stored = content.Value.Content.ToObjectFromJson<StoredRates>(HttpJson.Options);
            var oldest = time.GetUtcNow() - _options.MaxAge;
            _known = (stored?.Rates ?? []).Where(r => r.Value is { Rate: > 0 } && r.Value.LearnedAt >= oldest)
                .ToDictionary(r => r.Key, r => r.Value, StringComparer.Ordinal);
            registry.Remember(_known);
            logger.LearnedRatesLoaded(_known.Count, (stored?.Rates.Count ?? 0) - _known.Count, _options.MaxAge);
        }
        catch (RequestFailedException ex) when (ex.Status == 404)
        {
            logger.LearnedRatesLoaded(0, 0, _options.MaxAge);
        }
        catch (Exception ex)
        {
            // Whatever went wrong (storage, content, the load's time bound), the memory is only a hint: never stop the worker for it.
            logger.LearnedRatesUnavailable("read", $"{LearnedRateOptions.Container}/{LearnedRateOptions.Blob}", ex.GetType().Name, ex.Message);
        }
    }

    private async Task SaveAsync(CancellationToken cancellationToken)
    {
        // Rates other instances remembered (and this one loaded) stay unless this one learned newer ones.
        var merged = new Dictionary<string, RememberedRate>(_known, StringComparer.Ordinal);
        foreach (var (key, learned) in registry.LearnedRates())
        {
            merged[key] = learned;
        }

        if (merged.Count == _known.Count && merged.All(r => _known.TryGetValue(r.Key, out var known) && known == r.Value))
        {
            return;
        }

        try
        {
            if (!_containerExists)
            {
                await _container.CreateIfNotExistsAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
                _containerExists = true;
            }

            await _blob.UploadAsync(BinaryData.FromObjectAsJson(new StoredRates(merged), HttpJson.Options), overwrite: true, cancellationToken)
                .ConfigureAwait(false);
            _known = merged;
            logger.LearnedRatesSaved(merged.Count);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // A failed save is retried at the next interval (creating the container again, in case it was deleted); it
            // must not end the background service, and with it the worker.
            _containerExists = false;
            logger.LearnedRatesUnavailable("written", $"{LearnedRateOptions.Container}/{LearnedRateOptions.Blob}", ex.GetType().Name, ex.Message);
        }
    }

    /// <summary>The blob's content: each limiter's key (never a secret: see the clients) and its rate.</summary>
    private sealed record StoredRates(Dictionary<string, RememberedRate> Rates);
}
