using System.CommandLine;
using DurableTask.Core.Exceptions;
using Fleet.Durable;
using Fleet.Durable.Grpc;
using Fleet.Durable.Postgres;
using Fleet.Durable.Storage;
using Fleet.Durable.TestWorker;
using Grpc.Net.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.DurableTask;
using Microsoft.DurableTask.Client;
using Microsoft.DurableTask.Worker;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

// A worker process for crash and multi-host tests, as an app on the SDK runs: the sidecar backend on the store named
// by the arguments, served on a loopback port, with a standalone Microsoft.DurableTask worker and client connected to
// it. It optionally schedules N deterministic orchestrations (idempotently, so a restarted process can run the same
// command), prints progress lines (and how much work this process committed: WORK <episodes> <activities>) and, with
// --exit-when-done, exits once every scheduled instance has finished. Killing it kills the backend, the store's
// connections and the worker together, like the loss of a host.
var store = new Option<string>("--store") { Description = "Store kind: sqlite or postgres.", DefaultValueFactory = _ => "sqlite" };
var database = new Option<string>("--db") { Description = "SQLite database path, or the PostgreSQL connection string.", Required = true };
var schema = new Option<string>("--schema") { Description = "PostgreSQL schema.", DefaultValueFactory = _ => "durable" };
var lockTimeoutMs = new Option<int>("--lock-timeout-ms") { Description = "DurableTask:LockTimeout.", DefaultValueFactory = _ => 120_000 };
var reportWork = new Option<bool>("--report-work") { Description = "Print WORK <episodes> <activities> (work committed by this process) with each progress line." };
var hub = new Option<string>("--hub") { Description = "Task hub name.", DefaultValueFactory = _ => "crash" };
var schedule = new Option<int>("--schedule") { Description = "Schedule instances <prefix>0..N-1 unless they exist.", DefaultValueFactory = _ => 0 };
var prefix = new Option<string>("--prefix") { Description = "Instance ID prefix.", DefaultValueFactory = _ => "crash-" };
var expect = new Option<int>("--expect") { Description = "How many instances with the prefix to wait for.", DefaultValueFactory = _ => 0 };
var exitWhenDone = new Option<bool>("--exit-when-done") { Description = "Exit 0 once the expected instances have finished." };
var timerMs = new Option<int>("--timer-ms") { Description = "Durable timer inside each orchestration.", DefaultValueFactory = _ => 200 };
var attemptLimit = new Option<int>("--attempt-limit") { Description = "DurableTask:MessageAttemptLimit.", DefaultValueFactory = _ => 10 };
var poison = new Option<string?>("--poison") { Description = "Schedule one instance '<prefix>poison' that crashes the process: 'activity' or 'orchestrator'." };

