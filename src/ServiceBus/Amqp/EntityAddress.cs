namespace Fleet.ServiceBus.Amqp;

/// <summary>The node a link attaches to: the token service, an entity's management node, or an entity.</summary>
internal enum NodeKind
{
    Cbs,
    Management,
    Entity,
}

/// <summary>
/// A link address as clients send it: <c>/q1</c>, <c>q1/$management</c>, <c>t1/Subscriptions/s1/$DeadLetterQueue</c>,
/// <c>$cbs</c>, or the same as an absolute URI (<c>amqps://host/q1</c>, which other languages' clients use).
/// </summary>
internal readonly record struct EntityAddress(NodeKind Kind, string EntityPath)
{
    private const string ManagementSuffix = "/$management";

    public static EntityAddress Parse(string address)
    {
        var path = address;
        if (Uri.TryCreate(address, UriKind.Absolute, out var uri) && !string.IsNullOrEmpty(uri.Host))
        {
            path = Uri.UnescapeDataString(uri.AbsolutePath);
        }

        path = path.Trim('/');
        if (string.Equals(path, "$cbs", StringComparison.OrdinalIgnoreCase))
        {
            return new EntityAddress(NodeKind.Cbs, string.Empty);
        }

        return path.EndsWith(ManagementSuffix, StringComparison.OrdinalIgnoreCase)
            ? new EntityAddress(NodeKind.Management, path[..^ManagementSuffix.Length])
            : new EntityAddress(NodeKind.Entity, path);
    }
}
