using System.ComponentModel;
using System.Reflection;
using Fleet.Functions;
using Fleet.Testing;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.FileProviders;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Hosting.Internal;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Fleet.Infra.Tests;

/// <summary>
/// The app composed as it would start in Azure with a given set of app settings: its services registered by its own
/// composition root over a configuration of exactly those settings (plus the app's own defaults), every configuration
/// lookup recorded. Nothing is started: options are bound and validated, services constructed.
/// </summary>
internal sealed class ComposedApp : IDisposable
{
    // Assemblies whose options have no meaning in Azure, with the reason. Everything else under Fleet.* counts.
    private static readonly Dictionary<string, string> LocalOnlyAssemblies = new(StringComparer.Ordinal)
    {
        // The project's local Functions host (what `func start` is for Core Tools users): in Azure the platform's
        // Functions host runs the app and reads host.json and its own platform settings.
        ["Fleet.Hosting"] = "the local Functions host",

        // The local durable store (SQLite/PostgreSQL): in Azure the Durable extension's Azure Storage provider keeps
        // the task hub, configured by the AzureFunctionsJobHost__extensions__durableTask__* settings.
        ["Fleet.Durable"] = "the local durable store",
    };

    private readonly string _folder;

    private ComposedApp(IReadOnlyDictionary<string, string?> settings)
    {
        _folder = Directory.CreateTempSubdirectory("fleet-infra-app-").FullName;
        Recorder = new RecordingConfiguration();

        // The app's composition root, as Program.cs calls it on the worker's builder: the one place here that knows
        // how the app registers its services. Everything below is found by reflection over what it registered. The
        // configuration holds exactly the deployed settings: the environment of the test process fills no gap.
        var configuration = new ConfigurationManager();
        configuration.AddInMemoryCollection(settings);
        configuration.Sources.Add(Recorder);
        Services = new ServiceCollection();
        Services.AddLogging();
        Services.AddSingleton<IConfiguration>(configuration);
        Services.AddSingleton<IHostEnvironment>(new HostingEnvironment
        {
            ApplicationName = AppAssembly.GetName().Name!,
            EnvironmentName = Environments.Production,
            ContentRootPath = _folder,
            ContentRootFileProvider = new PhysicalFileProvider(_folder),
        });
        Services.AddFleetServices(configuration);
        Provider = Services.BuildServiceProvider();
    }

    /// <summary>The app's assembly (its functions and options).</summary>
    public static Assembly AppAssembly => typeof(FleetApp).Assembly;

    /// <summary>What the app looked up in its configuration.</summary>
    public RecordingConfiguration Recorder { get; }

    /// <summary>The registered services.</summary>
    public IServiceCollection Services { get; }

    /// <summary>The container built from them.</summary>
    public ServiceProvider Provider { get; }

    /// <summary>Composes the app over <paramref name="settings"/> (configuration keys, <c>:</c> separated).</summary>
    public static ComposedApp Compose(IReadOnlyDictionary<string, string?> settings) => new(settings);

    /// <summary>Whether <paramref name="type"/> is the app's (a Fleet assembly that matters in Azure).</summary>
    public static bool IsAppType(Type type)
    {
        ArgumentNullException.ThrowIfNull(type);
        var assembly = type.Assembly.GetName().Name ?? string.Empty;
        return assembly.StartsWith("Fleet.", StringComparison.Ordinal) && !LocalOnlyAssemblies.ContainsKey(assembly);
    }

    /// <summary>
    /// Every options type of the app bound from configuration, found from the registrations (each
    /// <c>IConfigureOptions&lt;T&gt;</c>, named or not), with the section it binds, learnt by binding it while recording:
    /// the shortest section whose children the binding listed. Binding runs the type's start-up validators too; a
    /// failure is kept, not thrown.
    /// </summary>
    public IReadOnlyList<BoundOptions> BindOptions()
    {
        var registrations = Services
            .Where(d => d.ServiceType.IsGenericType && d.ServiceType.GetGenericTypeDefinition() == typeof(IConfigureOptions<>))
            .Select(d => (Type: d.ServiceType.GetGenericArguments()[0], Name: RegistrationName(d)))
            .Where(r => IsAppType(r.Type))
            .Distinct()
            .ToList();

        var bound = new List<BoundOptions>();
        foreach (var (type, name) in registrations)
        {
            Recorder.Clear();
            string? failure = null;
            try
            {
                var monitorType = typeof(IOptionsMonitor<>).MakeGenericType(type);
                monitorType.GetMethod(nameof(IOptionsMonitor<object>.Get))!.Invoke(Provider.GetRequiredService(monitorType), [name]);
            }
            catch (TargetInvocationException ex) when (ex.InnerException is OptionsValidationException invalid)
            {
                failure = invalid.Message;
            }

            var section = Recorder.Sections.OrderBy(s => s.Length).FirstOrDefault();
            bound.Add(new BoundOptions(type, name, section, [.. Members(type, string.Empty, 0)], failure));
        }

        return bound;
    }

