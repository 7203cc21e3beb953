namespace Fleet.Shared.Resilience;

/// <summary>
/// Settings of an <see cref="AdaptiveRateLimiter"/>: where its rate starts, how it grows and how far below a
/// learned server rate it settles. Defaults suit an API whose limit is unknown and somewhere between a few and a few
/// hundred requests per second.
/// </summary>
public sealed class AdaptiveRateLimiterOptions
{
    /// <summary>False turns the limiter off: every permit is granted at once (429s are still retried).</summary>
    /// <value>Default <c>true</c>.</value>
    public bool Enabled { get; set; } = true;

    /// <summary>Requests per second before anything is learned.</summary>
    /// <value>Default 10.</value>
    public double InitialRate { get; set; } = 10;

    /// <summary>The rate never falls below this, however many 429s arrive.</summary>
    /// <value>Default 1 request/s.</value>
    public double MinRate { get; set; } = 1;

    /// <summary>The rate never grows above this.</summary>
    /// <value>Default 1000 requests/s.</value>
    public double MaxRate { get; set; } = 1000;

    /// <summary>
    /// Factor by which the rate may grow per second of saturated use before the first 429 ("slow start").
    /// </summary>
    /// <value>Default 4 (the rate quadruples each second while callers are waiting).</value>
    public double SlowStartGrowth { get; set; } = 4;

    /// <summary>
    /// Fraction by which the rate may grow per second of saturated use after the first 429, probing slowly above the
    /// learned rate in case the server allows more.
    /// </summary>
    /// <value>Default 0.002 (0.2 % per second).</value>
    public double ProbeGrowth { get; set; } = 0.002;

    /// <summary>After a 429 the rate settles this fraction below the learned server rate.</summary>
    /// <value>Default 0.03.</value>
    public double BackoffMargin { get; set; } = 0.03;

    /// <summary>
    /// Permits that may be granted back to back (the bucket's capacity); 0 means half a second's worth of the current
    /// rate (at least one), enough to catch up after a stall or a pause without bursting far past the server's budget,
    /// and halved each time the burst that ends a Retry-After pause is answered with 429s.
    /// Set 1 for a server that allows no bursts at all.
    /// </summary>
    /// <value>Default 0.</value>
    public int Burst { get; set; }

    /// <summary>A copy, so a shared limiter never sees later changes to the options it was made from.</summary>
    internal AdaptiveRateLimiterOptions Clone() => (AdaptiveRateLimiterOptions)MemberwiseClone();
}