var root = new RootCommand("Fleet durable test worker") { store, database, schema, lockTimeoutMs, reportWork, hub, schedule, prefix, expect, exitWhenDone, timerMs, attemptLimit, poison };
root.SetAction(async (parse, cancellationToken) =>
{
    var port = FreeLoopbackPort();
    var serverBuilder = WebApplication.CreateSlimBuilder();
    serverBuilder.Logging.ClearProviders();
    serverBuilder.Logging.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Warning);
    serverBuilder.WebHost.ConfigureKestrel(k => k.ListenLocalhost(port, l => l.Protocols = HttpProtocols.Http2));
    var storeKind = parse.GetValue(store)!;
    CountingStore? counting = null;
    serverBuilder.Services.AddDurableBackend(b =>
    {
        b.Configure(o =>
        {
            o.HubName = parse.GetValue(hub)!;
            o.MessageAttemptLimit = parse.GetValue(attemptLimit);
            o.PollingInterval = TimeSpan.FromMilliseconds(250);
            o.LockTimeout = TimeSpan.FromMilliseconds(parse.GetValue(lockTimeoutMs));
        });
        switch (storeKind)
        {
            case "sqlite":
                b.UseSqlite(parse.GetValue(database)!);
                break;
            case "postgres":
                b.UsePostgres(parse.GetValue(database)!, o => o.Schema = parse.GetValue(schema)!);
                break;
            default:
                throw new ArgumentException($"Unknown store '{storeKind}'.");
        }

        // Counts the work this process commits, so a multi-host test can see how work was spread.
        var inner = b.Services.Last(d => d.ServiceType == typeof(IOrchestrationStore)).ImplementationFactory!;
        b.UseStore(sp => counting = new CountingStore((IOrchestrationStore)inner(sp)));
    });
    await using var server = serverBuilder.Build();
    server.MapDurableTaskSidecar();
    await server.StartAsync(cancellationToken);

    using var channel = GrpcChannel.ForAddress($"http://localhost:{port}");
    var sdkBuilder = Host.CreateApplicationBuilder();
    sdkBuilder.Logging.ClearProviders();
    sdkBuilder.Logging.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Warning);
    sdkBuilder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(5));
    sdkBuilder.Services.AddDurableTaskWorker(b =>
    {
        b.AddTasks(r => TestOrchestrations.Register(r, TimeSpan.FromMilliseconds(parse.GetValue(timerMs))));
        b.UseGrpc(channel);
    });
    sdkBuilder.Services.AddDurableTaskClient(b => b.UseGrpc(channel));
    using var sdk = sdkBuilder.Build();
    await sdk.StartAsync(cancellationToken);
    var client = sdk.Services.GetRequiredService<DurableTaskClient>();

    var idPrefix = parse.GetValue(prefix)!;
    var count = parse.GetValue(schedule);
    for (var n = 0; n < count; n += 50)
    {
        await Task.WhenAll(Enumerable.Range(n, Math.Min(50, count - n)).Select(i => ScheduleOnceAsync(client, TestOrchestrations.Chain, i, $"{idPrefix}{i}", cancellationToken)));
    }

    switch (parse.GetValue(poison))
    {
        case "activity":
            await ScheduleOnceAsync(client, TestOrchestrations.Poison, "boom", $"{idPrefix}poison", cancellationToken);
            break;
        case "orchestrator":
            await ScheduleOnceAsync(client, TestOrchestrations.PoisonOrchestrator, "boom", $"{idPrefix}poison", cancellationToken);
            break;
        case null:
            break;
        default:
            throw new ArgumentException("--poison takes 'activity' or 'orchestrator'.");
    }

    if (counting?.Inner is PostgresOrchestrationStore postgres)
    {
        // Which locks in the database are this process's (lock_owner), for tests that look at them.
        Console.WriteLine($"HOST {postgres.HostId}");
    }

    Console.WriteLine("READY");
    var expected = parse.GetValue(expect);
    while (!cancellationToken.IsCancellationRequested)
    {
        // Top-level instances only: the children carry the "-child" suffix.
        var finished = 0;
        await foreach (var instance in client.GetAllInstancesAsync(new OrchestrationQuery(
            InstanceIdPrefix: idPrefix,
            Statuses: [OrchestrationRuntimeStatus.Completed, OrchestrationRuntimeStatus.Failed, OrchestrationRuntimeStatus.Terminated],
            PageSize: 1000)))
        {
            if (!instance.InstanceId.EndsWith("-child", StringComparison.Ordinal))
            {
                finished++;
            }
        }

        if (parse.GetValue(reportWork) && counting is not null)
        {
            Console.WriteLine($"WORK {counting.Episodes} {counting.Activities}");
        }

        Console.WriteLine($"PROGRESS {finished}");
        if (parse.GetValue(exitWhenDone) && expected > 0 && finished >= expected)
        {
            Console.WriteLine("DONE");
            break;
        }

        try
        {
            await Task.Delay(200, cancellationToken);
        }
        catch (OperationCanceledException)
        {
            break;
        }
    }

    await sdk.StopAsync(CancellationToken.None);
    await server.StopAsync(CancellationToken.None);
    return 0;
});

return await root.Parse(args).InvokeAsync();

// Schedules an instance unless one with the ID exists in any state: a restarted run must neither restart finished
// instances (a start with a finished instance's ID replaces it) nor fail on running ones.
static async Task ScheduleOnceAsync(DurableTaskClient client, string name, object input, string instanceId, CancellationToken cancellationToken)
{
    if (await client.GetInstanceAsync(instanceId, cancellation: cancellationToken) is not null)
    {
        return;
    }

    try
    {
        await client.ScheduleNewOrchestrationInstanceAsync(name, input, new StartOrchestrationOptions(instanceId), cancellationToken);
    }
    catch (OrchestrationAlreadyExistsException)
    {
        // Another worker scheduled it meanwhile.
    }
}

// The OS picks a free port; another process may take it before Kestrel binds, which fails start-up loudly.
static int FreeLoopbackPort()
{
    using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
    listener.Start();
    return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
}
