using Microsoft.Extensions.Hosting;

// The plain isolated-worker start-up a new Durable Functions app gets from the templates.
var host = new HostBuilder()
    .ConfigureFunctionsWorkerDefaults()
    .Build();
await host.RunAsync();
