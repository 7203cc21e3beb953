namespace Fleet.Hosting;

/// <summary>
/// A setting (host.json key, local.settings.json entry, app setting or environment variable) is missing, unknown or
/// invalid, so the host refuses to start. <see cref="Setting"/> names it; the message says what is wrong and never
/// contains a secret value.
/// </summary>
public sealed class HostConfigurationException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="setting">The offending setting, e.g. <c>extensions.queues.batchSize</c> or <c>Host:LocalHttpPort</c>.</param>
    /// <param name="message">What is wrong.</param>
    /// <param name="innerException">The underlying error, if any.</param>
    public HostConfigurationException(string setting, string message, Exception? innerException = null)
        : base(message, innerException)
    {
        Setting = setting;
    }

    /// <summary>The offending setting: a host.json key path (<c>extensions.queues.batchSize</c>), or a setting name
    /// (<c>Host:LocalHttpPort</c>, <c>AzureWebJobsStorage</c>).</summary>
    public string Setting { get; }
}

/// <summary>
/// A function's signature or trigger attribute cannot be used (no trigger, an unbindable parameter, an invalid
/// schedule or queue name, a missing <c>%Setting%</c>), so the host refuses to start.
/// </summary>
public sealed class FunctionIndexingException : Exception
{
    /// <summary>Creates the exception.</summary>
    /// <param name="functionName">The function (or, before its name is known, the method) at fault.</param>
    /// <param name="parameterName">The parameter at fault, if any.</param>
    /// <param name="message">What is wrong.</param>
    /// <param name="setting">A setting involved (e.g. one referenced as <c>%Setting%</c>), if any.</param>
    /// <param name="innerException">The underlying error, if any.</param>
    public FunctionIndexingException(
        string functionName, string? parameterName, string message, string? setting = null, Exception? innerException = null)
        : base(message, innerException)
    {
        FunctionName = functionName;
        ParameterName = parameterName;
        Setting = setting;
    }

    /// <summary>The function at fault.</summary>
    public string FunctionName { get; }

    /// <summary>The parameter at fault, or null when the problem is not a parameter's.</summary>
    public string? ParameterName { get; }

    /// <summary>A setting involved, or null.</summary>
    public string? Setting { get; }
}

/// <summary>
/// The local functions host cannot start: no <c>dotnet</c>, a missing worker.config.json or app, a worker that
/// crashed or did not complete its handshake in time. The message is one line that names the cause and the file or
/// setting involved.
/// </summary>
public sealed class HostStartupException : Exception
{
    /// <summary>Creates the exception.</summary>
    public HostStartupException(string message, Exception? innerException = null)
        : base(message, innerException)
    {
    }
}
