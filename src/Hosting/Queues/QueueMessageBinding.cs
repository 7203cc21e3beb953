using System.ComponentModel.DataAnnotations;
using System.Text.Json;
using Fleet.Hosting.Invocation;
using Fleet.Storage;

namespace Fleet.Hosting.Queues;

/// <summary>Converts a queue message to the trigger parameter's type: text, bytes, the message itself, or a validated JSON POCO.</summary>
internal static class QueueMessageBinding
{
    internal static readonly JsonSerializerOptions JsonOptions = new(JsonSerializerDefaults.Web);

    /// <summary>Whether the type can receive a queue message (anything but primitives, delegates and abstract types).</summary>
    public static bool CanBind(Type type) =>
        type == typeof(string) || type == typeof(byte[]) || type == typeof(BinaryData) || type == typeof(QueueMessage)
        || type == typeof(JsonElement) || IsPoco(type);

    public static Func<InvocationState, object?> CreateBinder(Type type, string parameterName)
    {
        if (type == typeof(string))
        {
            return state => Message(state).MessageText;
        }

        if (type == typeof(byte[]))
        {
            return state => Message(state).Body.ToArray();
        }

        if (type == typeof(BinaryData))
        {
            return state => Message(state).Body;
        }

        if (type == typeof(QueueMessage))
        {
            return state => Message(state);
        }

        return state => BindJson(Message(state), type, parameterName);
    }

    private static QueueMessage Message(InvocationState state) =>
        state.TriggerValue as QueueMessage ?? throw new InvalidOperationException("The trigger value is not a queue message.");

    private static object BindJson(QueueMessage message, Type type, string parameterName)
    {
        object? value;
        try
        {
            value = JsonSerializer.Deserialize(message.Body.ToMemory().Span, type, JsonOptions);
        }
        catch (JsonException ex)
        {
            throw new FunctionBindingException(
                parameterName, $"The message is not valid JSON for parameter '{parameterName}' ({type.Name}): {ex.Message}", ex);
        }
        catch (NotSupportedException ex)
        {
            throw new FunctionBindingException(
                parameterName, $"The message cannot be deserialized to parameter '{parameterName}' ({type.Name}): {ex.Message}", ex);
        }

        if (value is null)
        {
            throw new FunctionBindingException(parameterName, $"The message is JSON null; parameter '{parameterName}' ({type.Name}) needs a value.");
        }

        var results = new List<ValidationResult>();
        if (!Validator.TryValidateObject(value, new ValidationContext(value), results, validateAllProperties: true))
        {
            var reasons = string.Join("; ", results.Select(r => r.ErrorMessage ?? "invalid"));
            throw new FunctionBindingException(parameterName, $"The message failed validation for parameter '{parameterName}' ({type.Name}): {reasons}");
        }

        return value;
    }

    private static bool IsPoco(Type type) =>
        !type.IsPrimitive && !type.IsEnum && !type.IsAbstract && !type.IsInterface && !type.IsPointer && !type.IsByRef
        && type != typeof(object) && type != typeof(decimal) && type != typeof(DateTime) && type != typeof(DateTimeOffset)
        && type != typeof(Guid) && type != typeof(TimeSpan) && !typeof(Delegate).IsAssignableFrom(type)
        && !type.ContainsGenericParameters && type != typeof(CancellationToken);
}
