using System.Globalization;
using System.Xml;
using System.Xml.Linq;
using Azure;
using Azure.Core;
using Azure.Core.Pipeline;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Fleet.Storage;

/// <summary>
/// What every client of one service endpoint shares: the Azure.Core pipeline (retry, logging, the connection's
/// authorization policy), options and logger; plus request building and the one place errors are made.
/// </summary>
internal sealed class StorageClientContext
{
    private static readonly XmlReaderSettings ReaderSettings = new()
    {
        DtdProcessing = DtdProcessing.Prohibit,
        XmlResolver = null,
        IgnoreWhitespace = true,
    };

    public StorageClientContext(StorageConnection connection, Uri endpoint, StorageClientOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        Options = options;
        Endpoint = endpoint;
        AccountName = connection.AccountName;
        Logger = options.LoggerFactory?.CreateLogger("Fleet.Storage") ?? NullLogger.Instance;
        Pipeline = HttpPipelineBuilder.Build(
            options,
            perCallPolicies: [],
            perRetryPolicies: [connection.CreateAuthenticationPolicy(options.TimeProvider)],
            responseClassifier: new ResponseClassifier());
    }

    public HttpPipeline Pipeline { get; }

    public StorageClientOptions Options { get; }

    public Uri Endpoint { get; }

    public string AccountName { get; }

    public ILogger Logger { get; }

    /// <summary>The endpoint with escaped path segments appended (a blob name's '/' stays a separator).</summary>
    public static Uri Append(Uri baseUri, params string[] segments)
    {
        var builder = new UriBuilder(baseUri) { Query = string.Empty };
        var path = builder.Path.TrimEnd('/');
        foreach (var segment in segments)
        {
            path += "/" + string.Join('/', segment.Split('/').Select(Uri.EscapeDataString));
        }

        builder.Path = path;
        return builder.Uri;
    }

    public HttpMessage CreateMessage(RequestMethod method, Uri uri)
    {
        var message = Pipeline.CreateMessage();
        var request = message.Request;
        request.Method = method;
        request.Uri.Reset(uri);
        request.Headers.SetValue("x-ms-version", StorageClientOptions.ServiceVersion);
        return message;
    }

    /// <summary>
    /// Sends the message; returns the response when its status is one of <paramref name="expected"/>, otherwise
    /// throws <see cref="StorageRequestException"/>. Cancellation by the caller propagates unchanged.
    /// </summary>
    public async Task<Response> SendAsync(
        HttpMessage message, string operation, string resource, int[] expected, CancellationToken cancellationToken)
    {
        try
        {
            await Pipeline.SendAsync(message, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception ex) when (ex is RequestFailedException or AggregateException or OperationCanceledException
            or IOException or System.Net.Http.HttpRequestException)
        {
            // Retries are exhausted and nothing answered: one exception type for callers, cause kept inside.
            Logger.StorageRequestNoResponse(operation, resource, ex);
            throw new StorageRequestException(
                0, null, null, null,
                $"Storage {operation} on {resource} got no response from {message.Request.Uri.Host}: {Describe(ex)}",
                ex);
        }

        var response = message.Response;
        if (Array.IndexOf(expected, response.Status) >= 0)
        {
            return response;
        }

        throw CreateException(response, operation, resource);
    }

    /// <summary>The exception for an error response, logged at debug level.</summary>
    public StorageRequestException CreateException(Response response, string operation, string resource)
    {
        response.Headers.TryGetValue("x-ms-error-code", out var errorCode);
        response.Headers.TryGetValue("x-ms-request-id", out var requestId);
        var (bodyCode, serviceMessage) = ReadErrorBody(response);
        errorCode ??= bodyCode;

        Logger.StorageRequestFailed(operation, resource, response.Status, errorCode, requestId);
        var text = $"Storage {operation} on {resource} failed: {response.Status} {response.ReasonPhrase}".TrimEnd();
        if (errorCode is not null)
        {
            text += $" ({errorCode})";
        }

        if (serviceMessage is not null)
        {
            text += $": {serviceMessage}";
        }

        if (response.Status == 403)
        {
            text += " Check the account key, SAS or identity of the storage connection, and the machine's clock.";
        }

        if (requestId is not null)
        {
            text += $" Request id: {requestId}.";
        }

        return new StorageRequestException(response.Status, errorCode, requestId, serviceMessage, text);
    }

    public static XDocument ReadXml(Response response)
    {
        using var stream = response.Content.ToStream();
        using var reader = XmlReader.Create(stream, ReaderSettings);
        return XDocument.Load(reader);
    }

    public static string? Header(Response response, string name) =>
        response.Headers.TryGetValue(name, out var value) ? value : null;

    public static DateTimeOffset? ParseDate(string? value) =>
        DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var date)
            ? date
            : null;

    /// <summary>ETags in one form (quoted) whether they came from a header or a listing.</summary>
    public static ETag ParseETag(string? value)
    {
        if (string.IsNullOrEmpty(value))
        {
            return default;
        }

        return value == "*" || value.StartsWith('"') || value.StartsWith("W/", StringComparison.Ordinal)
            ? new ETag(value)
            : new ETag($"\"{value}\"");
    }

    /// <summary>Whole seconds for a Storage query parameter, rounded up so a timeout is never shorter than asked.</summary>
    public static string Seconds(TimeSpan value) =>
        ((long)Math.Ceiling(value.TotalSeconds)).ToString(CultureInfo.InvariantCulture);

    private static (string? Code, string? Message) ReadErrorBody(Response response)
    {
        if (response.Content.ToMemory().Length == 0)
        {
            return (null, null);
        }

        try
        {
            var error = ReadXml(response).Root;
            if (error is null || error.Name.LocalName != "Error")
            {
                return (null, null);
            }

            // Only Code and the first line of Message: AuthenticationErrorDetail can quote the request's signature.
            var code = error.Element("Code")?.Value;
            var message = error.Element("Message")?.Value.Split('\n')[0].Trim();
            return (string.IsNullOrEmpty(code) ? null : code, string.IsNullOrEmpty(message) ? null : message);
        }
        catch (XmlException)
        {
            return (null, null);
        }
    }

    private static string Describe(Exception ex) => ex switch
    {
        AggregateException aggregate when aggregate.InnerExceptions.Count > 0 =>
            $"{aggregate.InnerExceptions.Count} attempts failed; last: {Describe(aggregate.InnerExceptions[^1])}",
        OperationCanceledException => "the network timeout passed (StorageClientOptions.Retry.NetworkTimeout)",
        _ => (ex.InnerException ?? ex).Message,
    };
}
