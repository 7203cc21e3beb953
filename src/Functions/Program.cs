using Azure.Core.Serialization;
using Fleet.Functions;
using Fleet.Functions.Http;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

// The fleet automation app as an Azure Functions isolated worker: the Functions host (in Azure, or ./host locally)
// starts this process and hands it its settings as environment variables (see docs/functions.md).
var builder = FunctionsApplication.CreateBuilder(args);
builder.Services.AddFleetServices(builder.Configuration);

// Orchestration inputs, outputs and custom status are stored in camelCase, as the app's HTTP API writes JSON: the
// Durable extension serializes them with the worker's serializer, and the management API shows them as stored.
builder.Services.Configure<WorkerOptions>(o => o.Serializer = new JsonObjectSerializer(HttpJson.Options));
await builder.Build().RunAsync();
