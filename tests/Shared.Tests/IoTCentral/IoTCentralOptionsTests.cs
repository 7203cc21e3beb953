using Fleet.Shared.IoTCentral;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Fleet.Shared.Tests.IoTCentral;

public sealed class IoTCentralOptionsTests
{
    private const string Token = "SharedAccessSignature sr=6f1c&sig=c2VjcmV0LXNpZ25hdHVyZQ%3D%3D&skn=ops&se=4102444800000";

    private static ServiceProvider Build(params (string Key, string? Value)[] values)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>(v.Key, v.Value)))
            .Build();
        return new ServiceCollection().AddIoTCentral(configuration).BuildServiceProvider();
    }

    private static void ValidateAtStartup(params (string Key, string? Value)[] values)
    {
        using var provider = Build(values);
        provider.GetRequiredService<IStartupValidator>().Validate();
    }

    [Fact]
    public void A_subdomain_or_an_endpoint_with_an_identity_or_a_token_passes()
    {
        ValidateAtStartup(("IoTCentral:appSubdomain", "contoso-fleet"));
        ValidateAtStartup(("IoTCentral:endpoint", "http://127.0.0.1:5080/iotc/contoso/api/"), ("IoTCentral:apiToken", Token));
        ValidateAtStartup(("IoTCentral:appSubdomain", "contoso"), ("IoTCentral:credential", "managedidentity"));
    }

    [Theory]
    [InlineData("IoTCentral:appSubdomain", null, "IoTCentral__appSubdomain")]
    [InlineData("IoTCentral:appSubdomain", "contoso.fleet", "IoTCentral__appSubdomain")]
    [InlineData("IoTCentral:endpoint", "http://contoso.azureiotcentral.com/api/", "IoTCentral__endpoint")]
    [InlineData("IoTCentral:pageSize", "500", "IoTCentral__pageSize")]
    [InlineData("IoTCentral:jobPollInterval", "00:00:00", "IoTCentral__jobPollInterval")]
    [InlineData("IoTCentral:retry:maxRetries", "50", "IoTCentral__retry__maxRetries")]
    [InlineData("IoTCentral:rateLimiter:initialRate", "0", "IoTCentral__rateLimiter__initialRate")]
    [InlineData("IoTCentral:apiTokenFile", "/nonexistent/iotc-token", "IoTCentral__apiTokenFile")]
    [InlineData("IoTCentral:credential", "certificate", "IoTCentral__credential")]
    [InlineData("IoTCentral:retry:maxRetries", "many", "IoTCentral__Retry__MaxRetries")]
    public void An_invalid_setting_stops_start_up_and_is_named(string key, string? value, string named)
    {
        var settings = new List<(string, string?)> { (key, value) };
        if (key != "IoTCentral:appSubdomain" && key != "IoTCentral:endpoint")
        {
            settings.Add(("IoTCentral:appSubdomain", "contoso"));
        }

        var error = Assert.Throws<OptionsValidationException>(() => ValidateAtStartup([.. settings]));
        Assert.Contains(named, error.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Theory]
    [InlineData("Bearer eyJhbGciOi.eyJvaWQiOi.c2ln")]
    [InlineData("SharedAccessSignature sr=6f1c&sig=c2VjcmV0&skn=ops")]
    public void A_bad_api_token_is_named_but_never_echoed(string token)
    {
        var error = Assert.Throws<OptionsValidationException>(() =>
            ValidateAtStartup(("IoTCentral:appSubdomain", "contoso"), ("IoTCentral:apiToken", token)));

        Assert.Contains("IoTCentral__apiToken", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(token, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("c2VjcmV0", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Two_kinds_of_authentication_or_two_applications_contradict_each_other()
    {
        var both = Assert.Throws<OptionsValidationException>(() => ValidateAtStartup(
            ("IoTCentral:appSubdomain", "contoso"), ("IoTCentral:apiToken", Token), ("IoTCentral:clientSecret", "hunter2-secret")));
        var apps = Assert.Throws<OptionsValidationException>(() => ValidateAtStartup(
            ("IoTCentral:appSubdomain", "contoso"), ("IoTCentral:endpoint", "https://contoso.azureiotcentral.com/api/")));

        Assert.Contains("IoTCentral__apiToken", both.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2-secret", both.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("c2VjcmV0", both.Message, StringComparison.Ordinal);
        Assert.Contains("IoTCentral__endpoint", apps.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_registered_client_calls_the_subdomain_with_the_settings_kind_of_authentication()
    {
        using var subdomain = Build(("IoTCentral:appSubdomain", "contoso-fleet"), ("IoTCentral:credential", "managedidentity"));
        using var token = Build(("IoTCentral:endpoint", "http://127.0.0.1:5080/iotc/contoso/api"), ("IoTCentral:apiToken", Token));

        var bearer = subdomain.GetRequiredService<IoTCentralClient>();
        var sas = token.GetRequiredKeyedService<IoTCentralClient>("IoTCentral");

        Assert.Equal(new Uri("https://contoso-fleet.azureiotcentral.com/api/"), bearer.Endpoint);
        Assert.False(bearer.UsesApiToken);
        Assert.Equal(new Uri("http://127.0.0.1:5080/iotc/contoso/api/"), sas.Endpoint);
        Assert.True(sas.UsesApiToken);
        Assert.Equal(new DateTimeOffset(2100, 1, 1, 0, 0, 0, TimeSpan.Zero), sas.ApiTokenExpiresOn);
    }

    [Fact]
    public void Every_service_method_is_virtual_and_ends_with_an_optional_cancellation_token()
    {
        var methods = typeof(IoTCentralClient)
            .GetMethods(System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.DeclaredOnly)
            .Where(m => !m.IsSpecialName)
            .ToList();

        Assert.True(methods.Count >= 28, $"only {methods.Count} service methods");
        Assert.All(methods, m =>
        {
            Assert.True(m.IsVirtual, $"{m.Name} is not virtual");
            var last = m.GetParameters().Last();
            Assert.Equal(typeof(CancellationToken), last.ParameterType);
            Assert.True(last.HasDefaultValue, $"{m.Name}'s token has no default");
        });
    }
}
