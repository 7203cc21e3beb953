using System.Buffers;
using System.Text;
using System.Text.Json;

namespace Fleet.Durable.Postgres;

/// <summary>
/// What a committed write batch tells the other hosts (one NOTIFY per batch, sent in the batch's transaction so it is
/// delivered only if the batch commits): orchestration or activity work became visible, the earliest future due time
/// it wrote (timers, delayed retries, scheduled starts), and instances whose runtime status changed (for clients
/// waiting on them). Receivers treat it as a hint and re-read the database; a lost notice only delays work until the
/// next poll.
/// <para>
/// Work that follows from this host's own work (the activities an episode schedules, its own timers, the result of an
/// activity it ran) is "local": this host takes it itself, which keeps each instance's executor cached where it runs.
/// Local work is announced to the others only when this host has no free slot for it (<see cref="ShareLocalWork"/>).
/// </para>
/// </summary>
internal sealed class Notice
{
    // NOTIFY payloads must stay under 8000 bytes.
    private const int MaxPayloadBytes = 7000;

    public bool OrchestrationWork { get; set; }

    public bool ActivityWork { get; set; }

    /// <summary>Orchestration work this host intends to take itself.</summary>
    public bool LocalOrchestrationWork { get; set; }

    /// <summary>Activities this host intends to run itself.</summary>
    public bool LocalActivityWork { get; set; }

    /// <summary>Earliest due time of this host's own future work (UTC ticks), or null.</summary>
    public long? LocalDue { get; private set; }

    /// <summary>Earliest future due time (UTC ticks), or null.</summary>
    public long? Due { get; private set; }

    public HashSet<string> Changed { get; } = new(StringComparer.Ordinal);

    /// <summary>Any instance may have changed (too many to list, or not known).</summary>
    public bool AllChanged { get; set; }

    /// <summary>The sender's store ID, so a store ignores its own notices.</summary>
    public string? Sender { get; private set; }

    public bool IsEmpty => !OrchestrationWork && !ActivityWork && Due is null && Changed.Count == 0 && !AllChanged;

    public void AddDue(long ticks) => Due = Due is { } due ? Math.Min(due, ticks) : ticks;

    /// <summary>Adds visible-now or future work for this host's own instances.</summary>
    public void AddLocalOrchestrationWork(long visibleAt, long now)
    {
        if (visibleAt <= now)
        {
            LocalOrchestrationWork = true;
        }
        else
        {
            LocalDue = LocalDue is { } due ? Math.Min(due, visibleAt) : visibleAt;
        }
    }

    /// <summary>Announces local work too: when this host has no free slot for it, or does not dispatch at all.</summary>
    public void ShareLocalWork(bool orchestrations, bool activities)
    {
        if (orchestrations)
        {
            OrchestrationWork |= LocalOrchestrationWork;
            if (LocalDue is { } due)
            {
                AddDue(due);
            }
        }

        if (activities)
        {
            ActivityWork |= LocalActivityWork;
        }
    }

    /// <summary>Adds visible-now or future work for orchestrations.</summary>
    public void AddOrchestrationWork(long visibleAt, long now)
    {
        if (visibleAt <= now)
        {
            OrchestrationWork = true;
        }
        else
        {
            AddDue(visibleAt);
        }
    }

    /// <summary>The payloads to send: one normally, several when the changed IDs do not fit one.</summary>
    public List<string> ToPayloads(string sender)
    {
        var payloads = new List<string>();
        var ids = Changed.ToList();
        var next = 0;
        do
        {
            var buffer = new ArrayBufferWriter<byte>(512);
            using (var writer = new Utf8JsonWriter(buffer))
            {
                writer.WriteStartObject();
                writer.WriteString("s", sender);
                var flags = (OrchestrationWork ? 1 : 0) | (ActivityWork ? 2 : 0);
                if (flags != 0 && payloads.Count == 0)
                {
                    writer.WriteNumber("w", flags);
                }

                if (Due is { } due && payloads.Count == 0)
                {
                    writer.WriteNumber("d", due);
                }

                if (AllChanged)
                {
                    writer.WriteBoolean("a", true);
                }
                else if (next < ids.Count)
                {
                    writer.WriteStartArray("c");
                    while (next < ids.Count)
                    {
                        writer.WriteStringValue(ids[next++]);
                        writer.Flush();
                        if (buffer.WrittenCount > MaxPayloadBytes)
                        {
                            break;
                        }
                    }

                    writer.WriteEndArray();
                }

                writer.WriteEndObject();
            }

            payloads.Add(Encoding.UTF8.GetString(buffer.WrittenSpan));
        }
        while (!AllChanged && next < ids.Count);

        return payloads;
    }

    /// <summary>Reads a payload; null when it is not one of ours.</summary>
    public static Notice? Parse(string payload)
    {
        try
        {
            using var document = JsonDocument.Parse(payload);
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object || !root.TryGetProperty("s", out var sender) || sender.ValueKind != JsonValueKind.String)
            {
                return null;
            }

            var notice = new Notice { Sender = sender.GetString() };
            if (root.TryGetProperty("w", out var work) && work.TryGetInt32(out var flags))
            {
                notice.OrchestrationWork = (flags & 1) != 0;
                notice.ActivityWork = (flags & 2) != 0;
            }

            if (root.TryGetProperty("d", out var due) && due.TryGetInt64(out var dueTicks))
            {
                notice.AddDue(dueTicks);
            }

            if (root.TryGetProperty("a", out var all) && all.ValueKind == JsonValueKind.True)
            {
                notice.AllChanged = true;
            }

            if (root.TryGetProperty("c", out var changed) && changed.ValueKind == JsonValueKind.Array)
            {
                foreach (var id in changed.EnumerateArray())
                {
                    if (id.GetString() is { } value)
                    {
                        notice.Changed.Add(value);
                    }
                }
            }

            return notice;
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