    /// <summary>
    /// Constructs every service the app registered itself (types of its assemblies, keyed or not), as the first
    /// function invocation would; returns the failures (service and message).
    /// </summary>
    public IReadOnlyList<string> ConstructServices()
    {
        var failures = new List<string>();
        foreach (var descriptor in Services.Where(d => IsAppType(d.ServiceType) && !d.ServiceType.ContainsGenericParameters))
        {
            try
            {
                _ = descriptor.IsKeyedService
                    ? Provider.GetRequiredKeyedService(descriptor.ServiceType, descriptor.ServiceKey)
                    : Provider.GetRequiredService(descriptor.ServiceType);
            }
            catch (Exception ex) when (ex is InvalidOperationException or OptionsValidationException or ArgumentException)
            {
                failures.Add($"{descriptor.ServiceType.FullName}: {ex.Message}");
            }
        }

        return failures;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        Provider.Dispose();
        Directory.Delete(_folder, recursive: true);
    }

    private static string RegistrationName(ServiceDescriptor descriptor) =>
        descriptor.IsKeyedService ? Options.DefaultName
        : descriptor.ImplementationInstance?.GetType().GetProperty("Name")?.GetValue(descriptor.ImplementationInstance) as string
          ?? Options.DefaultName;

    /// <summary>
    /// The setting paths of <paramref name="type"/> the configuration binder fills: settable properties of types it
    /// converts from text, the members of nested option objects, and anything under a collection (<c>Path:*</c>).
    /// </summary>
    private static IEnumerable<string> Members(Type type, string prefix, int depth)
    {
        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (property.GetIndexParameters().Length > 0 || property.GetMethod is not { IsPublic: true })
            {
                continue;
            }

            var propertyType = Nullable.GetUnderlyingType(property.PropertyType) ?? property.PropertyType;
            var path = prefix + property.Name;
            if (propertyType != typeof(string) && typeof(System.Collections.IEnumerable).IsAssignableFrom(propertyType))
            {
                yield return path + ":*";
            }
            else if (TypeDescriptor.GetConverter(propertyType).CanConvertFrom(typeof(string)))
            {
                if (property.SetMethod is { IsPublic: true })
                {
                    yield return path;
                }
            }
            else if (propertyType.IsClass && !propertyType.IsAbstract && depth < 5)
            {
                foreach (var member in Members(propertyType, path + ":", depth + 1))
                {
                    yield return member;
                }
            }
        }
    }
}

/// <summary>An options type of the app and where its settings come from.</summary>
/// <param name="Type">The options type.</param>
/// <param name="Name">The options name (<c>""</c> for unnamed options).</param>
/// <param name="Section">The configuration section it binds, or null when it is not bound from configuration.</param>
/// <param name="Members">Its setting paths under the section (<c>Retry:MaxRetries</c>, <c>Items:*</c>).</param>
/// <param name="ValidationFailure">Why start-up validation rejected the bound value, or null.</param>
internal sealed record BoundOptions(Type Type, string Name, string? Section, IReadOnlyList<string> Members, string? ValidationFailure)
{
    /// <summary>Whether <paramref name="path"/> (under the section) is a member the binder fills.</summary>
    public bool HasMember(string path) => Members.Any(m =>
        m.EndsWith(":*", StringComparison.Ordinal)
            ? path.StartsWith(m[..^1], StringComparison.OrdinalIgnoreCase)
            : string.Equals(m, path, StringComparison.OrdinalIgnoreCase));
}
