using System.Collections.Concurrent;

namespace Fleet.Hosting.Local.Durable;

/// <summary>The kinds of Durable functions.</summary>
internal enum DurableFunctionKind
{
    Orchestrator,
    Activity,
    Entity,
}

/// <summary>
/// The Durable functions the worker announced, by kind and by the name the Durable Task runtime uses for them: the
/// trigger's <c>orchestration</c> / <c>activity</c> / <c>entityName</c> setting when given, else the function name
/// (case-insensitive, as the Durable extension matches them).
/// </summary>
internal sealed class DurableFunctionCatalog
{
    private readonly ConcurrentDictionary<(DurableFunctionKind, string), FunctionSpec> _functions = new(KeyComparer.Instance);
    private int _created;
    private int _started;

    /// <summary>The name the runtime knows the function by.</summary>
    public static string TaskName(FunctionSpec function, DurableFunctionKind kind)
    {
        var setting = kind switch
        {
            DurableFunctionKind.Orchestrator => "orchestration",
            DurableFunctionKind.Activity => "activity",
            _ => "entityName",
        };
        return function.Trigger.Raw[setting]?.GetValue<string>() is { Length: > 0 } name ? name : function.Name;
    }

    /// <summary>Adds a function; false when another function of the kind already has its name.</summary>
    public bool TryAdd(DurableFunctionKind kind, FunctionSpec function, out string name)
    {
        name = TaskName(function, kind);
        if (!_functions.TryAdd((kind, name), function))
        {
            return false;
        }

        Interlocked.Increment(ref _created);
        return true;
    }

    /// <summary>Notes that a function's listener started; true once every added function's listener has.</summary>
    public bool MarkStarted() => Interlocked.Increment(ref _started) >= Volatile.Read(ref _created);

    /// <summary>The function of <paramref name="kind"/> named <paramref name="name"/>, if the worker has one.</summary>
    public bool TryGet(DurableFunctionKind kind, string name, out FunctionSpec function) =>
        _functions.TryGetValue((kind, name), out function!);

    /// <summary>The names of the functions of a kind, sorted, for error messages.</summary>
    public IReadOnlyList<string> Names(DurableFunctionKind kind) =>
        [.. _functions.Keys.Where(k => k.Item1 == kind).Select(k => k.Item2).Order(StringComparer.OrdinalIgnoreCase)];

    /// <summary>How many functions of a kind there are.</summary>
    public int Count(DurableFunctionKind kind) => _functions.Keys.Count(k => k.Item1 == kind);

    /// <summary>The Durable extension's message for a name that is no function of the kind.</summary>
    public string NotFoundMessage(DurableFunctionKind kind, string name)
    {
        var kindName = kind switch
        {
            DurableFunctionKind.Orchestrator => "orchestrator",
            DurableFunctionKind.Activity => "activity",
            _ => "entity",
        };
        var known = Names(kind);
        var list = known.Count == 0 ? "none" : string.Join(", ", known.Select(n => $"'{n}'"));
        return $"The function '{name}' doesn't exist, is disabled, or is not an {kindName} function. The app's {kindName} functions: {list}.";
    }

    private sealed class KeyComparer : IEqualityComparer<(DurableFunctionKind Kind, string Name)>
    {
        public static readonly KeyComparer Instance = new();

        public bool Equals((DurableFunctionKind Kind, string Name) x, (DurableFunctionKind Kind, string Name) y) =>
            x.Kind == y.Kind && string.Equals(x.Name, y.Name, StringComparison.OrdinalIgnoreCase);

        public int GetHashCode((DurableFunctionKind Kind, string Name) obj) =>
            HashCode.Combine(obj.Kind, StringComparer.OrdinalIgnoreCase.GetHashCode(obj.Name));
    }
}
