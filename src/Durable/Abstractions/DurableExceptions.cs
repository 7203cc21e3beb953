using Fleet.Durable.Client;

namespace Fleet.Durable;

/// <summary>A start was refused because an instance with the same ID is Pending, Running or Suspended.</summary>
public sealed class OrchestrationAlreadyExistsException(string instanceId, OrchestrationRuntimeStatus status)
    : InvalidOperationException($"An orchestration instance with ID '{instanceId}' already exists and is {status}; only a Completed, Failed or Terminated instance can be started again.")
{
    /// <summary>The instance ID that was refused.</summary>
    public string InstanceId { get; } = instanceId;

    /// <summary>The status of the existing instance.</summary>
    public OrchestrationRuntimeStatus Status { get; } = status;
}

/// <summary>
/// Replayed orchestrator code did not produce the actions its recorded history says it produced. The instance fails
/// with this error; the message names the recorded event and the new action.
/// </summary>
public sealed class NonDeterministicOrchestrationException(string message) : Exception(message);

/// <summary>A serialized payload is larger than the configured <c>MaxPayloadBytes</c>.</summary>
public sealed class PayloadTooLargeException(string what, int sizeBytes, int limitBytes)
    : InvalidOperationException($"The {what} is {sizeBytes} bytes when serialized, more than the limit of {limitBytes} bytes (setting DurableTask:MaxPayloadBytes). Pass a reference to the data instead.")
{
    /// <summary>The serialized size in UTF-8 bytes.</summary>
    public int SizeBytes { get; } = sizeBytes;

    /// <summary>The configured limit.</summary>
    public int LimitBytes { get; } = limitBytes;
}

/// <summary>
/// A runtime message (an orchestration message or an activity work item) kept failing to be processed and was given
/// up after <c>MessageAttemptLimit</c> attempts; the instance or the activity call fails with this as its cause.
/// </summary>
public sealed class PoisonMessageException(string message) : Exception(message);

/// <summary>Orchestrator code awaited something that is not a durable task, or called the context off its thread.</summary>
public sealed class OrchestrationDeterminismException(string message) : InvalidOperationException(message);
