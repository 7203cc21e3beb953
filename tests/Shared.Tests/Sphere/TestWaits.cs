namespace Fleet.Shared.Tests.Sphere;

internal static class TestWaits
{
    /// <summary>Polls <paramref name="condition"/> until it holds; throws when <paramref name="cancellationToken"/> fires.</summary>
    public static async Task UntilAsync(Func<Task<bool>> condition, CancellationToken cancellationToken)
    {
        while (!await condition())
        {
            await Task.Delay(5, cancellationToken);
        }
    }

    public static Task UntilAsync(Func<bool> condition, CancellationToken cancellationToken) =>
        UntilAsync(() => Task.FromResult(condition()), cancellationToken);
}
