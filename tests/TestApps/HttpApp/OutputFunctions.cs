using System.Net;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Extensions.Abstractions;
using Microsoft.Azure.Functions.Worker.Http;

namespace HttpApp;

/// <summary>
/// A binding no Azure extension provides (binding type <c>sms</c>): a host without a handler for it must list the
/// function as not loaded; the host's tests register a handler and see the named output arrive.
/// </summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Method | AttributeTargets.ReturnValue)]
public sealed class SmsOutputAttribute : OutputBindingAttribute
{
    /// <summary>Creates the binding for a phone number.</summary>
    public SmsOutputAttribute(string to) => To = to;

    /// <summary>Where the text goes.</summary>
    public string To { get; }
}

/// <summary>A trigger no host supports (binding type <c>smsTrigger</c>).</summary>
[AttributeUsage(AttributeTargets.Parameter)]
public sealed class SmsTriggerAttribute : TriggerBindingAttribute
{
    /// <summary>Creates the trigger for a phone number.</summary>
    public SmsTriggerAttribute(string number) => Number = number;

    /// <summary>The number that receives texts.</summary>
    public string Number { get; }
}

/// <summary>An HTTP response (<c>$return</c>-style <see cref="HttpResultAttribute"/>) plus a named output.</summary>
public sealed class NotifyResult
{
    /// <summary>The text to send, the named output <c>Text</c>.</summary>
    [SmsOutput("+100200300")]
    public string? Text { get; set; }

    /// <summary>The HTTP answer.</summary>
    [HttpResult]
    public required HttpResponseData Response { get; set; }
}

/// <summary>Functions with outputs beyond the HTTP response, and one with an unsupported trigger.</summary>
public static class OutputFunctions
{
    /// <summary>Answers 200 and sends <c>?text=</c> through the <c>sms</c> output.</summary>
    [Function("Notify")]
    public static NotifyResult Notify([HttpTrigger(AuthorizationLevel.Anonymous, "post", Route = "notify")] HttpRequestData request)
    {
        ArgumentNullException.ThrowIfNull(request);
        var text = System.Web.HttpUtility.ParseQueryString(request.Url.Query)["text"];
        return new NotifyResult { Text = text, Response = request.CreateResponse(HttpStatusCode.OK) };
    }

    /// <summary>Never loaded: the host has no smsTrigger.</summary>
    [Function("Texted")]
    public static void Texted([SmsTrigger("+100200300")] string message) => ArgumentNullException.ThrowIfNull(message);
}
