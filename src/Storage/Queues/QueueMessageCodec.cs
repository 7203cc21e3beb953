using System.Text;
using System.Xml;

namespace Fleet.Storage;

/// <summary>Turns message text into its wire form and back, per <see cref="QueueMessageEncoding"/>.</summary>
internal static class QueueMessageCodec
{
    private static readonly UTF8Encoding StrictUtf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    public static string Encode(string text, QueueMessageEncoding encoding) => encoding switch
    {
        QueueMessageEncoding.Base64 => Convert.ToBase64String(Encoding.UTF8.GetBytes(text)),
        _ => CheckXmlText(text),
    };

    public static string Encode(BinaryData body, QueueMessageEncoding encoding)
    {
        if (encoding == QueueMessageEncoding.Base64)
        {
            return Convert.ToBase64String(body.ToMemory().Span);
        }

        try
        {
            return CheckXmlText(StrictUtf8.GetString(body.ToMemory().Span));
        }
        catch (DecoderFallbackException ex)
        {
            throw new ArgumentException("With QueueMessageEncoding.None a message body must be UTF-8 text; use Base64 for binary data.", nameof(body), ex);
        }
    }

    public static (string Text, BinaryData Body, bool Failed) Decode(string wire, QueueMessageEncoding encoding)
    {
        if (encoding == QueueMessageEncoding.None)
        {
            return (wire, BinaryData.FromString(wire), false);
        }

        var buffer = new byte[wire.Length];
        if (!Convert.TryFromBase64String(wire, buffer, out var written))
        {
            return (wire, BinaryData.FromString(wire), true);
        }

        var bytes = buffer.AsMemory(0, written);
        return (Encoding.UTF8.GetString(bytes.Span), new BinaryData(bytes), false);
    }

    private static string CheckXmlText(string text)
    {
        try
        {
            XmlConvert.VerifyXmlChars(text);
            return text;
        }
        catch (XmlException ex)
        {
            throw new ArgumentException("The message text has characters XML cannot carry; use QueueMessageEncoding.Base64.", nameof(text), ex);
        }
    }
}
