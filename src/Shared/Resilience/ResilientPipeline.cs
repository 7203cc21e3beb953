using System.Threading.RateLimiting;
using Azure;
using Azure.Core;
using Azure.Core.Pipeline;
using Polly;
using Polly.Retry;
using Polly.Timeout;

namespace Fleet.Shared.Resilience;

/// <summary>
/// The resilience core every cloud client of the project sends its requests through: each attempt waits for a
/// permit from the adaptive rate limiter of the request's budget (a key such as endpoint + tenant or application,
/// from the shared <see cref="RateLimiterRegistry"/>) and reports 429s and accepted requests back to it; failed
/// attempts are retried by a Polly pipeline as <see cref="CallRetryOptions"/> describes (Retry-After honoured,
/// exponential backoff with jitter otherwise); the attempts and the total time of a call are bounded. Transport and
/// authentication are an Azure.Core <see cref="HttpPipeline"/> with its own retries off. Safe for concurrent use.
/// </summary>
public sealed class ResilientPipeline
{
    private static readonly ResiliencePropertyKey<CallState> CallKey = new("Fleet.Resilience.Call");

    private readonly HttpPipeline _http;
    private readonly ResiliencePipeline<Attempt> _resilience;
    private readonly CallRetryOptions _retry;
    private readonly AdaptiveRateLimiterOptions _rateLimiter;
    private readonly RateLimiterRegistry _rateLimiters;
    private readonly TimeProvider _time;

    /// <summary>Creates the pipeline of one client.</summary>
    /// <param name="name">Names the Polly pipeline (<c>Fleet.{name}</c>), e.g. <c>Sphere</c>.</param>
    /// <param name="authentication">Per-attempt policy that authenticates requests; null for none.</param>
    /// <param name="retry">Retry settings; read once.</param>
    /// <param name="rateLimiter">Settings of limiters this pipeline creates; a limiter another client created first keeps its own.</param>
    /// <param name="rateLimiters">The process's shared limiters.</param>
    /// <param name="timeProvider">Clock of retry delays, the time budget and limiter pacing.</param>
    /// <param name="transport">HTTP transport; null uses Azure.Core's shared one.</param>
    public ResilientPipeline(string name, HttpPipelinePolicy? authentication, CallRetryOptions retry,
        AdaptiveRateLimiterOptions rateLimiter, RateLimiterRegistry rateLimiters, TimeProvider timeProvider,
        HttpPipelineTransport? transport = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(retry);
        ArgumentNullException.ThrowIfNull(rateLimiter);
        ArgumentNullException.ThrowIfNull(rateLimiters);
        ArgumentNullException.ThrowIfNull(timeProvider);
        _retry = retry;
        _rateLimiter = rateLimiter;
        _rateLimiters = rateLimiters;
        _time = timeProvider;

        var pipelineOptions = new PipelineOptions();
        pipelineOptions.Retry.MaxRetries = 0;
        pipelineOptions.Retry.NetworkTimeout = retry.AttemptTimeout;
        if (transport is not null)
        {
            pipelineOptions.Transport = transport;
        }

        _http = HttpPipelineBuilder.Build(
            pipelineOptions,
            perCallPolicies: [],
            perRetryPolicies: authentication is null ? [] : [authentication],
            responseClassifier: new ResponseClassifier());
        _resilience = Build("Fleet." + name);
    }

    /// <summary>
    /// Statuses reported to the limiter as throttling (the request was refused for its rate), the rest as accepted.
    /// Default 429 only; a cloud whose throttling is undocumented may add 503.
    /// </summary>
    public IReadOnlySet<int> ThrottleStatuses { get; init; } = new HashSet<int> { 429 };

