using System.CommandLine;
using System.Runtime.InteropServices;
using Fleet.Demo;

// The ./run demo (docs/functions.md, "The demo"): Azurite, the fleet simulator and the function host as processes,
// demo provisioning requests and a remediating sweep, live progress; Ctrl+C or SIGTERM stops everything, exit code 0.
var duration = new Option<int>("--duration") { Description = "Stop after this many seconds (0: run until Ctrl+C or SIGTERM)." };
var exitWhenDone = new Option<bool>("--exit-when-done") { Description = "Stop once every provisioning and the sweep have finished (exit code 1 if any failed)." };
var devices = new Option<int>("--devices") { Description = "Size of the simulated fleet.", DefaultValueFactory = _ => 1000 };
var requests = new Option<int>("--requests") { Description = "Provisioning requests to enqueue (for the fleet's unclaimed devices).", DefaultValueFactory = _ => 40 };
var rateLimit = new Option<double>("--rate-limit") { Description = "The simulator's requests per second per tenant (low, so some 429s happen).", DefaultValueFactory = _ => 20 };
var faultRate = new Option<double>("--fault-rate") { Description = "Share (0-1) of API requests the simulator answers 500/503.", DefaultValueFactory = _ => 0.02 };
var seed = new Option<int>("--seed") { Description = "Seed of the simulated fleet.", DefaultValueFactory = _ => 1 };
var root = new RootCommand("The fleet automation demo: Azurite, the fleet simulator and the function host, with live progress.")
{
    duration, exitWhenDone, devices, requests, rateLimit, faultRate, seed,
};
root.SetAction(async (parse, _) =>
{
    if (parse.GetValue(duration) < 0 || parse.GetValue(devices) is < 10 or > 1_000_000 || parse.GetValue(requests) < 1
        || parse.GetValue(rateLimit) < 0 || parse.GetValue(faultRate) is < 0 or > 1)
    {
        await Console.Error.WriteLineAsync("--duration must be >= 0, --devices 10-1000000, --requests >= 1, --rate-limit >= 0 and --fault-rate 0-1.");
        return 2;
    }

    var options = new DemoOptions(
        parse.GetValue(duration) is > 0 and var seconds ? TimeSpan.FromSeconds(seconds) : null,
        parse.GetValue(exitWhenDone), parse.GetValue(devices), parse.GetValue(requests),
        parse.GetValue(rateLimit), parse.GetValue(faultRate), parse.GetValue(seed));

    // Ctrl+C, SIGTERM and a closed terminal stop the demo the same way: the children are stopped in order, exit 0.
    using var stop = new CancellationTokenSource();
    void OnSignal(PosixSignalContext context)
    {
        context.Cancel = true;
        if (!stop.IsCancellationRequested)
        {
            Console.Out.WriteLine($"{context.Signal} received.");
            stop.Cancel();
        }
    }

    using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
    using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
    using var sighup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, OnSignal);
    return await new DemoRun(options, Console.Out).RunAsync(stop.Token);
});

// The demo handles termination signals itself (above): System.CommandLine's own handling would end the process
// before the children are stopped.
return await root.Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null });
