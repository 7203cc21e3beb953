using System.Net;
using System.Net.Sockets;
using Microsoft.Azure.Amqp;
using Microsoft.Azure.Amqp.Framing;
using Microsoft.Azure.Amqp.Sasl;
using Microsoft.Azure.Amqp.Transport;

namespace Fleet.ServiceBus.Amqp;

/// <summary>
/// Accepts AMQP 1.0 connections on 127.0.0.1 without TLS (the emulator connection string's transport), with the SASL
/// mechanisms Service Bus clients offer (MSSBCBS, ANONYMOUS) or none. A connection that sends malformed frames is
/// closed by the AMQP library with a decode error; the listener and other connections carry on.
/// </summary>
internal sealed class BrokerListener : IDisposable
{
    private const int BindAttempts = 20;
    private readonly AmqpTransportListener _listener;
    private readonly AmqpConnectionSettings _connectionSettings;
    private readonly IRuntimeProvider _runtime;
    private readonly ILogger _logger;
    private readonly HashSet<AmqpConnection> _connections = [];

    private BrokerListener(AmqpTransportListener listener, int port, string containerId, IRuntimeProvider runtime, ILogger logger)
    {
        _listener = listener;
        Port = port;
        _runtime = runtime;
        _logger = logger;
        _connectionSettings = new AmqpConnectionSettings
        {
            ContainerId = containerId,
            MaxFrameSize = 64 * 1024,
            // The service closes idle connections after a minute; clients heartbeat at half the peer's idle timeout.
            IdleTimeOut = 60_000,
        };
    }

    public int Port { get; }

    /// <summary>
    /// Listens on <paramref name="port"/> (0: any free port). When that port is taken, <paramref name="fallBackToFreePort"/>
    /// decides between a free port and an <see cref="IOException"/> naming the port.
    /// </summary>
    public static BrokerListener Start(int port, bool fallBackToFreePort, string containerId, IRuntimeProvider runtime, ILogger logger)
    {
        for (var attempt = 0; ; attempt++)
        {
            var candidate = port == 0 || attempt > 0 ? FreePort() : port;
            var settings = new AmqpSettings { RuntimeProvider = runtime };
            var sasl = new SaslTransportProvider();
            sasl.Versions.Add(new AmqpVersion(1, 0, 0));
            sasl.AddHandler(new SaslAnonymousHandler("MSSBCBS"));
            sasl.AddHandler(new SaslAnonymousHandler());
            settings.TransportProviders.Add(sasl);
            var amqp = new AmqpTransportProvider();
            amqp.Versions.Add(new AmqpVersion(1, 0, 0));
            settings.TransportProviders.Add(amqp);
            var tcp = new TcpTransportSettings { Host = IPAddress.Loopback.ToString(), Port = candidate }.CreateListener();
            var listener = new AmqpTransportListener([tcp], settings);
            var broker = new BrokerListener(listener, candidate, containerId, runtime, logger);
            try
            {
                listener.Listen(broker.OnAcceptTransport);
                return broker;
            }
            catch (SocketException ex) when (ex.SocketErrorCode == SocketError.AddressAlreadyInUse)
            {
                listener.Abort();
                var retry = port == 0 || fallBackToFreePort;
                if (!retry || attempt >= BindAttempts)
                {
                    throw new IOException($"Port {candidate} on 127.0.0.1 is already in use.", ex);
                }
            }
        }
    }

    public void Dispose()
    {
        _listener.Close();
        List<AmqpConnection> open;
        lock (_connections)
        {
            open = [.. _connections];
            _connections.Clear();
        }

        foreach (var connection in open)
        {
            connection.SafeClose();
        }
    }

    private static int FreePort()
    {
        using var probe = new TcpListener(IPAddress.Loopback, 0);
        probe.Start();
        return ((IPEndPoint)probe.LocalEndpoint).Port;
    }

    private void OnAcceptTransport(TransportListener listener, TransportAsyncCallbackArgs args)
    {
        AmqpConnection? connection = null;
        try
        {
            connection = _runtime.CreateConnection(args.Transport, (ProtocolHeader)args.UserToken, false, _listener.AmqpSettings, _connectionSettings.Clone());
            connection.BeginOpen(AmqpConstants.DefaultTimeout, OnConnectionOpened, connection);
        }
        catch (Exception ex)
        {
            _logger.ConnectionFailed(ex.Message);
            if (connection is not null)
            {
                connection.SafeClose(ex);
            }
            else
            {
                args.Transport.Abort();
            }
        }
    }

    private void OnConnectionOpened(IAsyncResult result)
    {
        var connection = (AmqpConnection)result.AsyncState!;
        try
        {
            connection.EndOpen(result);
            lock (_connections)
            {
                _connections.Add(connection);
            }

            connection.Closed += (_, _) =>
            {
                lock (_connections)
                {
                    _connections.Remove(connection);
                }
            };
        }
        catch (Exception ex)
        {
            _logger.ConnectionFailed(ex.Message);
            connection.SafeClose(ex);
        }
    }
}
