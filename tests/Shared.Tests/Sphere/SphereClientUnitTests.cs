using System.Reflection;
using Azure;
using Fleet.Shared.Sphere;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Fleet.Shared.Tests.Sphere;

public sealed class SphereClientUnitTests
{
    private static void ValidateAtStartup(params (string Key, string? Value)[] values)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>(v.Key, v.Value)))
            .Build();
        using var provider = new ServiceCollection().AddSphereClient(configuration).BuildServiceProvider();
        provider.GetRequiredService<IStartupValidator>().Validate();
    }

    [Fact]
    public void Default_settings_pass_validation() => ValidateAtStartup();

    [Theory]
    [InlineData("Sphere:endpoint", "http://sphere.example.com/", "Sphere__endpoint")]
    [InlineData("Sphere:scope", " ", "Sphere__scope")]
    [InlineData("Sphere:pageSize", "0", "Sphere__pageSize")]
    [InlineData("Sphere:operationPollInterval", "00:00:00", "Sphere__operationPollInterval")]
    [InlineData("Sphere:retry:maxRetries", "50", "Sphere__retry__maxRetries")]
    [InlineData("Sphere:retry:maxDelay", "00:00:00.1", "Sphere__retry__maxDelay")]
    [InlineData("Sphere:retry:maxElapsedTime", "00:00:00", "Sphere__retry__maxElapsedTime")]
    [InlineData("Sphere:rateLimiter:initialRate", "0", "Sphere__rateLimiter__initialRate")]
    [InlineData("Sphere:rateLimiter:backoffMargin", "1.5", "Sphere__rateLimiter__backoffMargin")]
    [InlineData("Sphere:credential", "certificate", "Sphere__credential")]
    [InlineData("Sphere:retry:maxRetries", "many", "Sphere__Retry__MaxRetries")]
    public void An_invalid_setting_stops_start_up_and_is_named(string key, string value, string named)
    {
        var error = Assert.Throws<OptionsValidationException>(() => ValidateAtStartup((key, value)));
        Assert.Contains(named, error.Message, StringComparison.OrdinalIgnoreCase);
    }

    [Fact]
    public void A_value_the_binder_cannot_read_is_named_but_not_echoed()
    {
        var error = Assert.Throws<OptionsValidationException>(() => ValidateAtStartup(("Sphere:retry:attemptTimeout", "s3cr3t-looking")));
        Assert.Contains("Sphere__Retry__AttemptTimeout", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("s3cr3t-looking", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_loopback_http_endpoint_is_allowed_for_the_simulator() =>
        ValidateAtStartup(("Sphere:endpoint", "http://127.0.0.1:5080/"));

    [Fact]
    public void A_client_secret_never_appears_in_validation_errors()
    {
        var error = Assert.Throws<OptionsValidationException>(() => ValidateAtStartup(
            ("Sphere:credential", "managedidentity"), ("Sphere:clientSecret", "hunter2-secret-value")));
        Assert.Contains("Sphere__clientSecret", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain("hunter2-secret-value", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_service_method_is_virtual_and_ends_with_an_optional_cancellation_token()
    {
        var methods = typeof(SphereClient)
            .GetMethods(BindingFlags.Public | BindingFlags.Instance | BindingFlags.DeclaredOnly)
            .Where(m => !m.IsSpecialName)
            .ToList();

        Assert.True(methods.Count >= 29, $"only {methods.Count} service methods");
        Assert.All(methods, m =>
        {
            Assert.True(m.IsVirtual, $"{m.Name} is not virtual");
            Assert.True(
                typeof(Task).IsAssignableFrom(m.ReturnType)
                || (m.ReturnType.IsGenericType && m.ReturnType.GetGenericTypeDefinition() == typeof(AsyncPageable<>)),
                $"{m.Name} returns {m.ReturnType}");
            var last = m.GetParameters().Last();
            Assert.Equal(typeof(CancellationToken), last.ParameterType);
            Assert.Equal("cancellationToken", last.Name);
            Assert.True(last.HasDefaultValue, $"{m.Name}'s cancellation token is not optional");
        });
        Assert.NotNull(typeof(SphereClient).GetConstructor(BindingFlags.NonPublic | BindingFlags.Instance, Type.EmptyTypes));
    }

    [Theory]
    [InlineData(OperationErrorCode.Conflict, 409)]
    [InlineData(OperationErrorCode.NotFound, 404)]
    [InlineData(OperationErrorCode.BadRequest, 400)]
    [InlineData(OperationErrorCode.Forbidden, 403)]
    [InlineData(OperationErrorCode.InternalServerError, 500)]
    [InlineData(OperationErrorCode.TenantInMigration, 0)]
    public void A_failed_operation_maps_its_error_code(OperationErrorCode code, int status)
    {
        var operation = new SphereOperation("op-1", OperationType.DeviceClaim, OperationState.Failed, null, null, null,
            null, null, new OperationError(code, "it failed"), "tenant-1");

        var error = SphereApiException.FromFailedOperation(operation);

        Assert.Equal(status, error.Status);
        Assert.Equal(code.ToString(), error.ErrorCode);
        Assert.Equal("it failed", error.Detail);
        Assert.Equal("op-1", error.OperationId);
        Assert.Equal(code == OperationErrorCode.InternalServerError, error.IsTransient);
        Assert.Contains(code.ToString(), error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Token_shaped_text_is_redacted_from_errors()
    {
        const string jwt = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJl";
        var error = new SphereApiException(401, "Bad", "Bad", $"token {jwt} rejected", "rid", $"call failed: {jwt}");

        Assert.DoesNotContain(jwt, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(jwt, error.Detail, StringComparison.Ordinal);
        Assert.Contains("[redacted]", error.Detail, StringComparison.Ordinal);
    }
}
