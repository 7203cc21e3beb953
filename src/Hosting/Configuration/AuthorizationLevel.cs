namespace Fleet.Hosting;

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
