using Microsoft.Extensions.DependencyInjection;

namespace Fleet.Durable;

/// <summary>
/// The orchestrators and activities a worker can run, by name: by type (created through DI), by delegate, or by a
/// factory — the function host adapts reflected methods through the factory overloads.
/// </summary>
public sealed class DurableTaskRegistry
{
    internal Dictionary<TaskName, Func<IServiceProvider, ITaskOrchestrator>> Orchestrators { get; } = [];

    internal Dictionary<TaskName, Func<IServiceProvider, ITaskActivity>> Activities { get; } = [];

    /// <summary>Whether an orchestrator is registered under <paramref name="name"/> (names compare case-insensitively).</summary>
    public bool ContainsOrchestrator(TaskName name) => Orchestrators.ContainsKey(name);

    /// <summary>Whether an activity is registered under <paramref name="name"/> (names compare case-insensitively).</summary>
    public bool ContainsActivity(TaskName name) => Activities.ContainsKey(name);

    /// <summary>Registers an orchestrator created per execution by <paramref name="factory"/>.</summary>
    /// <exception cref="ArgumentException">The name is already registered.</exception>
    public DurableTaskRegistry AddOrchestrator(TaskName name, Func<IServiceProvider, ITaskOrchestrator> factory)
    {
        ArgumentNullException.ThrowIfNull(factory);
        ArgumentException.ThrowIfNullOrEmpty(name.Name, nameof(name));
        if (!Orchestrators.TryAdd(name, factory))
        {
            throw new ArgumentException($"An orchestrator named '{name}' is already registered.", nameof(name));
        }

        return this;
    }

    /// <summary>Registers an orchestrator created by a parameterless factory.</summary>
    public DurableTaskRegistry AddOrchestrator(TaskName name, Func<ITaskOrchestrator> factory)
    {
        ArgumentNullException.ThrowIfNull(factory);
        return AddOrchestrator(name, _ => factory());
    }

    /// <summary>Registers an orchestrator type under <paramref name="name"/>; instances come from DI.</summary>
    public DurableTaskRegistry AddOrchestrator(TaskName name, Type type)
    {
        EnsureConcrete<ITaskOrchestrator>(type);
        var factory = ActivatorUtilities.CreateFactory(type, Type.EmptyTypes);
        return AddOrchestrator(name, sp => (ITaskOrchestrator)factory(sp, null));
    }

    /// <summary>Registers an orchestrator type under its type name (or <see cref="DurableTaskAttribute"/> name).</summary>
    public DurableTaskRegistry AddOrchestrator(Type type) => AddOrchestrator(DurableTaskAttribute.GetTaskName(type), type);

    /// <summary>Registers an orchestrator type under its type name (or <see cref="DurableTaskAttribute"/> name).</summary>
    public DurableTaskRegistry AddOrchestrator<TOrchestrator>()
        where TOrchestrator : class, ITaskOrchestrator => AddOrchestrator(typeof(TOrchestrator));

    /// <summary>Registers an orchestrator type under <paramref name="name"/>.</summary>
    public DurableTaskRegistry AddOrchestrator<TOrchestrator>(TaskName name)
        where TOrchestrator : class, ITaskOrchestrator => AddOrchestrator(name, typeof(TOrchestrator));

    /// <summary>Registers one orchestrator instance for every execution (it must hold no per-execution state).</summary>
    public DurableTaskRegistry AddOrchestrator(TaskName name, ITaskOrchestrator orchestrator)
    {
        ArgumentNullException.ThrowIfNull(orchestrator);
        return AddOrchestrator(name, _ => orchestrator);
    }

    /// <summary>Registers an orchestrator delegate.</summary>
    public DurableTaskRegistry AddOrchestratorFunc<TInput, TOutput>(TaskName name, Func<TaskOrchestrationContext, TInput, Task<TOutput>> orchestrator)
    {
        ArgumentNullException.ThrowIfNull(orchestrator);
        var wrapper = new FuncOrchestrator<TInput, TOutput>(orchestrator);
        return AddOrchestrator(name, _ => wrapper);
    }

    /// <summary>Registers a synchronous orchestrator delegate.</summary>
    public DurableTaskRegistry AddOrchestratorFunc<TInput, TOutput>(TaskName name, Func<TaskOrchestrationContext, TInput, TOutput> orchestrator)
    {
        ArgumentNullException.ThrowIfNull(orchestrator);
        return AddOrchestratorFunc<TInput, TOutput>(name, (context, input) => Task.FromResult(orchestrator(context, input)));
    }

    /// <summary>Registers an orchestrator delegate with no output.</summary>
    public DurableTaskRegistry AddOrchestratorFunc<TInput>(TaskName name, Func<TaskOrchestrationContext, TInput, Task> orchestrator)
    {
        ArgumentNullException.ThrowIfNull(orchestrator);
        return AddOrchestratorFunc<TInput, object?>(name, async (context, input) =>
        {
            await orchestrator(context, input);
            return null;
        });
    }

    /// <summary>Registers an orchestrator delegate with no input.</summary>
    public DurableTaskRegistry AddOrchestratorFunc<TOutput>(TaskName name, Func<TaskOrchestrationContext, Task<TOutput>> orchestrator)
    {
        ArgumentNullException.ThrowIfNull(orchestrator);
        return AddOrchestratorFunc<object?, TOutput>(name, (context, _) => orchestrator(context));
    }

