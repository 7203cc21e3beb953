namespace Fleet.Shared.IoTConnect;

/// <summary>An entity: IoTConnect's device group, a node in the solution's tree.</summary>
/// <param name="EntityGuid">Its id.</param>
/// <param name="Name">Its name (unique among its siblings).</param>
/// <param name="ParentEntityGuid">Its parent; null for the company's root entity.</param>
/// <param name="Description">Description, when the service gave one.</param>
public sealed record IoTConnectEntity(Guid EntityGuid, string Name, Guid? ParentEntityGuid, string? Description);

/// <summary>
/// A solution's entity tree, built from <c>GET Entity/lookup</c>. Paths name an entity by the names from the root
/// down, separated by '/', root included (<c>"Contoso/Production/Production East"</c>); names compare
/// case-insensitively.
/// </summary>
public sealed class IoTConnectEntityTree
{
    private readonly Dictionary<Guid, IoTConnectEntity> _byGuid;
    private readonly Dictionary<Guid, List<IoTConnectEntity>> _children;

    /// <summary>Builds the tree; exactly one entity must have no parent and every parent must be present.</summary>
    /// <exception cref="ArgumentException">The entities do not form one tree.</exception>
    public IoTConnectEntityTree(IEnumerable<IoTConnectEntity> entities)
    {
        ArgumentNullException.ThrowIfNull(entities);
        _byGuid = [];
        foreach (var entity in entities)
        {
            _byGuid[entity.EntityGuid] = entity;
        }

        var roots = _byGuid.Values.Where(e => e.ParentEntityGuid is null).ToList();
        if (roots.Count != 1)
        {
            throw new ArgumentException($"An entity tree has exactly one root entity; {roots.Count} were given.", nameof(entities));
        }

        Root = roots[0];
        _children = _byGuid.Values.Where(e => e.ParentEntityGuid is not null)
            .GroupBy(e => e.ParentEntityGuid!.Value)
            .ToDictionary(g => g.Key, g => g.OrderBy(e => e.Name, StringComparer.OrdinalIgnoreCase).ToList());
        if (_children.Keys.Where(parent => !_byGuid.ContainsKey(parent)).Select(parent => (Guid?)parent).FirstOrDefault() is { } orphanParent)
        {
            throw new ArgumentException($"Entity parent '{orphanParent}' is not in the tree.", nameof(entities));
        }

        // Every entity must reach the root: a cycle would make paths endless.
        foreach (var entity in _byGuid.Values)
        {
            if (Ancestry(entity.EntityGuid).Count() > _byGuid.Count)
            {
                throw new ArgumentException($"Entity '{entity.Name}' does not lead to the root.", nameof(entities));
            }
        }
    }

    /// <summary>The company's root entity.</summary>
    public IoTConnectEntity Root { get; }

    /// <summary>Every entity of the tree.</summary>
    public IReadOnlyCollection<IoTConnectEntity> Entities => _byGuid.Values;

    /// <summary>The entity with this id, or null.</summary>
    public IoTConnectEntity? Find(Guid entityGuid) => _byGuid.GetValueOrDefault(entityGuid);

    /// <summary>The direct children of an entity, by name.</summary>
    public IReadOnlyList<IoTConnectEntity> GetChildren(Guid entityGuid) =>
        _children.TryGetValue(entityGuid, out var children) ? children : [];

    /// <summary>The entity and everything below it (what an OTA update to the entity reaches).</summary>
    public IReadOnlyList<IoTConnectEntity> GetSubtree(Guid entityGuid)
    {
        var result = new List<IoTConnectEntity>();
        var pending = new Stack<Guid>();
        pending.Push(entityGuid);
        while (pending.TryPop(out var next))
        {
            if (_byGuid.TryGetValue(next, out var entity))
            {
                result.Add(entity);
                foreach (var child in GetChildren(next))
                {
                    pending.Push(child.EntityGuid);
                }
            }
        }

        return result;
    }

    /// <summary>True when <paramref name="entityGuid"/> is <paramref name="ancestorGuid"/> or lies below it.</summary>
    public bool IsWithin(Guid entityGuid, Guid ancestorGuid) => Ancestry(entityGuid).Any(e => e.EntityGuid == ancestorGuid);

    /// <summary>The entity's path from the root, e.g. <c>"Contoso/Production/Production East"</c>.</summary>
    /// <exception cref="KeyNotFoundException">No such entity.</exception>
    public string GetPath(Guid entityGuid)
    {
        if (!_byGuid.ContainsKey(entityGuid))
        {
            throw new KeyNotFoundException($"Entity '{entityGuid}' is not in the tree.");
        }

        return string.Join('/', Ancestry(entityGuid).Reverse().Select(e => e.Name));
    }

    /// <summary>The entity a path names (root name first; a path without it is read from the root's children), or null.</summary>
    public IoTConnectEntity? FindByPath(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        var names = path.Split('/', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (names.Length == 0)
        {
            return null;
        }

        var current = Root;
        var start = string.Equals(names[0], Root.Name, StringComparison.OrdinalIgnoreCase) ? 1 : 0;
        for (var i = start; i < names.Length; i++)
        {
            var next = GetChildren(current.EntityGuid).FirstOrDefault(c => string.Equals(c.Name, names[i], StringComparison.OrdinalIgnoreCase));
            if (next is null)
            {
                return null;
            }

            current = next;
        }

        return current;
    }

    private IEnumerable<IoTConnectEntity> Ancestry(Guid entityGuid)
    {
        var steps = 0;
        for (var current = _byGuid.GetValueOrDefault(entityGuid); current is not null && steps <= _byGuid.Count; steps++)
        {
            yield return current;
            current = current.ParentEntityGuid is { } parent ? _byGuid.GetValueOrDefault(parent) : null;
        }
    }
}
