using System.Collections.Concurrent;
using Microsoft.DurableTask;

namespace Fleet.SidecarTests;

/// <summary>The orchestrators and activities the conformance suite runs on the real SDK worker.</summary>
public static class SidecarOrchestrations
{
    /// <summary>Failures left per Flaky input, so a retry policy has something to retry.</summary>
    public static ConcurrentDictionary<string, int> FlakyFailures { get; } = new(StringComparer.Ordinal);

    public static void Register(DurableTaskRegistry r)
    {
        SidecarEntities.Register(r);
        SidecarRewind.Register(r);
        SidecarTags.Register(r);
        r.AddActivityFunc<string, string>("Say", (_, name) => Task.FromResult($"hi {name}"));
        r.AddActivityFunc<int, int>("Double", (_, n) => Task.FromResult(n * 2));
        r.AddActivityFunc<string, string>("Throw", (_, message) => Task.FromException<string>(new InvalidOperationException(message)));
        r.AddActivityFunc<string, string>("Flaky", (_, key) =>
            FlakyFailures.AddOrUpdate(key, -1, (_, left) => left - 1) >= 0
                ? Task.FromException<string>(new TimeoutException($"flaky {key}"))
                : Task.FromResult("recovered"));

        r.AddOrchestratorFunc<string, string>("Hello", async (ctx, name) =>
        {
            var results = new List<string>();
            foreach (var city in new[] { "Tokyo", "Seattle", name })
            {
                results.Add(await ctx.CallActivityAsync<string>("Say", city));
            }

            return string.Join(", ", results);
        });
        r.AddOrchestratorFunc<int, int>("FanOut", async (ctx, n) =>
        {
            var tasks = Enumerable.Range(1, n).Select(i => ctx.CallActivityAsync<int>("Double", i)).ToArray();
            return (await Task.WhenAll(tasks)).Sum();
        });
        r.AddOrchestratorFunc<int, string>("Timer", async (ctx, ms) =>
        {
            var start = ctx.CurrentUtcDateTime;
            await ctx.CreateTimer(TimeSpan.FromMilliseconds(ms), CancellationToken.None);
            return ctx.CurrentUtcDateTime - start >= TimeSpan.FromMilliseconds(ms) ? "fired" : "early";
        });
        r.AddOrchestratorFunc<string?, string>("WaitEvent", async (ctx, _) =>
        {
            ctx.SetCustomStatus("waiting");
            var value = await ctx.WaitForExternalEvent<string>("go");
            return $"got {value}";
        });
        r.AddOrchestratorFunc<string, string>("SendTo", (ctx, target) =>
        {
            ctx.SendEvent(target, "go", "from-orchestration");
            return Task.FromResult("sent");
        });
        r.AddOrchestratorFunc<string, string>("Parent", async (ctx, input) =>
            "parent(" + await ctx.CallSubOrchestratorAsync<string>("Hello", input) + ")");
        r.AddOrchestratorFunc<string, string>("ParentOfFailing", async (ctx, message) =>
        {
            try
            {
                await ctx.CallSubOrchestratorAsync<string>("ActivityFails", message);
                return "no failure";
            }
            catch (TaskFailedException ex)
            {
                return $"caught {ex.FailureDetails.ErrorType}: {ex.FailureDetails.InnerFailure?.ErrorMessage ?? ex.FailureDetails.ErrorMessage}";
            }
        });
        r.AddOrchestratorFunc<string, string>("ActivityFails", async (ctx, message) => await ctx.CallActivityAsync<string>("Throw", message));
        r.AddOrchestratorFunc<string, string>("Retry", async (ctx, key) =>
            await ctx.CallActivityAsync<string>("Flaky", key, TaskOptions.FromRetryPolicy(new RetryPolicy(5, TimeSpan.FromMilliseconds(50)))));
        r.AddOrchestratorFunc<int, int>("Counter", (ctx, n) =>
        {
            if (n < 3)
            {
                ctx.ContinueAsNew(n + 1);
                return Task.FromResult(-1);
            }

            return Task.FromResult(n);
        });
        r.AddOrchestratorFunc<int, string>("CounterWithEvents", async (ctx, n) =>
        {
            // The events are raised together; each execution takes one, the rest are carried over.
            var value = await ctx.WaitForExternalEvent<string>("item");
            if (n < 2)
            {
                ctx.ContinueAsNew(n + 1, preserveUnprocessedEvents: true);
                return string.Empty;
            }

            return $"{n}:{value}";
        });
        r.AddOrchestratorFunc<string?, string>("ParentWaitsForever", async (ctx, _) =>
            await ctx.CallSubOrchestratorAsync<string>("WaitEvent", null, new SubOrchestrationOptions { InstanceId = ctx.InstanceId + "-child" }));
    }
}
