namespace Fleet.Durable.Storage;

/// <summary>
/// How durable entities live in a store: as instance rows with ID <c>@name@key</c>, status Running, the fixed execution
/// ID <see cref="ExecutionId"/> and the entity's version as history count (the commit's version check); their messages
/// are ordinary messages. Stores create the rows (<see cref="IOrchestrationStore.EnqueueEntityMessageAsync"/>); what
/// the rows hold beyond that is the backend's business.
/// </summary>
public static class EntityRows
{
    /// <summary>The execution ID of every entity row.</summary>
    public const string ExecutionId = "entity";

    /// <summary>Whether the instance ID names a durable entity (<c>@name@key</c>).</summary>
    public static bool IsEntity(string instanceId) => instanceId is ['@', ..] && instanceId.IndexOf('@', 1) > 1;

    /// <summary>The entity name of an entity instance ID, or null when the ID names no entity.</summary>
    public static string? NameOf(string instanceId) =>
        IsEntity(instanceId) ? instanceId[1..instanceId.IndexOf('@', 1)] : null;
}
