using Azure.Identity;
using Fleet.Shared.IoTConnect;
using Fleet.Shared.Tests.Sphere;
using Fleet.Simulator;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Fleet.Shared.Tests.IoTConnect;

/// <summary>Settings, start-up validation, discovery and Key Vault secret references (the identity endpoint is the fixture's).</summary>
[Collection(SimulatorCollection.Name)]
public sealed class IoTConnectConfigurationTests
{
    [Fact]
    public void Invalid_settings_fail_start_up_naming_each_setting_without_its_value()
    {
        var error = Assert.Throws<OptionsValidationException>(() => Resolve(new Dictionary<string, string?>
        {
            ["IoTConnect:deviceUrl"] = "http://example.com/api/v2/",
            ["IoTConnect:environment"] = "staging",
            ["IoTConnect:password"] = "p4ssw0rd-value",
            ["IoTConnect:passwordSecretUri"] = "https://vault.example/secrets/pw",
            ["IoTConnect:pageSize"] = "5000",
            ["IoTConnect:retry:maxRetries"] = "many",
        }));

        var message = error.Message;
        foreach (var setting in new[] { "IoTConnect__deviceUrl", "IoTConnect__environment", "IoTConnect__username", "IoTConnect__password",
                     "IoTConnect__solutionKey", "IoTConnect__pageSize", "IoTConnect__retry__maxRetries" })
        {
            Assert.Contains(setting, message, StringComparison.OrdinalIgnoreCase);
        }

        Assert.DoesNotContain("p4ssw0rd-value", message, StringComparison.Ordinal);
        Assert.DoesNotContain("many", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Settings_with_discovery_give_a_working_client()
    {
        var ct = SimulatorFixture.Timeout();
        await using var host = await IoTConnectTestHost.StartAsync();
        var client = Resolve(new Dictionary<string, string?>
        {
            ["IoTConnect:discoveryUrl"] = host.Simulator.IoTConnect.Discovery.AbsoluteUri,
            ["IoTConnect:username"] = host.Contoso.Username,
            ["IoTConnect:password"] = host.Contoso.Password,
            ["IoTConnect:solutionKey"] = host.Contoso.SolutionKey,
        });

        var urls = await client.GetServiceUrlsAsync(ct);
        Assert.Equal(host.Simulator.IoTConnect.Device, urls.Device);
        Assert.Equal(host.Simulator.IoTConnect.Firmware, urls.Firmware);
        Assert.Equal(host.Contoso.Entities.Count, (await client.GetEntityTreeAsync(ct)).Entities.Count);
    }

    [Fact]
    public async Task Password_and_solution_key_can_come_from_Key_Vault_with_the_managed_identity()
    {
        var ct = SimulatorFixture.Timeout();
        await using var host = await IoTConnectTestHost.StartAsync();
        var urls = host.Simulator.IoTConnect;
        var vault = new Uri(host.Simulator.BaseAddress, "keyvault/secrets/");
        var client = Resolve(new Dictionary<string, string?>
        {
            ["IoTConnect:authUrl"] = urls.Auth.AbsoluteUri,
            ["IoTConnect:deviceUrl"] = urls.Device.AbsoluteUri,
            ["IoTConnect:userUrl"] = urls.User.AbsoluteUri,
            ["IoTConnect:firmwareUrl"] = urls.Firmware.AbsoluteUri,
            ["IoTConnect:username"] = host.Contoso.Username,
            ["IoTConnect:passwordSecretUri"] = new Uri(vault, "iotconnect-a-password").AbsoluteUri,
            ["IoTConnect:solutionKeySecretUri"] = new Uri(vault, "iotconnect-a-solution-key").AbsoluteUri,
            ["IoTConnect:credential"] = "managedidentity",
        });

        Assert.Equal(host.Contoso.SampleUniqueIds[0], (await client.GetDeviceByUniqueIdAsync(host.Contoso.SampleUniqueIds[0], ct)).UniqueId);

        var missing = new IoTConnectClient(host.Options(o =>
        {
            o.Password = null;
            o.PasswordSecretUri = new Uri(vault, "no-such-secret");
        }), new ManagedIdentityCredential(ManagedIdentityId.SystemAssigned), null, null, null);
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => missing.GetTemplatesAsync(ct).ToListAsync(ct).AsTask());
        Assert.Contains("IoTConnect__passwordSecretUri", error.Message, StringComparison.Ordinal);
        Assert.Contains("404", error.Message, StringComparison.Ordinal);
    }

    /// <summary>The client as DI builds it; resolving it validates the options (OptionsValidationException).</summary>
    private static IoTConnectClient Resolve(Dictionary<string, string?> settings)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        return new ServiceCollection().AddIoTConnect(configuration).BuildServiceProvider().GetRequiredService<IoTConnectClient>();
    }
}
