namespace Fleet.Durable;

/// <summary>
/// The name of an orchestrator or activity. Names compare case-insensitively, as in Durable Functions.
/// </summary>
public readonly struct TaskName : IEquatable<TaskName>
{
    /// <summary>Creates a task name.</summary>
    /// <param name="name">The name; must not be null or empty.</param>
    public TaskName(string name)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        Name = name;
    }

    /// <summary>The name as registered.</summary>
    public string Name => field ?? string.Empty;

    /// <summary>Converts a string to a <see cref="TaskName"/>.</summary>
    public static implicit operator TaskName(string name) => new(name);

    /// <summary>Equality by case-insensitive name.</summary>
    public static bool operator ==(TaskName left, TaskName right) => left.Equals(right);

    /// <summary>Inequality by case-insensitive name.</summary>
    public static bool operator !=(TaskName left, TaskName right) => !left.Equals(right);

    /// <summary>Creates a task name (the named alternative to the implicit conversion).</summary>
    public static TaskName FromString(string name) => new(name);

    /// <inheritdoc />
    public bool Equals(TaskName other) => string.Equals(Name, other.Name, StringComparison.OrdinalIgnoreCase);

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is TaskName other && Equals(other);

    /// <inheritdoc />
    public override int GetHashCode() => StringComparer.OrdinalIgnoreCase.GetHashCode(Name);

    /// <inheritdoc />
    public override string ToString() => Name;
}