    /// <summary>
    /// Gives an attempt's request its body, or an empty one for a PUT or POST without a body (some services refuse
    /// those without a Content-Length).
    /// </summary>
    public static void SetContent(Request request, BinaryData? body, string? contentType)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (body is not null)
        {
            request.Headers.Add(HttpHeader.Names.ContentType, contentType ?? "application/json");
            request.Content = RequestContent.Create(body);
        }
        else if (request.Method == RequestMethod.Put || request.Method == RequestMethod.Post)
        {
            request.Content = RequestContent.Create(ReadOnlyMemory<byte>.Empty);
        }
    }

    /// <summary>True for the statuses worth another attempt: 408, 429, 500, 502, 503 and 504.</summary>
    public static bool IsTransientStatus(int status) => status is 408 or 429 or 500 or 502 or 503 or 504;

    /// <summary>
    /// Sends one logical request: <paramref name="prepare"/> fills in a fresh request per attempt (method, URI,
    /// headers, content); <paramref name="onRetry"/> hears of each retry before its wait (for logging). Never throws
    /// for a failed call (see <see cref="ResilientCallResult"/>); only invalid arguments throw.
    /// </summary>
    /// <param name="limiterKey">The budget the request draws from, e.g. <c>https://host|tenant</c>.</param>
    /// <param name="prepare">Builds the request of one attempt.</param>
    /// <param name="onRetry">Called before each retry; may be null.</param>
    /// <param name="cancellationToken">Cancels the call; the result then carries an <see cref="OperationCanceledException"/>.</param>
    public async Task<ResilientCallResult> SendAsync(string limiterKey, Action<Request> prepare,
        Action<RetryNotice>? onRetry, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(limiterKey);
        ArgumentNullException.ThrowIfNull(prepare);
        var state = new CallState(this, prepare, onRetry, _rateLimiters.GetOrAdd(limiterKey, _rateLimiter),
            _time.GetTimestamp());
        var context = ResilienceContextPool.Shared.Get(cancellationToken);
        context.Properties.Set(CallKey, state);
        Outcome<Attempt> outcome;
        try
        {
            outcome = await _resilience.ExecuteOutcomeAsync(
                static (ctx, s) => s.Pipeline.AttemptAsync(ctx, s), context, state).ConfigureAwait(false);
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }

        var elapsed = _time.GetElapsedTime(state.Started);
        return outcome.Result is { } attempt
            ? new ResilientCallResult(attempt.Response, attempt.RetryAfter, null, state.LastFailure?.Response,
                state.LastFailure?.RetryAfter, state.Attempts, elapsed)
            : new ResilientCallResult(null, null, outcome.Exception, state.LastFailure?.Response,
                state.LastFailure?.RetryAfter, state.Attempts, elapsed);
    }

    private async ValueTask<Outcome<Attempt>> AttemptAsync(ResilienceContext context, CallState state)
    {
        state.Attempts++;
        RateLimitLease? lease = null;
        try
        {
            lease = await state.Limiter.AcquireAsync(1, context.CancellationToken).ConfigureAwait(false);
            if (!lease.IsAcquired)
            {
                throw new ObjectDisposedException(nameof(AdaptiveRateLimiter), "The rate limiter was disposed.");
            }

            var message = _http.CreateMessage();
            state.Prepare(message.Request);
            await _http.SendAsync(message, context.CancellationToken).ConfigureAwait(false);

            // The message is not disposed: the buffered response lives on in pages (Page.GetRawResponse).
            var response = message.Response;
            var retryAfter = RetryAfter.FromHeaders(response, _time.GetUtcNow());
            if (ThrottleStatuses.Contains(response.Status))
            {
                state.Limiter.RecordThrottled(lease, retryAfter);
            }
            else
            {
                state.Limiter.RecordAccepted(lease);
            }

            return Outcome.FromResult(new Attempt(response, retryAfter));
        }
        catch (Exception ex)
        {
            return Outcome.FromException<Attempt>(ex);
        }
        finally
        {
            lease?.Dispose();
        }
    }

    private ResiliencePipeline<Attempt> Build(string name)
    {
        var builder = new ResiliencePipelineBuilder<Attempt> { Name = name, TimeProvider = _time };
        builder.AddTimeout(new TimeoutStrategyOptions { Timeout = _retry.MaxElapsedTime });
        if (_retry.MaxRetries > 0)
        {
            builder.AddRetry(new RetryStrategyOptions<Attempt>
            {
                MaxRetryAttempts = _retry.MaxRetries,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = _retry.Delay,
                MaxDelay = _retry.MaxDelay,
                ShouldHandle = args => ValueTask.FromResult(ShouldRetry(args.Context, args.Outcome)),
                DelayGenerator = args => ValueTask.FromResult(args.Outcome.Result?.RetryAfter),
                OnRetry = args =>
                {
                    var state = args.Context.Properties.GetValue(CallKey, null!);
                    state.LastFailure = args.Outcome.Result;
                    state.OnRetry?.Invoke(new RetryNotice(args.AttemptNumber + 1, args.RetryDelay,
                        args.Outcome.Result?.Response, args.Outcome.Result?.RetryAfter, args.Outcome.Exception));
                    return ValueTask.CompletedTask;
                },
            });
        }

        return builder.Build();
    }

    private bool ShouldRetry(ResilienceContext context, Outcome<Attempt> outcome)
    {
        if (outcome.Result is { } attempt)
        {
            if (!IsTransientStatus(attempt.Response.Status))
            {
                return false;
            }

            // Waiting out a Retry-After that ends beyond the call's budget only delays the inevitable failure.
            var state = context.Properties.GetValue(CallKey, null!);
            return attempt.RetryAfter is not { } wait
                || _time.GetElapsedTime(state.Started) + wait <= _retry.MaxElapsedTime;
        }

        return outcome.Exception switch
        {
            OperationCanceledException when context.CancellationToken.IsCancellationRequested => false,
            OperationCanceledException => true, // Azure.Core's per-attempt network timeout
            RequestFailedException { Status: 0 } => true,
            HttpRequestException or IOException => true,
            _ => false,
        };
    }

    private sealed class PipelineOptions : ClientOptions;

    private sealed record Attempt(Response Response, TimeSpan? RetryAfter);

    private sealed class CallState(ResilientPipeline pipeline, Action<Request> prepare, Action<RetryNotice>? onRetry,
        AdaptiveRateLimiter limiter, long started)
    {
        public ResilientPipeline Pipeline { get; } = pipeline;

        public Action<Request> Prepare { get; } = prepare;

        public Action<RetryNotice>? OnRetry { get; } = onRetry;

        public AdaptiveRateLimiter Limiter { get; } = limiter;

        public long Started { get; } = started;

        public int Attempts { get; set; }

        public Attempt? LastFailure { get; set; }
    }
}
