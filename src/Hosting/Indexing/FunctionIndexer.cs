using System.Globalization;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;
using Fleet.Durable;
using Fleet.Durable.Client;
using Fleet.Hosting.Configuration;
using Fleet.Hosting.Invocation;
using Fleet.Hosting.Queues;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing.Patterns;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using NCrontab;

namespace Fleet.Hosting.Indexing;

/// <summary>
/// Finds <see cref="FunctionAttribute"/> methods and checks every signature, trigger argument and referenced setting,
/// so a mistake stops start-up with a <see cref="FunctionIndexingException"/> naming the function and parameter.
/// </summary>
internal static partial class FunctionIndexer
{
    public const string DefaultConnectionName = "AzureWebJobsStorage";

    private static readonly string[] KnownMethods = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "TRACE"];
    private static readonly string[] ReservedRoutes = ["admin", "runtime"];

    /// <summary>Indexes the public types of <paramref name="types"/>.</summary>
    public static IReadOnlyList<FunctionDescriptor> Index(IEnumerable<Type> types, IConfiguration configuration, HostSettings settings)
    {
        var functions = new List<FunctionDescriptor>();
        foreach (var type in types.Distinct())
        {
            foreach (var method in type.GetMethods(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly))
            {
                var attribute = method.GetCustomAttribute<FunctionAttribute>();
                if (attribute is not null)
                {
                    functions.Add(IndexMethod(type, method, attribute, configuration, settings));
                }
            }
        }

        var duplicate = functions.GroupBy(f => f.Name, StringComparer.OrdinalIgnoreCase).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null)
        {
            throw new FunctionIndexingException(
                duplicate.Key, null,
                $"Function name '{duplicate.Key}' is used by more than one method: {string.Join(", ", duplicate.Select(f => f.Definition.EntryPoint))}.");
        }

        if (settings.FunctionNames is { } selected)
        {
            var unknown = selected.FirstOrDefault(n => !functions.Any(f => string.Equals(f.Name, n, StringComparison.OrdinalIgnoreCase)));
            if (unknown is not null)
            {
                throw new HostConfigurationException("functions", $"host.json 'functions' lists '{unknown}', which is not a function of this app.");
            }

            functions = functions.Where(f => selected.Contains(f.Name, StringComparer.OrdinalIgnoreCase)).ToList();
        }

        CheckRoutes(functions);
        return functions;
    }

    private static FunctionDescriptor IndexMethod(Type type, MethodInfo method, FunctionAttribute attribute, IConfiguration configuration, HostSettings settings)
    {
        var name = attribute.Name;
        var entryPoint = $"{type.FullName}.{method.Name}";
        if (string.IsNullOrEmpty(name) || !FunctionNamePattern().IsMatch(name))
        {
            throw new FunctionIndexingException(
                string.IsNullOrEmpty(name) ? entryPoint : name, null,
                $"Function name '{name}' on {entryPoint} is invalid: use a letter, then letters, digits, '-' or '_' (at most 127 characters).");
        }

        if (!method.IsPublic || !(type.IsPublic || type.IsNestedPublic))
        {
            throw Fail(name, null, $"{entryPoint} must be a public method of a public class.");
        }

        if (method.IsGenericMethodDefinition || type.ContainsGenericParameters)
        {
            throw Fail(name, null, $"{entryPoint} must not be generic.");
        }

        if (!method.IsStatic && type.IsAbstract)
        {
            throw Fail(name, null, $"{entryPoint} is an instance method of an abstract class; make the class concrete or the method static.");
        }

        if (method.ReturnType == typeof(void) && method.GetCustomAttribute<AsyncStateMachineAttribute>() is not null)
        {
            throw Fail(name, null, $"{entryPoint} is 'async void': return Task instead, so the host can await it and see its failures.");
        }

        var parameters = method.GetParameters();
        var triggers = parameters.Where(p => TriggerOf(p) is not null).ToList();
        if (triggers.Count == 0)
        {
            throw Fail(name, null, $"Function '{name}' ({entryPoint}) has no trigger parameter ([TimerTrigger], [QueueTrigger], [HttpTrigger], [OrchestrationTrigger] or [ActivityTrigger]).");
        }

        if (triggers.Count > 1)
        {
            throw Fail(name, triggers[1].Name, $"Function '{name}' has more than one trigger parameter ('{triggers[0].Name}' and '{triggers[1].Name}').");
        }

        var triggerParameter = triggers[0];
        var triggerAttribute = TriggerOf(triggerParameter)!;
        var builder = new Builder(name, configuration, settings);
        var kind = triggerAttribute switch
        {
            TimerTriggerAttribute => TriggerKind.Timer,
            QueueTriggerAttribute => TriggerKind.Queue,
            HttpTriggerAttribute => TriggerKind.Http,
            OrchestrationTriggerAttribute => TriggerKind.Orchestration,
            _ => TriggerKind.Activity,
        };
        var (resultType, awaitResult) = ResultAdapter.For(method.ReturnType, continueOnCapturedContext: kind == TriggerKind.Orchestration);

        TimerTrigger? timer = null;
        QueueTrigger? queue = null;
        HttpTrigger? http = null;
        Type? activityInput = null;
        switch (triggerAttribute)
        {
            case TimerTriggerAttribute t:
                timer = builder.Timer(t, triggerParameter);
                break;
            case QueueTriggerAttribute q:
                queue = builder.Queue(q, triggerParameter);
                break;
            case HttpTriggerAttribute h:
                http = builder.Http(h, triggerParameter);
                break;
            case OrchestrationTriggerAttribute:
                if (triggerParameter.ParameterType != typeof(TaskOrchestrationContext))
                {
                    throw Fail(name, triggerParameter.Name, $"Function '{name}' parameter '{triggerParameter.Name}': [OrchestrationTrigger] binds to TaskOrchestrationContext, not {triggerParameter.ParameterType.Name}.");
                }

                break;
            default:
                activityInput = triggerParameter.ParameterType;
                if (activityInput == typeof(CancellationToken) || activityInput == typeof(FunctionContext) || activityInput.IsByRef || activityInput.IsPointer)
                {
                    throw Fail(name, triggerParameter.Name, $"Function '{name}' parameter '{triggerParameter.Name}': [ActivityTrigger] binds to the activity input, which cannot be a {activityInput.Name}.");
                }

                break;
        }

        var bindings = parameters.Select(p => p == triggerParameter
            ? new ParameterBinding(p.Name!, Builder.TriggerBinder(kind, p))
            : builder.OtherBinding(kind, p, http)).ToList();

        var disabledSetting = DisabledSettings(name).FirstOrDefault(s => !string.IsNullOrWhiteSpace(configuration[s]));
        var disabled = disabledSetting is not null && HostSettingsReader.ReadSettingBool(configuration, disabledSetting, false);
        return new FunctionDescriptor
        {
            Name = name,
            Method = method,
            Kind = kind,
            Definition = new FunctionDefinition(name, entryPoint, TriggerTypeName(kind)),
            Parameters = bindings,
            AwaitResult = awaitResult,
            ResultType = resultType,
            CreateInstance = method.IsStatic ? null : ActivatorUtilities.CreateFactory(type, Type.EmptyTypes),
            Disabled = disabled,
            UsesDurableClient = parameters.Any(p => p.GetCustomAttribute<DurableClientAttribute>() is not null),
            Timer = timer,
            Queue = queue,
            Http = http,
            ActivityInputType = activityInput,
        };
    }

    /// <summary>The settings that disable a function: <c>AzureWebJobs.&lt;name&gt;.Disabled</c> (or nested with <c>__</c>).</summary>
    internal static IEnumerable<string> DisabledSettings(string functionName) =>
        [$"AzureWebJobs.{functionName}.Disabled", $"AzureWebJobs:{functionName}:Disabled"];

    internal static string TriggerTypeName(TriggerKind kind) => kind switch
    {
        TriggerKind.Timer => "timerTrigger",
        TriggerKind.Queue => "queueTrigger",
        TriggerKind.Http => "httpTrigger",
        TriggerKind.Orchestration => "orchestrationTrigger",
        _ => "activityTrigger",
    };

    private static Attribute? TriggerOf(ParameterInfo parameter) =>
        parameter.GetCustomAttributes().FirstOrDefault(a => a is TimerTriggerAttribute or QueueTriggerAttribute or HttpTriggerAttribute
            or OrchestrationTriggerAttribute or ActivityTriggerAttribute);

    private static void CheckRoutes(IReadOnlyList<FunctionDescriptor> functions)
    {
        var http = functions.Where(f => f.Http is not null && !f.Disabled).ToList();
        for (var i = 0; i < http.Count; i++)
        {
            for (var j = i + 1; j < http.Count; j++)
            {
                var a = http[i].Http!;
                var b = http[j].Http!;
                var samePattern = string.Equals(NormalizeRoute(a.Pattern), NormalizeRoute(b.Pattern), StringComparison.OrdinalIgnoreCase);
                var overlap = a.Methods.Count == 0 || b.Methods.Count == 0 || a.Methods.Intersect(b.Methods).Any();
                if (samePattern && overlap)
                {
                    throw Fail(http[j].Name, null, $"Function '{http[j].Name}' has the same route '{b.Pattern}' and methods as '{http[i].Name}'.");
                }
            }
        }

        // Parameter names do not matter for a clash: {id} and {key} match the same requests.
        static string NormalizeRoute(string pattern) => RouteParameterPattern().Replace(pattern, "{}");
    }

    private static FunctionIndexingException Fail(string function, string? parameter, string message, string? setting = null, Exception? inner = null) =>
        new(function, parameter, message, setting, inner);

    [GeneratedRegex("^[A-Za-z][A-Za-z0-9_-]{0,126}$")]
    private static partial Regex FunctionNamePattern();

    [GeneratedRegex("^(?=.{3,63}$)[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9]))*$")]
    private static partial Regex QueueNamePattern();

    [GeneratedRegex(@"\{[^}]*\}")]
    private static partial Regex RouteParameterPattern();

    /// <summary>Builds the trigger and parameter bindings of one function.</summary>
    private sealed class Builder(string name, IConfiguration configuration, HostSettings settings)
    {
        public TimerTrigger Timer(TimerTriggerAttribute attribute, ParameterInfo parameter)
        {
            if (parameter.ParameterType != typeof(TimerInfo))
            {
                throw Fail(name, parameter.Name, $"Function '{name}' parameter '{parameter.Name}': [TimerTrigger] binds to TimerInfo, not {parameter.ParameterType.Name}.");
            }

            var expression = Resolve(attribute.Schedule, parameter, "schedule");
            CrontabSchedule schedule;
            try
            {
                schedule = CrontabSchedule.Parse(expression, new CrontabSchedule.ParseOptions { IncludingSeconds = true });
            }
            catch (CrontabException ex)
            {
                throw Fail(
                    name, parameter.Name,
                    $"Function '{name}' parameter '{parameter.Name}': the schedule '{expression}' is not a six-field NCRONTAB expression " +
                    $"({{second}} {{minute}} {{hour}} {{day}} {{month}} {{day-of-week}}, e.g. \"0 */5 * * * *\"): {ex.Message}",
                    SettingName(attribute.Schedule), ex);
            }

            // As in Azure Functions, schedules that fire more than once a minute are not monitored.
            var useMonitor = attribute.UseMonitor && new Timers.TimerSchedule(schedule, TimeZoneInfo.Utc).MinimumInterval() >= TimeSpan.FromMinutes(1);
            return new TimerTrigger(expression, schedule, attribute.RunOnStartup, useMonitor);
        }

        public QueueTrigger Queue(QueueTriggerAttribute attribute, ParameterInfo parameter)
        {
            if (!QueueMessageBinding.CanBind(parameter.ParameterType))
            {
                throw Fail(name, parameter.Name, $"Function '{name}' parameter '{parameter.Name}': [QueueTrigger] binds to string, byte[], BinaryData, QueueMessage or a JSON class, not {parameter.ParameterType.Name}.");
            }

            var queueName = Resolve(attribute.QueueName ?? string.Empty, parameter, "queue name");
            if (!QueueNamePattern().IsMatch(queueName))
            {
                throw Fail(
                    name, parameter.Name,
                    $"Function '{name}' parameter '{parameter.Name}': '{queueName}' is not a valid queue name (3-63 lowercase letters, digits and single dashes, starting and ending with a letter or digit).",
                    SettingName(attribute.QueueName));
            }

            if (!queueName.EndsWith(QueueTrigger.PoisonSuffix, StringComparison.Ordinal)
                && queueName.Length + QueueTrigger.PoisonSuffix.Length > QueueTrigger.MaxQueueNameLength)
            {
                throw Fail(
                    name, parameter.Name,
                    $"Function '{name}' parameter '{parameter.Name}': queue name '{queueName}' leaves no room for its poison queue '{queueName}{QueueTrigger.PoisonSuffix}' (at most {QueueTrigger.MaxQueueNameLength - QueueTrigger.PoisonSuffix.Length} characters).",
                    SettingName(attribute.QueueName));
            }

            return new QueueTrigger(queueName, string.IsNullOrWhiteSpace(attribute.Connection) ? DefaultConnectionName : attribute.Connection);
        }

        public HttpTrigger Http(HttpTriggerAttribute attribute, ParameterInfo parameter)
        {
            if (parameter.ParameterType != typeof(HttpRequest))
            {
                throw Fail(name, parameter.Name, $"Function '{name}' parameter '{parameter.Name}': [HttpTrigger] binds to Microsoft.AspNetCore.Http.HttpRequest, not {parameter.ParameterType.Name}.");
            }

            if (!Enum.IsDefined(attribute.AuthLevel))
            {
                throw Fail(name, parameter.Name, $"Function '{name}' parameter '{parameter.Name}': authorization level {attribute.AuthLevel} is not supported (use Anonymous, Function or Admin).");
            }

            var route = Resolve(string.IsNullOrWhiteSpace(attribute.Route) ? name : attribute.Route, parameter, "route").Trim().Trim('/');
            var prefix = settings.Http.RoutePrefix;
            var pattern = "/" + (prefix.Length == 0 ? route : prefix + "/" + route);
            RoutePattern parsed;
            try
            {
                parsed = RoutePatternFactory.Parse(pattern);
            }
            catch (RoutePatternException ex)
            {
                throw Fail(name, parameter.Name, $"Function '{name}' parameter '{parameter.Name}': route '{route}' is not a valid route template: {ex.Message}", SettingName(attribute.Route), ex);
            }

            if (prefix.Length == 0 && ReservedRoutes.Any(r => route.Equals(r, StringComparison.OrdinalIgnoreCase) || route.StartsWith(r + "/", StringComparison.OrdinalIgnoreCase)))
            {
                throw Fail(name, parameter.Name, $"Function '{name}' parameter '{parameter.Name}': route '{route}' is reserved by the host (admin/…, runtime/…).");
            }

            var methods = new List<string>();
            foreach (var method in attribute.Methods)
            {
                var upper = (method ?? string.Empty).Trim().ToUpperInvariant();
                if (!KnownMethods.Contains(upper))
                {
                    throw Fail(name, parameter.Name, $"Function '{name}' parameter '{parameter.Name}': '{method}' is not an HTTP method.");
                }

                if (!methods.Contains(upper))
                {
                    methods.Add(upper);
                }
            }

            return new HttpTrigger(route, pattern, methods, attribute.AuthLevel, parsed.Parameters.Select(p => p.Name).ToHashSet(StringComparer.OrdinalIgnoreCase));
        }

        public static Func<InvocationState, object?> TriggerBinder(TriggerKind kind, ParameterInfo parameter) => kind switch
        {
            TriggerKind.Queue => QueueMessageBinding.CreateBinder(parameter.ParameterType, parameter.Name!),
            TriggerKind.Http => state => state.HttpContext?.Request ?? state.TriggerValue,
            _ => state => state.TriggerValue,
        };

        public ParameterBinding OtherBinding(TriggerKind kind, ParameterInfo parameter, HttpTrigger? http)
        {
            var type = parameter.ParameterType;
            var parameterName = parameter.Name ?? string.Empty;
            if (parameter.GetCustomAttribute<DurableClientAttribute>() is { } client)
            {
                if (kind == TriggerKind.Orchestration)
                {
                    throw Fail(name, parameterName, $"Orchestrator function '{name}' parameter '{parameterName}': orchestrators take no bindings other than [OrchestrationTrigger] (DURABLE0008); start work through the context instead.");
                }

                if (type != typeof(DurableTaskClient))
                {
                    throw Fail(name, parameterName, $"Function '{name}' parameter '{parameterName}': [DurableClient] binds to DurableTaskClient, not {type.Name}.");
                }

                if (!string.IsNullOrEmpty(client.TaskHub))
                {
                    var hub = Resolve(client.TaskHub, parameter, "task hub");
                    if (!string.Equals(hub, settings.Durable.HubName, StringComparison.OrdinalIgnoreCase))
                    {
                        throw Fail(name, parameterName, $"Function '{name}' parameter '{parameterName}': task hub '{hub}' is not this host's hub '{settings.Durable.HubName}' (extensions.durableTask.hubName).", SettingName(client.TaskHub));
                    }
                }

                return new ParameterBinding(parameterName, state => state.Services.GetRequiredService<DurableTaskClient>());
            }

            if (type == typeof(FunctionContext))
            {
                return new ParameterBinding(parameterName, state => state.Context);
            }

            if (type == typeof(CancellationToken))
            {
                if (kind == TriggerKind.Orchestration)
                {
                    throw Fail(name, parameterName, $"Orchestrator function '{name}' parameter '{parameterName}': orchestrators cannot take a CancellationToken (DURABLE0007); use durable timers and events instead.");
                }

                return new ParameterBinding(parameterName, state => state.CancellationToken);
            }

            if (kind == TriggerKind.Activity && type == typeof(TaskActivityContext))
            {
                return new ParameterBinding(parameterName, state => state.BindingData.GetValueOrDefault(nameof(TaskActivityContext)));
            }

            if (kind == TriggerKind.Queue && QueueBindingData.Names.TryGetValue(parameterName, out var dataType))
            {
                var converter = MetadataConverter(dataType, type, parameterName);
                return new ParameterBinding(parameterName, state => converter(state.BindingData.GetValueOrDefault(parameterName)));
            }

            if (kind == TriggerKind.Http && http!.RouteParameters.Contains(parameterName))
            {
                var converter = RouteValueConverter(type, parameterName);
                return new ParameterBinding(parameterName, state => converter(state.BindingData.GetValueOrDefault(parameterName)));
            }

            var hint = kind switch
            {
                TriggerKind.Orchestration => "orchestrators take only [OrchestrationTrigger] TaskOrchestrationContext and FunctionContext (DURABLE0008)",
                TriggerKind.Queue => "queue functions can also take FunctionContext, CancellationToken, [DurableClient] DurableTaskClient and message metadata named id, dequeueCount, insertionTime, expirationTime, nextVisibleTime, popReceipt or queueTrigger",
                TriggerKind.Http => "HTTP functions can also take FunctionContext, CancellationToken, [DurableClient] DurableTaskClient and route parameters by name",
                TriggerKind.Activity => "activities can also take FunctionContext, TaskActivityContext, CancellationToken and [DurableClient] DurableTaskClient",
                _ => "timer functions can also take FunctionContext, CancellationToken and [DurableClient] DurableTaskClient",
            };
            throw Fail(name, parameterName, $"Function '{name}' parameter '{parameterName}' ({type.Name}) cannot be bound: {hint}. Services belong in the constructor.");
        }

        private Func<object?, object?> MetadataConverter(Type dataType, Type target, string parameterName)
        {
            if (dataType == typeof(string) && target == typeof(string))
            {
                return value => value;
            }

            if (dataType == typeof(long))
            {
                if (target == typeof(long))
                {
                    return value => value;
                }

                if (target == typeof(int))
                {
                    return value => Convert.ToInt32(value, CultureInfo.InvariantCulture);
                }
            }

            if (dataType == typeof(DateTimeOffset))
            {
                if (target == typeof(DateTimeOffset?))
                {
                    return value => value;
                }

                if (target == typeof(DateTimeOffset))
                {
                    return value => value ?? DateTimeOffset.MaxValue;
                }

                if (target == typeof(DateTime?))
                {
                    return value => ((DateTimeOffset?)value)?.UtcDateTime;
                }

                if (target == typeof(DateTime))
                {
                    return value => ((DateTimeOffset?)value)?.UtcDateTime ?? DateTime.MaxValue;
                }
            }

            throw Fail(name, parameterName, $"Function '{name}' parameter '{parameterName}': message metadata '{parameterName}' is a {dataType.Name}, which cannot bind to {target.Name}.");
        }

        private Func<object?, object?> RouteValueConverter(Type target, string parameterName)
        {
            var underlying = Nullable.GetUnderlyingType(target) ?? target;
            if (target == typeof(string))
            {
                return value => value?.ToString();
            }

            if (underlying == typeof(Guid))
            {
                return value => Parse(value, text => Guid.Parse(text));
            }

            if (underlying == typeof(DateTimeOffset))
            {
                return value => Parse(value, text => DateTimeOffset.Parse(text, CultureInfo.InvariantCulture));
            }

            if (typeof(IConvertible).IsAssignableFrom(underlying) && !underlying.IsEnum)
            {
                return value => Parse(value, text => Convert.ChangeType(text, underlying, CultureInfo.InvariantCulture));
            }

            throw Fail(name, parameterName, $"Function '{name}' parameter '{parameterName}': route values bind to strings, numbers, booleans, Guid and DateTimeOffset, not {target.Name}.");

            object? Parse(object? value, Func<string, object> parse)
            {
                var text = value?.ToString();
                if (string.IsNullOrEmpty(text))
                {
                    return target.IsValueType && Nullable.GetUnderlyingType(target) is null ? Activator.CreateInstance(target) : null;
                }

                try
                {
                    return parse(text);
                }
                catch (Exception ex) when (ex is FormatException or InvalidCastException or OverflowException)
                {
                    throw new FunctionBindingException(parameterName, $"Route value '{parameterName}' is not a valid {underlying.Name}.", ex);
                }
            }
        }

        private string Resolve(string value, ParameterInfo parameter, string what)
        {
            try
            {
                return SettingExpressions.Resolve(value, configuration);
            }
            catch (KeyNotFoundException)
            {
                var setting = SettingName(value) ?? value;
                throw Fail(name, parameter.Name, $"Function '{name}' parameter '{parameter.Name}': the {what} refers to setting '{setting}' (as %{setting}%), which is not set.", setting);
            }
            catch (FormatException ex)
            {
                throw Fail(name, parameter.Name, $"Function '{name}' parameter '{parameter.Name}': the {what} '{value}' has an unclosed %Setting% reference.", null, ex);
            }
        }

        private static string? SettingName(string? value)
        {
            if (value is null)
            {
                return null;
            }

            var start = value.IndexOf('%', StringComparison.Ordinal);
            var end = start < 0 ? -1 : value.IndexOf('%', start + 1);
            return end > start + 1 ? value[(start + 1)..end] : null;
        }
    }
}
