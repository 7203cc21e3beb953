namespace Fleet.Hosting;

/// <summary>
/// Marks a public method as a function the host runs, under <paramref name="name"/> (the name used in logs, keys,
/// routes, <c>AzureWebJobs.&lt;name&gt;.Disabled</c> and the Durable registry). The method takes exactly one trigger
/// parameter; its class may take constructor dependencies from DI (a new instance per invocation).
/// </summary>
/// <param name="name">The function name: a letter, then letters, digits, '-' or '_' (at most 127 characters).</param>
[AttributeUsage(AttributeTargets.Method, AllowMultiple = false, Inherited = false)]
public sealed class FunctionAttribute(string name) : Attribute
{
    /// <summary>The function name.</summary>
    public string Name { get; } = name;
}

/// <summary>
/// Runs the function on a six-field NCRONTAB schedule (<c>{second} {minute} {hour} {day} {month} {day-of-week}</c>),
/// e.g. <c>0 */5 * * * *</c>, or <c>%Setting%</c> naming a setting that holds one. Binds to <see cref="TimerInfo"/>.
/// Only one host at a time runs a schedule (a blob lease in <c>AzureWebJobsStorage</c>).
/// </summary>
/// <param name="schedule">The NCRONTAB expression or a <c>%Setting%</c> reference.</param>
[AttributeUsage(AttributeTargets.Parameter, AllowMultiple = false)]
public sealed class TimerTriggerAttribute(string schedule) : Attribute
{
    /// <summary>The schedule expression (before <c>%Setting%</c> resolution).</summary>
    public string Schedule { get; } = schedule;

    /// <summary>
    /// Also invoke when the host (as the schedule's lease holder) starts. Rarely wanted in production: every restart
    /// runs the function. Default false.
    /// </summary>
    public bool RunOnStartup { get; set; }

    /// <summary>
    /// Persist the schedule status (last and next occurrence) in <c>AzureWebJobsStorage</c>, so an occurrence missed
    /// while no host ran is caught up at start with <see cref="TimerInfo.IsPastDue"/> set. Applies to schedules whose
    /// occurrences are at least a minute apart (as in Azure Functions). Default true.
    /// </summary>
    public bool UseMonitor { get; set; } = true;
}

/// <summary>
/// Runs the function for each message on an Azure Storage queue. Binds to <see cref="string"/>, <c>byte[]</c>,
/// <see cref="BinaryData"/>, <see cref="Fleet.Storage.QueueMessage"/> or a JSON POCO (validated with DataAnnotations and
/// <see cref="System.ComponentModel.DataAnnotations.IValidatableObject"/>). Other parameters named <c>id</c>,
/// <c>dequeueCount</c>, <c>insertionTime</c>, <c>expirationTime</c>, <c>nextVisibleTime</c>, <c>popReceipt</c> or
/// <c>queueTrigger</c> receive the message's metadata.
/// </summary>
/// <param name="queueName">The queue name, or a <c>%Setting%</c> reference.</param>
[AttributeUsage(AttributeTargets.Parameter, AllowMultiple = false)]
public sealed class QueueTriggerAttribute(string queueName) : Attribute
{
    /// <summary>The queue name (before <c>%Setting%</c> resolution).</summary>
    public string QueueName { get; } = queueName;

    /// <summary>The name of the storage connection setting. Default <c>AzureWebJobsStorage</c>.</summary>
    public string? Connection { get; set; }
}

/// <summary>How an HTTP-triggered function (or the Durable management API) is protected.</summary>
public enum AuthorizationLevel
{
    /// <summary>No key needed.</summary>
    Anonymous = 0,

    /// <summary>A key for this function, a host key or the master key, in <c>x-functions-key</c> or <c>?code=</c>.</summary>
    Function = 2,

    /// <summary>The master key only.</summary>
    Admin = 4,
}

/// <summary>
/// Runs the function for HTTP requests on <c>/{routePrefix}/{Route}</c> (Kestrel, <c>Host:LocalHttpPort</c>). Binds
/// to <c>Microsoft.AspNetCore.Http.HttpRequest</c>; route parameters bind to method parameters of the same name.
/// The function returns an <c>IActionResult</c>, an <c>IResult</c>, a string (text/plain), another object
/// (JSON), or nothing (the response as the function left it).
/// </summary>
[AttributeUsage(AttributeTargets.Parameter, AllowMultiple = false)]
public sealed class HttpTriggerAttribute : Attribute
{
    /// <summary>Function-level authorization, all methods.</summary>
    public HttpTriggerAttribute()
    {
        Methods = [];
    }

    /// <summary>Function-level authorization for the given methods (none: all methods).</summary>
    public HttpTriggerAttribute(params string[] methods)
    {
        Methods = methods ?? [];
    }

    /// <summary>The given authorization level and methods (none: all methods).</summary>
    public HttpTriggerAttribute(AuthorizationLevel authLevel, params string[] methods)
    {
        AuthLevel = authLevel;
        Methods = methods ?? [];
    }

    /// <summary>Who may call the function. Default <see cref="AuthorizationLevel.Function"/>.</summary>
    public AuthorizationLevel AuthLevel { get; } = AuthorizationLevel.Function;

    /// <summary>The HTTP methods accepted; empty accepts all.</summary>
    public string[] Methods { get; }

    /// <summary>The route template (ASP.NET Core syntax, e.g. <c>devices/{id}</c>); default the function name.</summary>
    public string? Route { get; set; }
}

/// <summary>
/// Makes the function an orchestrator: it binds to <see cref="Fleet.Durable.TaskOrchestrationContext"/> and is
/// replayed from history, so it must be deterministic. It may also take a <see cref="FunctionContext"/>; no other
/// bindings and no <see cref="CancellationToken"/> (DURABLE0007/0008).
/// </summary>
[AttributeUsage(AttributeTargets.Parameter, AllowMultiple = false)]
public sealed class OrchestrationTriggerAttribute : Attribute;

/// <summary>
/// Makes the function an activity: the parameter receives the activity input (deserialized to its type). It may also
/// take <see cref="FunctionContext"/>, <see cref="Fleet.Durable.TaskActivityContext"/>, <see cref="CancellationToken"/>
/// and a <see cref="DurableClientAttribute"/> client. Activities run at least once: make them idempotent.
/// </summary>
[AttributeUsage(AttributeTargets.Parameter, AllowMultiple = false)]
public sealed class ActivityTriggerAttribute : Attribute;

/// <summary>Binds a <see cref="Fleet.Durable.Client.DurableTaskClient"/> for the host's task hub.</summary>
[AttributeUsage(AttributeTargets.Parameter, AllowMultiple = false)]
public sealed class DurableClientAttribute : Attribute
{
    /// <summary>The task hub; empty (default) or the host's own hub (<c>extensions.durableTask.hubName</c>).</summary>
    public string? TaskHub { get; set; }

    /// <summary>Accepted for source compatibility; the host has one durable store.</summary>
    public string? ConnectionName { get; set; }
}
