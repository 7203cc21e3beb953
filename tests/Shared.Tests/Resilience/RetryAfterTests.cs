using Fleet.Shared.Resilience;

namespace Fleet.Shared.Tests.Resilience;

public sealed class RetryAfterTests
{
    private static readonly DateTimeOffset Now = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public void Reads_delta_seconds() => Assert.Equal(TimeSpan.FromSeconds(7), RetryAfter.Parse("7", Now));

    [Fact]
    public void Reads_an_http_date_relative_to_now() =>
        Assert.Equal(TimeSpan.FromSeconds(90), RetryAfter.Parse("Sun, 01 Mar 2026 12:01:30 GMT", Now));

    [Fact]
    public void A_date_in_the_past_means_no_wait() =>
        Assert.Equal(TimeSpan.Zero, RetryAfter.Parse("Sun, 01 Mar 2026 11:59:00 GMT", Now));

    [Theory]
    [InlineData(null)]
    [InlineData("")]
    [InlineData("soon")]
    [InlineData("-3")]
    public void Unreadable_values_are_ignored(string? value) => Assert.Null(RetryAfter.Parse(value, Now));
}
