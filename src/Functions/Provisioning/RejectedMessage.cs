using System.Text.Json;
using Fleet.Functions.Http;

namespace Fleet.Functions.Provisioning;

/// <summary>
/// A provisioning message that is not a valid request, as recorded in <c>{queue}-rejected</c> (JSON, camelCase): the
/// problems, and the original text exactly, so an operator can fix and re-send it.
/// </summary>
/// <param name="Queue">The queue it arrived on.</param>
/// <param name="MessageId">Its message id there.</param>
/// <param name="Errors">What is wrong with it, one problem each.</param>
/// <param name="Message">The message text as it arrived.</param>
/// <param name="RejectedAt">When it was rejected.</param>
public sealed record RejectedMessage(string Queue, string MessageId, IReadOnlyList<string> Errors, string Message, DateTimeOffset RejectedAt)
{
    /// <summary>The record as the JSON written to the rejected queue.</summary>
    public static string Serialize(RejectedMessage record) => JsonSerializer.Serialize(record, HttpJson.Options);

    /// <summary>Reads a record from the rejected queue.</summary>
    public static RejectedMessage? Deserialize(string json) => JsonSerializer.Deserialize<RejectedMessage>(json, HttpJson.Options);
}
