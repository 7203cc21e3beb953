using System.Runtime.CompilerServices;
using Fleet.ServiceBus.Entities;
using Microsoft.Azure.Amqp;
using Microsoft.Azure.Amqp.Framing;
using Microsoft.Azure.Amqp.Transport;

namespace Fleet.ServiceBus.Amqp;

/// <summary>
/// The server side of Microsoft.Azure.Amqp: creates connections and links for what clients attach, and at attach
/// resolves the address to the token node, an entity's management node or an entity, checks the connection holds a
/// token for it, and wires the link to the entity; a session receiver's attach completes once it holds a session. A
/// refused attach gets the service's error (not-found, unauthorized-access, not-allowed, session-cannot-be-locked,
/// timeout) and nothing else on the connection is affected.
/// </summary>
internal sealed class BrokerRuntime : IRuntimeProvider
{
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
        _ = CompleteOpenAsync(link, timeout, opened, callback);
        return opened.Task;
    }

    public void EndOpenLink(IAsyncResult result) => ((Task)result).GetAwaiter().GetResult();

    private async Task CompleteOpenAsync(AmqpLink link, TimeSpan timeout, TaskCompletionSource opened, AsyncCallback callback)
    {
        try
        {
            await OpenLinkAsync(link, timeout).ConfigureAwait(false);
            opened.SetResult();
        }
        catch (Exception ex)
        {
            // Anything else is the emulator's fault; the link still gets an answer rather than hanging.
            var refusal = ex as AmqpException ?? new AmqpException(AmqpErrorCode.InternalError, "The link could not be opened in the emulator.");
            _logger.AttachRefused(link.Name, refusal.Error.Condition.Value, refusal.Error.Description);
            opened.SetException(refusal);
        }

        callback(opened.Task);
    }

    /// <summary>Wires the link; completes at once except for a session receiver waiting for its session.</summary>
    private Task OpenLinkAsync(AmqpLink link, TimeSpan timeout)
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
            return Task.CompletedTask;
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
            var sessionRequested = SessionAttach.IsRequested(link.Settings, out var sessionId);
            if (sessionRequested != queue.RequiresSession)
            {
                // The service's words for both mismatches.
                throw ServiceBusErrors.NotAllowed(sessionRequested
                    ? $"A sessionful message receiver cannot be created on an entity that does not require sessions ('{entity.Path}'). Ensure RequiresSession is set to true when creating a Queue or Subscription to enable sessionful behavior."
                    : $"It is not possible for an entity that requires sessions to create a non-sessionful message receiver ('{entity.Path}'): accept a session.");
            }

            var receiver = new OutgoingLink((SendingAmqpLink)link, queue, _logger);
            if (sessionRequested)
            {
                return SessionAttach.AcceptAsync((SendingAmqpLink)link, receiver, queue, sessionId, timeout);
            }
        }

        return Task.CompletedTask;
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
