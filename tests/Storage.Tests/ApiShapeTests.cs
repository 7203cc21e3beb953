using System.Reflection;

namespace Fleet.Storage.Tests;

/// <summary>The clients keep the Azure SDK shape later layers and their tests rely on.</summary>
public sealed class ApiShapeTests
{
    private static readonly Type[] Clients =
    [
        typeof(QueueServiceClient), typeof(QueueClient), typeof(BlobServiceClient), typeof(BlobContainerClient),
        typeof(BlobClient), typeof(BlobLeaseClient),
    ];

    public static TheoryData<Type> ClientTypes() => [.. Clients];

    public static TheoryData<Type> ClientsWithOperations() => [.. Clients.Except([typeof(QueueServiceClient), typeof(BlobServiceClient)])];

    [Theory]
    [MemberData(nameof(ClientTypes))]
    public void Clients_have_a_protected_parameterless_constructor_for_mocking(Type client)
    {
        var constructor = client.GetConstructor(BindingFlags.Instance | BindingFlags.NonPublic, Type.EmptyTypes);
        Assert.NotNull(constructor);
        Assert.True(constructor.IsFamily);
    }

    [Theory]
    [MemberData(nameof(ClientsWithOperations))]
    public void Public_async_methods_are_virtual_and_end_with_an_optional_cancellation_token(Type client)
    {
        var methods = client.GetMethods(BindingFlags.Instance | BindingFlags.Public | BindingFlags.DeclaredOnly)
            .Where(m => !m.IsSpecialName && m.Name.EndsWith("Async", StringComparison.Ordinal))
            .ToList();
        Assert.NotEmpty(methods);
        Assert.All(methods, method =>
        {
            Assert.True(method.IsVirtual, $"{client.Name}.{method.Name} is not virtual");
            var last = method.GetParameters()[^1];
            Assert.Equal(typeof(CancellationToken), last.ParameterType);
            Assert.True(last.HasDefaultValue, $"{client.Name}.{method.Name}: the token has no default");
        });
    }

    [Fact]
    public void Mocked_clients_fail_loudly_rather_than_silently()
    {
        var mock = new MockQueueClient();
        Assert.Throws<InvalidOperationException>(() => mock.SendMessageAsync("x").GetAwaiter().GetResult());
    }

    private sealed class MockQueueClient : QueueClient
    {
    }
}
