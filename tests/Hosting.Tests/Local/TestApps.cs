using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Fleet.Hosting.Local;
using Fleet.Hosting.Rpc.Protocol;
using Fleet.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Fleet.Hosting.Tests.Local;

/// <summary>The test apps' build output (built with this project through its project references), copied where a test may change it.</summary>
internal static class TestApps
{
    public const string MasterKey = "master-key-0123456789abcdef";
    public const string HostKey = "host-key-0123456789abcdefgh";
    public const string SecretKey = "secret-fn-key-0123456789abcdef";

    /// <summary>The app's output folder as built.</summary>
    public static string Output(string app) => RepoPaths.FunctionAppOutput("tests", "TestApps", app);

    /// <summary>A private copy of the app's output, so a test can edit host.json or local.settings.json.</summary>
    public static string Copy(string app, Action<string>? edit = null)
    {
        var target = Path.Combine(Path.GetTempPath(), "fleet-host-tests", $"{app}-{Guid.NewGuid():N}");
        var source = Output(app);
        foreach (var file in Directory.GetFiles(source, "*", SearchOption.AllDirectories))
        {
            var destination = Path.Combine(target, Path.GetRelativePath(source, file));
            Directory.CreateDirectory(Path.GetDirectoryName(destination)!);
            File.Copy(file, destination);
        }

        edit?.Invoke(target);
        return target;
    }

    /// <summary>Sets (or removes, with null) entries of local.settings.json <c>Values</c> or <c>Host</c>.</summary>
    public static void EditLocalSettings(string root, string section, IReadOnlyDictionary<string, string?> entries)
    {
        var path = Path.Combine(root, "local.settings.json");
        var json = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        var target = json[section] as JsonObject ?? [];
        json[section] = target;
        foreach (var (key, value) in entries)
        {
            if (value is null)
            {
                target.Remove(key);
            }
            else
            {
                target[key] = value;
            }
        }

        File.WriteAllText(path, json.ToJsonString());
    }

    public static void Delete(string root)
    {
        try
        {
            Directory.Delete(root, recursive: true);
        }
        catch (IOException)
        {
            // A worker that was just killed may still hold a file for a moment; the temp folder is cleaned later.
        }
    }
}

/// <summary>An output binding handler for the test app's own <c>sms</c> binding: records what the worker sent.</summary>
internal sealed class RecordingSmsHandler : IOutputBindingHandler
{
    public ConcurrentQueue<(string Function, string Binding, string To, TypedData Value)> Sent { get; } = new();

    public string BindingType => "sms";

    public Task WriteAsync(FunctionSpec function, BindingSpec binding, TypedData value, CancellationToken cancellationToken)
    {
        Sent.Enqueue((function.Name, binding.Name, binding.Raw["to"]?.GetValue<string>() ?? string.Empty, value));
        return Task.CompletedTask;
    }
}

/// <summary>One local host over a copy of a test app, for a whole test class.</summary>
public abstract class LocalHostFixture : IAsyncLifetime
{
    private readonly string _app;

    protected LocalHostFixture(string app) => _app = app;

    internal LocalFunctionsHost Host { get; private set; } = null!;

    internal LogCapture Logs { get; } = new();

    internal RecordingSmsHandler Sms { get; } = new();

    internal StringWriter Output { get; } = new();

    internal HttpClient Client { get; private set; } = null!;

    internal string Root { get; private set; } = string.Empty;

    public async Task InitializeAsync()
    {
        Root = TestApps.Copy(_app, Edit);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        Host = await LocalFunctionsHost.StartAsync(
            new LocalHostOptions
            {
                ScriptRoot = Root,
                Port = 0,
                Output = Output,
                ConsoleLogs = false,
                ConfigureLogging = l => l.AddProvider(Logs),
                ConfigureServices = s => s.AddSingleton<IOutputBindingHandler>(Sms),
            },
            timeout.Token);
        Client = new HttpClient { BaseAddress = Host.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
    }

    public async Task DisposeAsync()
    {
        Client?.Dispose();
        if (Host is not null)
        {
            await Host.StopAsync();
            await Host.DisposeAsync();
        }

        TestApps.Delete(Root);
    }

    /// <summary>Changes the copy before the host starts.</summary>
    protected virtual void Edit(string root)
    {
    }
}

/// <summary>HttpApp (built-in model) with keys and CORS configured.</summary>
public sealed class HttpAppFixture : LocalHostFixture
{
    public HttpAppFixture()
        : base("HttpApp")
    {
    }

    protected override void Edit(string root)
    {
        TestApps.EditLocalSettings(root, "Values", new Dictionary<string, string?>
        {
            ["FunctionKeys__Master"] = TestApps.MasterKey,
            ["FunctionKeys__Host"] = TestApps.HostKey,
            ["FunctionKeys__Functions__Secret"] = TestApps.SecretKey,
        });
    }
}

/// <summary>The test classes sharing one HttpApp host.</summary>
[CollectionDefinition(Name)]
public sealed class HttpAppCollection : ICollectionFixture<HttpAppFixture>
{
    public const string Name = "HttpApp host";
}

/// <summary>AspNetCoreApp (ASP.NET Core integration), route prefix v1, keys from its local.settings.json.</summary>
public sealed class AspNetCoreAppFixture : LocalHostFixture
{
    public AspNetCoreAppFixture()
        : base("AspNetCoreApp")
    {
    }
}
