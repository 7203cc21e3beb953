using System.Runtime.CompilerServices;
using Fleet.ServiceBus.Entities;
using Microsoft.Azure.Amqp;
using Microsoft.Azure.Amqp.Encoding;
using Microsoft.Azure.Amqp.Framing;
using Microsoft.Azure.Amqp.Transport;

namespace Fleet.ServiceBus.Amqp;

/// <summary>
/// The server side of Microsoft.Azure.Amqp: creates connections and links for what clients attach, and at attach
/// resolves the address to the token node, an entity's management node or an entity, checks the connection holds a
/// token for it, and wires the link to the entity. A refused attach gets the service's error (not-found,
/// unauthorized-access, not-allowed) and nothing else on the connection is affected.
/// </summary>
internal sealed class BrokerRuntime : IRuntimeProvider
{
    private static readonly AmqpSymbol SessionFilter = "com.microsoft:session-filter";
    private readonly ConditionalWeakTable<AmqpConnection, ConnectionState> _connections = [];
    private readonly BrokerNamespace _namespace;
    private readonly CbsNode _cbs;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;

    public BrokerRuntime(BrokerNamespace ns, SasTokenValidator validator, int maxMessageSize, TimeProvider time, ILogger logger)
    {
        _namespace = ns;
        _cbs = new CbsNode(validator, logger);
        MaxMessageSize = maxMessageSize;
        _time = time;
        _logger = logger;
    }

    public int MaxMessageSize { get; }

    public AmqpConnection CreateConnection(TransportBase transport, ProtocolHeader protocolHeader, bool isInitiator, AmqpSettings amqpSettings, AmqpConnectionSettings connectionSettings)
    {
        var connection = new AmqpConnection(transport, protocolHeader, isInitiator, amqpSettings, connectionSettings);
        _connections.Add(connection, new ConnectionState());
        return connection;
    }

    // Connections create the sessions clients begin themselves; this serves any other caller the same way.
    public AmqpSession CreateSession(AmqpConnection connection, AmqpSessionSettings settings) => new(connection, settings, this);

    public AmqpLink CreateLink(AmqpSession session, AmqpLinkSettings settings)
    {
        if (settings.Role == true)
        {
            // Requests to $management carry whole messages (schedule-message), so they may exceed the entity limit;
            // the node itself refuses a scheduled message over it.
            var address = (settings.Target as Target)?.Address?.ToString();
            settings.MaxMessageSize = address is not null && EntityAddress.Parse(address).Kind == NodeKind.Entity
                ? (ulong)MaxMessageSize
                : (ulong)MaxMessageSize * 4;
            return new ReceivingAmqpLink(session, settings);
        }

        return new SendingAmqpLink(session, settings);
    }

    public IAsyncResult BeginOpenLink(AmqpLink link, TimeSpan timeout, AsyncCallback callback, object state)
    {
        var opened = new TaskCompletionSource(state);
        try
        {
            OpenLink(link);
            opened.SetResult();
        }
        catch (AmqpException ex)
        {
            _logger.AttachRefused(link.Name, ex.Error.Condition.Value, ex.Error.Description);
            opened.SetException(ex);
        }

        callback(opened.Task);
        return opened.Task;
    }

    public void EndOpenLink(IAsyncResult result) => ((Task)result).GetAwaiter().GetResult();

    private void OpenLink(AmqpLink link)
    {
        var address = (link.IsReceiver ? (link.Settings.Target as Target)?.Address : (link.Settings.Source as Source)?.Address)?.ToString()
            ?? throw new AmqpException(AmqpErrorCode.InvalidField, "The link has no address.");
        var state = _connections.TryGetValue(link.Session.Connection, out var s)
            ? s
            : throw new AmqpException(AmqpErrorCode.InternalError, "Unknown connection.");
        var node = EntityAddress.Parse(address);
        if (node.Kind == NodeKind.Cbs)
        {
            AttachRequestResponse(link, state, request => _cbs.HandleAsync(request, state));
            return;
        }

        var entity = _namespace.Resolve(node.EntityPath) ?? throw ServiceBusErrors.NotFound($"{_namespace.Name}/{node.EntityPath}");
        var authorizedPath = node.Kind == NodeKind.Management ? entity.Path + "/$management" : entity.Path;
        if (!state.IsAuthorized(authorizedPath, _time.GetUtcNow()))
        {
            throw ServiceBusErrors.Unauthorized($"Unauthorized access to '{entity.Path}': send a valid token for it with put-token on $cbs before attaching.");
        }

        if (node.Kind == NodeKind.Management)
        {
            var management = new ManagementNode(entity, MaxMessageSize);
            AttachRequestResponse(link, state, management.HandleAsync);
        }
        else if (link is ReceivingAmqpLink incoming)
        {
            _ = new IncomingLink(incoming, entity.Sender ?? throw ServiceBusErrors.NotAllowed(
                $"'{entity.Path}' does not accept messages: send to its queue or topic."), _logger);
        }
        else
        {
            var queue = entity.Receiver ?? throw ServiceBusErrors.NotAllowed($"'{entity.Path}' is a topic: receive from one of its subscriptions.");
            if ((link.Settings.Source as Source)?.FilterSet is { } filters && filters.Any(f => SessionFilter.Equals(f.Key.Key)))
            {
                throw ServiceBusErrors.NotAllowed($"'{entity.Path}' is not session-enabled: sessions are not supported by this emulator.");
            }

            _ = new OutgoingLink((SendingAmqpLink)link, queue, _logger);
        }
    }

    private void AttachRequestResponse(AmqpLink link, ConnectionState state, Func<AmqpMessage, Task<AmqpMessage>> handle)
    {
        if (link is ReceivingAmqpLink requests)
        {
            _ = new RequestNode(requests, state, handle, _logger);
        }
        else
        {
            // Requests name their reply link by its target address (.NET, Java) or by the link's name (the JavaScript
            // client's $cbs link has no target address), so the link answers to both.
            var sender = (SendingAmqpLink)link;
            if ((link.Settings.Target as Target)?.Address?.ToString() is { Length: > 0 } target)
            {
                state.AddReplyLink(target, sender);
            }

            state.AddReplyLink(link.Name, sender);
        }
    }
}
