namespace Fleet.Simulator.Tests.IoTConnect;

public sealed class IoTConnectCliTests
{
    [Fact]
    public void The_IoTConnect_options_are_parsed_into_simulator_options()
    {
        var (options, errors) = SimulatorCli.Parse([
            "--iotconnect-rate-limit", "50", "--iotconnect-token-lifetime", "00:10:00", "--iotconnect-ota-delay-ms", "30000",
            "--iotconnect-ota-failure-rate", "0.1",
        ]);

        Assert.Empty(errors);
        var iotConnect = options!.IoTConnect;
        Assert.Equal((50.0, TimeSpan.FromMinutes(10), 30000, 0.1), (iotConnect.RateLimit, iotConnect.AccessTokenLifetime, iotConnect.OtaDelayMs, iotConnect.OtaFailureRate));

        var (defaults, _) = SimulatorCli.Parse([]);
        Assert.Equal((0.0, TimeSpan.FromHours(24)), (defaults!.IoTConnect.RateLimit, defaults.IoTConnect.AccessTokenLifetime));
    }

    [Theory]
    [InlineData("--iotconnect-rate-limit -1", "--iotconnect-rate-limit")]
    [InlineData("--iotconnect-token-lifetime later", "--iotconnect-token-lifetime")]
    [InlineData("--iotconnect-ota-failure-rate 1.5", "--iotconnect-ota-failure-rate")]
    public void Invalid_values_name_the_option(string commandLine, string mentioned)
    {
        var (options, errors) = SimulatorCli.Parse(commandLine.Split(' '));

        Assert.Null(options);
        Assert.Contains(errors, e => e.Contains(mentioned, StringComparison.Ordinal));
    }
}
