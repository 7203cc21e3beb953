namespace Fleet.Durable;

/// <summary>
/// Names an orchestrator or activity class differently from its type name when it is registered by type.
/// </summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false, Inherited = false)]
public sealed class DurableTaskAttribute(string? name = null) : Attribute
{
    /// <summary>The registered name, or null to use the type name.</summary>
    public string? Name { get; } = name;

    internal static TaskName GetTaskName(Type type)
    {
        var attribute = (DurableTaskAttribute?)GetCustomAttribute(type, typeof(DurableTaskAttribute));
        return string.IsNullOrEmpty(attribute?.Name) ? new TaskName(type.Name) : new TaskName(attribute.Name);
    }
}
