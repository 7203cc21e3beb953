using Fleet.Hosting.Http;

namespace Fleet.Hosting.Tests.Local;

/// <summary>The request log line's query: every <c>code</c> parameter (a function key) is redacted, however it is spelt.</summary>
public sealed class RequestLoggingTests
{
    [Theory]
    [InlineData(null, "")]
    [InlineData("", "")]
    [InlineData("?code=abc", "?code=[Redacted]")]
    [InlineData("?a=1&code=abc&b=2", "?a=1&code=[Redacted]&b=2")]
    [InlineData("?Code=abc&code=def", "?Code=[Redacted]&code=[Redacted]")]
    [InlineData("?c%6Fde=abc", "?c%6Fde=[Redacted]")]
    [InlineData("?code", "?code=[Redacted]")]
    [InlineData("?codes=1&xcode=2&taskHub=h", "?codes=1&xcode=2&taskHub=h")]
    public void Request_log_queries_redact_every_code_parameter(string? query, string expected) =>
        Assert.Equal(expected, RequestLogging.RedactQuery(query));
}
