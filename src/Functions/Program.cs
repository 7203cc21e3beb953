using Fleet.Functions;
using Microsoft.Azure.Functions.Worker.Builder;
using Microsoft.Extensions.Hosting;

// The fleet automation app as an Azure Functions isolated worker: the Functions host (in Azure, or ./host locally)
// starts this process and hands it its settings as environment variables (see docs/functions.md).
var builder = FunctionsApplication.CreateBuilder(args);
builder.Services.AddFleetServices(builder.Configuration);
await builder.Build().RunAsync();