    /// <summary>Registers an orchestrator delegate with no input and no output.</summary>
    public DurableTaskRegistry AddOrchestratorFunc(TaskName name, Func<TaskOrchestrationContext, Task> orchestrator)
    {
        ArgumentNullException.ThrowIfNull(orchestrator);
        return AddOrchestratorFunc<object?, object?>(name, async (context, _) =>
        {
            await orchestrator(context);
            return null;
        });
    }

    /// <summary>Registers an activity created per call by <paramref name="factory"/> from a DI scope.</summary>
    /// <exception cref="ArgumentException">The name is already registered.</exception>
    public DurableTaskRegistry AddActivity(TaskName name, Func<IServiceProvider, ITaskActivity> factory)
    {
        ArgumentNullException.ThrowIfNull(factory);
        ArgumentException.ThrowIfNullOrEmpty(name.Name, nameof(name));
        if (!Activities.TryAdd(name, factory))
        {
            throw new ArgumentException($"An activity named '{name}' is already registered.", nameof(name));
        }

        return this;
    }

    /// <summary>Registers an activity type under <paramref name="name"/>; instances come from a DI scope.</summary>
    public DurableTaskRegistry AddActivity(TaskName name, Type type)
    {
        EnsureConcrete<ITaskActivity>(type);
        var factory = ActivatorUtilities.CreateFactory(type, Type.EmptyTypes);
        return AddActivity(name, sp => (ITaskActivity)factory(sp, null));
    }

    /// <summary>Registers an activity type under its type name (or <see cref="DurableTaskAttribute"/> name).</summary>
    public DurableTaskRegistry AddActivity(Type type) => AddActivity(DurableTaskAttribute.GetTaskName(type), type);

    /// <summary>Registers an activity type under its type name (or <see cref="DurableTaskAttribute"/> name).</summary>
    public DurableTaskRegistry AddActivity<TActivity>()
        where TActivity : class, ITaskActivity => AddActivity(typeof(TActivity));

    /// <summary>Registers an activity type under <paramref name="name"/>.</summary>
    public DurableTaskRegistry AddActivity<TActivity>(TaskName name)
        where TActivity : class, ITaskActivity => AddActivity(name, typeof(TActivity));

    /// <summary>Registers one activity instance for every call.</summary>
    public DurableTaskRegistry AddActivity(TaskName name, ITaskActivity activity)
    {
        ArgumentNullException.ThrowIfNull(activity);
        return AddActivity(name, _ => activity);
    }

    /// <summary>Registers an activity delegate.</summary>
    public DurableTaskRegistry AddActivityFunc<TInput, TOutput>(TaskName name, Func<TaskActivityContext, TInput, Task<TOutput>> activity)
    {
        ArgumentNullException.ThrowIfNull(activity);
        var wrapper = new FuncActivity<TInput, TOutput>(activity);
        return AddActivity(name, _ => wrapper);
    }

    /// <summary>Registers a synchronous activity delegate.</summary>
    public DurableTaskRegistry AddActivityFunc<TInput, TOutput>(TaskName name, Func<TaskActivityContext, TInput, TOutput> activity)
    {
        ArgumentNullException.ThrowIfNull(activity);
        return AddActivityFunc<TInput, TOutput>(name, (context, input) => Task.FromResult(activity(context, input)));
    }

    /// <summary>Registers an activity delegate with no output.</summary>
    public DurableTaskRegistry AddActivityFunc<TInput>(TaskName name, Func<TaskActivityContext, TInput, Task> activity)
    {
        ArgumentNullException.ThrowIfNull(activity);
        return AddActivityFunc<TInput, object?>(name, async (context, input) =>
        {
            await activity(context, input).ConfigureAwait(false);
            return null;
        });
    }

    /// <summary>Registers a synchronous activity delegate with no output.</summary>
    public DurableTaskRegistry AddActivityFunc<TInput>(TaskName name, Action<TaskActivityContext, TInput> activity)
    {
        ArgumentNullException.ThrowIfNull(activity);
        return AddActivityFunc<TInput, object?>(name, (context, input) =>
        {
            activity(context, input);
            return Task.FromResult<object?>(null);
        });
    }

    /// <summary>Registers an activity delegate with no input.</summary>
    public DurableTaskRegistry AddActivityFunc<TOutput>(TaskName name, Func<TaskActivityContext, Task<TOutput>> activity)
    {
        ArgumentNullException.ThrowIfNull(activity);
        return AddActivityFunc<object?, TOutput>(name, (context, _) => activity(context));
    }

    private static void EnsureConcrete<TInterface>(Type type)
    {
        ArgumentNullException.ThrowIfNull(type);
        if (type.IsAbstract || type.IsInterface || !typeof(TInterface).IsAssignableFrom(type))
        {
            throw new ArgumentException($"Type '{type}' must be a concrete class implementing {typeof(TInterface).Name}.", nameof(type));
        }
    }

    private sealed class FuncOrchestrator<TInput, TOutput>(Func<TaskOrchestrationContext, TInput, Task<TOutput>> run)
        : TaskOrchestrator<TInput, TOutput>
    {
        public override Task<TOutput> RunAsync(TaskOrchestrationContext context, TInput input) => run(context, input);
    }

    private sealed class FuncActivity<TInput, TOutput>(Func<TaskActivityContext, TInput, Task<TOutput>> run)
        : TaskActivity<TInput, TOutput>
    {
        public override Task<TOutput> RunAsync(TaskActivityContext context, TInput input) => run(context, input);
    }
}
