namespace Fleet.ServiceBus.Config;

/// <summary>The entity configuration is invalid or uses a feature the emulator refuses; the message names the setting.</summary>
public sealed class EmulatorConfigException : Exception
{
    /// <summary>Creates the exception with a message that names the offending setting.</summary>
    public EmulatorConfigException(string message)
        : base(message)
    {
    }
}
