using Microsoft.Azure.Amqp;

namespace Fleet.ServiceBus.Amqp;

/// <summary>Calls on a link that may close at any moment: the client closing its link is no broker error.</summary>
internal static class ClosedLinks
{
    /// <summary>Runs <paramref name="call"/>; returns the reason when the link or its session had already closed.</summary>
    public static string? Try(Action call)
    {
        try
        {
            call();
            return null;
        }
        catch (Exception ex) when (ex is AmqpException or ObjectDisposedException or InvalidOperationException)
        {
            return ex.Message;
        }
    }
}
