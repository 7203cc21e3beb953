using System.Collections;
using Microsoft.Azure.Amqp;
using Microsoft.Azure.Amqp.Encoding;
using Microsoft.Azure.Amqp.Framing;

namespace Fleet.ServiceBus.Amqp;

/// <summary>
/// Builds <c>$management</c> replies as the service shapes them (an AMQP value map body; int <c>statusCode</c>,
/// <c>statusDescription</c> and, for errors, the symbol <c>errorCondition</c>) and reads request values leniently, so
/// clients that send lists where the .NET client sends arrays are served too.
/// </summary>
internal static class ManagementResponse
{
    public static AmqpMessage Ok(AmqpMap? body = null, int status = 200) => Create(status, "OK", null, body ?? new AmqpMap());

    public static AmqpMessage Error(int status, AmqpSymbol condition, string description) => Create(status, description, condition, new AmqpMap());

    public static MapKey Key(string name) => new(name);

    public static AmqpMap? RequestMap(AmqpMessage request) => request.ValueBody?.Value as AmqpMap;

    public static T? Value<T>(AmqpMap map, string key) => map[Key(key)] is T value ? value : default;

    public static List<long>? Longs(AmqpMap map, string key) =>
        map[Key(key)] switch
        {
            long[] array => [.. array],
            IEnumerable items and not string => items.Cast<object>().Select(Convert.ToInt64).ToList(),
            _ => null,
        };

    public static List<Guid>? Guids(AmqpMap map, string key) =>
        map[Key(key)] switch
        {
            Guid[] array => [.. array],
            IEnumerable items and not string => items.Cast<object>().Select(o => o is Guid g ? g : Guid.Parse(o.ToString()!)).ToList(),
            _ => null,
        };

    public static IEnumerable<AmqpMap> Maps(AmqpMap map, string key) =>
        map[Key(key)] is IEnumerable items ? items.OfType<AmqpMap>() : [];

    public static byte[]? Binary(AmqpMap map, string key) =>
        map[Key(key)] switch
        {
            ArraySegment<byte> segment => segment.ToArray(),
            byte[] bytes => bytes,
            _ => null,
        };

    public static Dictionary<string, object?>? Properties(AmqpMap map, string key)
    {
        if (map[Key(key)] is not AmqpMap properties || properties.Count == 0)
        {
            return null;
        }

        var result = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var (k, v) in properties)
        {
            result[k.Key.ToString()!] = v;
        }

        return result;
    }

    private static AmqpMessage Create(int status, string description, AmqpSymbol? condition, AmqpMap body)
    {
        var message = AmqpMessage.Create(new AmqpValue { Value = body });
        message.ApplicationProperties = new ApplicationProperties();
        message.ApplicationProperties.Map["statusCode"] = status;
        message.ApplicationProperties.Map["statusDescription"] = description;
        if (condition is { } symbol)
        {
            message.ApplicationProperties.Map["errorCondition"] = symbol;
        }

        return message;
    }
}
