using System.Text;

namespace Fleet.Durable.Runtime;

/// <summary>Serialization with the configured converter and the payload size limit applied.</summary>
internal sealed class PayloadSerializer(DataConverter converter, int maxPayloadBytes)
{
    public DataConverter Converter { get; } = converter;

    public int MaxPayloadBytes { get; } = maxPayloadBytes;

    /// <exception cref="PayloadTooLargeException">The serialized value is over the limit.</exception>
    public string? Serialize(object? value, string what)
    {
        var text = Converter.Serialize(value);
        Check(text, what);
        return text;
    }

    /// <exception cref="PayloadTooLargeException">The text is over the limit.</exception>
    public void Check(string? text, string what)
    {
        if (text is null || text.Length <= MaxPayloadBytes / 3)
        {
            return; // at most 3 UTF-8 bytes per UTF-16 char: cannot be over
        }

        var size = text.Length > MaxPayloadBytes ? text.Length : Encoding.UTF8.GetByteCount(text);
        if (size > MaxPayloadBytes)
        {
            throw new PayloadTooLargeException(what, size, MaxPayloadBytes);
        }
    }
}
