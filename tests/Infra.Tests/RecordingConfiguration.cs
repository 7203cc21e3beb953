using System.Collections.Concurrent;
using Microsoft.Extensions.Configuration;

namespace Fleet.Infra.Tests;

/// <summary>
/// A configuration source with no values that records what the app looks up: the sections whose children it lists
/// (every <c>Bind</c> does) and the keys whose values it reads. Added last, so every lookup of the app reaches it.
/// </summary>
internal sealed class RecordingConfiguration : IConfigurationSource
{
    private readonly ConcurrentQueue<string> _sections = new();
    private readonly ConcurrentQueue<string> _keys = new();

    /// <summary>Sections whose children were listed, in order.</summary>
    public IReadOnlyList<string> Sections => [.. _sections];

    /// <summary>Keys whose values were read, in order.</summary>
    public IReadOnlyList<string> Keys => [.. _keys];

    /// <inheritdoc />
    public IConfigurationProvider Build(IConfigurationBuilder builder) => new Provider(this);

    /// <summary>Forgets what was recorded.</summary>
    public void Clear()
    {
        _sections.Clear();
        _keys.Clear();
    }

    private sealed class Provider(RecordingConfiguration owner) : ConfigurationProvider
    {
        public override bool TryGet(string key, out string? value)
        {
            owner._keys.Enqueue(key);
            value = null;
            return false;
        }

        public override IEnumerable<string> GetChildKeys(IEnumerable<string> earlierKeys, string? parentPath)
        {
            if (parentPath is not null)
            {
                owner._sections.Enqueue(parentPath);
            }

            return earlierKeys;
        }
    }
}
