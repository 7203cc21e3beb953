namespace Fleet.Durable.Grpc;

/// <summary>Why the backend refused a client request; the sidecar service maps it to the gRPC status the SDK expects.</summary>
public enum SidecarRefusal
{
    /// <summary>The request is malformed (gRPC InvalidArgument).</summary>
    InvalidArgument,

    /// <summary>The instance does not exist (gRPC NotFound).</summary>
    NotFound,

    /// <summary>An instance with the ID exists and may not be replaced (gRPC AlreadyExists).</summary>
    AlreadyExists,

    /// <summary>The instance is not in a state that allows the request (gRPC FailedPrecondition).</summary>
    FailedPrecondition,
}

/// <summary>A client request the backend refused, with the reason as <see cref="Refusal"/>.</summary>
public sealed class SidecarRequestException(SidecarRefusal refusal, string message) : Exception(message)
{
    /// <summary>Why the request was refused.</summary>
    public SidecarRefusal Refusal { get; } = refusal;
}
