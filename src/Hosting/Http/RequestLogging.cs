using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Fleet.Hosting.Http;

/// <summary>
/// Keeps keys out of request logs. ASP.NET Core's own request log (<c>Microsoft.AspNetCore.Hosting.Diagnostics</c>)
/// writes full URLs at Information, and a key may travel as <c>?code=</c>; that category is held at Warning whatever
/// host.json says, and the host writes its own request line (event 4401, category <c>Fleet.Hosting.Http</c>) with
/// the <c>code</c> value redacted.
/// </summary>
internal static class RequestLogging
{
    public const string AspNetCoreRequestCategory = "Microsoft.AspNetCore.Hosting.Diagnostics";
    public const string Category = "Fleet.Hosting.Http";
    public const string Redacted = "[Redacted]";

    /// <summary>Holds ASP.NET Core's request log at Warning; runs after every other filter source, so it wins.</summary>
    public static void KeepUrlsOutOfAspNetCoreLogs(IServiceCollection services) =>
        services.PostConfigure<LoggerFilterOptions>(options =>
        {
            // The most specific rule wins, per provider: cap any rule that would single the category out and add
            // an exact rule for every provider that has rules of its own.
            for (var i = 0; i < options.Rules.Count; i++)
            {
                var rule = options.Rules[i];
                if (rule.CategoryName is { } category && category.Length >= AspNetCoreRequestCategory.Length
                    && Covers(category, AspNetCoreRequestCategory) && (rule.LogLevel is null || rule.LogLevel < LogLevel.Warning))
                {
                    options.Rules[i] = new LoggerFilterRule(rule.ProviderName, rule.CategoryName, LogLevel.Warning, rule.Filter);
                }
            }

            foreach (var provider in options.Rules.Select(r => r.ProviderName).Distinct().ToList())
            {
                options.Rules.Add(new LoggerFilterRule(provider, AspNetCoreRequestCategory, LogLevel.Warning, null));
            }

            if (!options.Rules.Any(r => r.ProviderName is null && r.CategoryName == AspNetCoreRequestCategory))
            {
                options.Rules.Add(new LoggerFilterRule(null, AspNetCoreRequestCategory, LogLevel.Warning, null));
            }
        });

    /// <summary>Logs each request once it is answered: method, path, query (keys redacted), status and duration.</summary>
    public static void UseRequestLog(WebApplication app)
    {
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(Category);
        var time = app.Services.GetRequiredService<TimeProvider>();
        app.Use(async (context, next) =>
        {
            if (!logger.IsEnabled(LogLevel.Information))
            {
                await next(context).ConfigureAwait(false);
                return;
            }

            var started = time.GetTimestamp();
            var status = StatusCodes.Status500InternalServerError;
            try
            {
                await next(context).ConfigureAwait(false);
                status = context.Response.StatusCode;
            }
            finally
            {
                var request = context.Request;
                logger.HttpRequestCompleted(
                    request.Method, request.PathBase.Add(request.Path).ToString(), RedactQuery(request.QueryString.Value), status,
                    (long)time.GetElapsedTime(started).TotalMilliseconds);
            }
        });
    }

    /// <summary>The raw query with the value of every <c>code</c> parameter (however spelt or escaped) replaced.</summary>
    internal static string RedactQuery(string? query)
    {
        if (string.IsNullOrEmpty(query))
        {
            return string.Empty;
        }

        var builder = new StringBuilder(query.Length);
        var parts = query.TrimStart('?').Split('&');
        for (var i = 0; i < parts.Length; i++)
        {
            builder.Append(i == 0 ? '?' : '&');
            var part = parts[i];
            var equals = part.IndexOf('=', StringComparison.Ordinal);
            var name = equals < 0 ? part : part[..equals];
            if (string.Equals(Uri.UnescapeDataString(name.Replace('+', ' ')).Trim(), PresentedKeys.KeyQuery, StringComparison.OrdinalIgnoreCase))
            {
                builder.Append(name).Append('=').Append(Redacted);
            }
            else
            {
                builder.Append(part);
            }
        }

        return builder.ToString();
    }

    private static bool Covers(string ruleCategory, string category)
    {
        var star = ruleCategory.IndexOf('*', StringComparison.Ordinal);
        if (star < 0)
        {
            return category.StartsWith(ruleCategory, StringComparison.OrdinalIgnoreCase);
        }

        var prefix = ruleCategory[..star];
        var suffix = ruleCategory[(star + 1)..];
        return category.StartsWith(prefix, StringComparison.OrdinalIgnoreCase) && category.EndsWith(suffix, StringComparison.OrdinalIgnoreCase)
            && category.Length >= prefix.Length + suffix.Length;
    }
}
