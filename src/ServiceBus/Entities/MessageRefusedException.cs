namespace Fleet.ServiceBus.Entities;

/// <summary>
/// An entity refused messages for a reason the sender can fix (the service answers these with not-allowed); nothing
/// of the send was accepted.
/// </summary>
internal sealed class MessageRefusedException : Exception
{
    public MessageRefusedException(string message)
        : base(message)
    {
    }
}
