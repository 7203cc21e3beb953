using System.Reflection;

namespace Fleet.Durable;

/// <summary>
/// Why an activity, sub-orchestration or orchestration failed. Failures cross the durable boundary as data, so test
/// them with <see cref="IsCausedBy{T}"/>, never by message text.
/// </summary>
/// <param name="ErrorType">The namespace-qualified exception type name.</param>
/// <param name="ErrorMessage">The exception message.</param>
/// <param name="StackTrace">The stack trace, if any.</param>
/// <param name="InnerFailure">The inner cause, if any.</param>
public sealed record TaskFailureDetails(string ErrorType, string ErrorMessage, string? StackTrace, TaskFailureDetails? InnerFailure)
{
    /// <summary>Whether <see cref="ErrorType"/> names <typeparamref name="T"/> or a type derived from it.</summary>
    public bool IsCausedBy<T>()
        where T : Exception => IsCausedBy(typeof(T));

    /// <summary>Whether <see cref="ErrorType"/> names <paramref name="exceptionType"/> or a type derived from it.</summary>
    /// <exception cref="ArgumentException"><paramref name="exceptionType"/> is not an exception type.</exception>
    public bool IsCausedBy(Type exceptionType)
    {
        ArgumentNullException.ThrowIfNull(exceptionType);
        if (!typeof(Exception).IsAssignableFrom(exceptionType))
        {
            throw new ArgumentException($"The type '{exceptionType}' is not an exception type.", nameof(exceptionType));
        }

        if (string.IsNullOrEmpty(ErrorType))
        {
            return false;
        }

        var loaded = Type.GetType(ErrorType, throwOnError: false)
            ?? exceptionType.Assembly.GetType(ErrorType, throwOnError: false)
            ?? FindInLoadedAssemblies(ErrorType);
        return loaded is not null && exceptionType.IsAssignableFrom(loaded);
    }

    /// <summary>Describes an exception, with its inner exceptions.</summary>
    public static TaskFailureDetails FromException(Exception exception)
    {
        ArgumentNullException.ThrowIfNull(exception);
        var inner = exception.InnerException is { } innerException ? FromException(innerException) : null;
        if (exception is TaskFailedException taskFailed)
        {
            inner ??= taskFailed.FailureDetails;
        }

        return new TaskFailureDetails(exception.GetType().FullName ?? exception.GetType().Name, exception.Message, exception.StackTrace, inner);
    }

    /// <inheritdoc />
    public override string ToString() => $"{ErrorType}: {ErrorMessage}";

    private static Type? FindInLoadedAssemblies(string typeName)
    {
        Type? found = null;
        foreach (var assembly in AppDomain.CurrentDomain.GetAssemblies())
        {
            Type? candidate;
            try
            {
                candidate = assembly.GetType(typeName, throwOnError: false);
            }
            catch (Exception ex) when (ex is FileNotFoundException or FileLoadException or BadImageFormatException)
            {
                continue;
            }

            if (candidate is not null)
            {
                if (found is not null && found != candidate)
                {
                    throw new AmbiguousMatchException($"Several loaded exception types are named '{typeName}'.");
                }

                found = candidate;
            }
        }

        return found;
    }
}

/// <summary>Thrown into orchestrator code when an activity or sub-orchestration it awaited failed.</summary>
public sealed class TaskFailedException : Exception
{
    /// <summary>Creates the exception.</summary>
    public TaskFailedException(TaskName taskName, int taskId, TaskFailureDetails failureDetails)
        : base($"Task '{taskName}' (#{taskId}) failed with an unhandled exception: {failureDetails?.ErrorMessage}")
    {
        TaskName = taskName;
        TaskId = taskId;
        FailureDetails = failureDetails ?? throw new ArgumentNullException(nameof(failureDetails));
    }

    /// <summary>The activity or sub-orchestrator name.</summary>
    public TaskName TaskName { get; }

    /// <summary>The task's sequence ID in the orchestration history.</summary>
    public int TaskId { get; }

    /// <summary>Why the task failed.</summary>
    public TaskFailureDetails FailureDetails { get; }
}
