using System.Net;
using System.Net.Sockets;

namespace Fleet.Testing;

/// <summary>Finds loopback TCP ports that nothing is listening on.</summary>
public static class FreePort
{
    /// <summary>Asks the OS for an unused port on 127.0.0.1.</summary>
    public static int Next()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
