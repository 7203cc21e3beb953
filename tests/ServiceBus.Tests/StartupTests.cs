using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Azure.Messaging.ServiceBus;
using Fleet.ServiceBus.Config;
using Fleet.Testing;

namespace Fleet.ServiceBus.Tests;

/// <summary>Starting the emulator: the command line, ports, and configurations it refuses.</summary>
public sealed class StartupTests
{
    [Fact]
    public async Task The_command_line_prints_its_connection_string_serves_it_and_stops_on_sigterm()
    {
        var ct = Timeouts.Test(60);
        var dll = Path.Combine(AppContext.BaseDirectory, "Fleet.ServiceBus.dll");
        var config = RepoPaths.Combine("src", "ServiceBus", "Config.json");
        using var process = Process.Start(new ProcessStartInfo("dotnet")
        {
            ArgumentList = { dll, "--config", config, "--port", "0", "--in-memory" },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        })!;
        try
        {
            string? connectionString = null;
            while (connectionString is null && await process.StandardOutput.ReadLineAsync(ct) is { } line)
            {
                if (line.StartsWith("SERVICEBUS_CONNECTION_STRING=", StringComparison.Ordinal))
                {
                    connectionString = line["SERVICEBUS_CONNECTION_STRING=".Length..];
                }
            }

            Assert.NotNull(connectionString);
            Assert.Matches(@"^Endpoint=sb://127\.0\.0\.1:\d+;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=SAS_KEY_VALUE;UseDevelopmentEmulator=true$", connectionString);
            await using (var client = EmulatorFixture.NewClient(connectionString))
            {
                await using var sender = client.CreateSender("provisioning-requests");
                await sender.SendMessageAsync(new ServiceBusMessage("device-1"), ct);
                await using var receiver = client.CreateReceiver("fleet-events", "all");
                Assert.Null(await receiver.ReceiveMessageAsync(Timeouts.Nothing, ct));
                await using var queue = client.CreateReceiver("provisioning-requests");
                var received = await queue.ReceiveMessageAsync(Timeouts.Message, ct);
                Assert.Equal("device-1", received.Body.ToString());
                await queue.CompleteMessageAsync(received, ct);
            }

            SendSigterm(process);
            await process.WaitForExitAsync(ct);
            Assert.Equal(0, process.ExitCode);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill();
            }
        }
    }

    [Fact]
    public async Task A_taken_port_falls_back_to_a_free_one_only_when_allowed()
    {
        using var occupant = new TcpListener(IPAddress.Loopback, 0);
        occupant.Start();
        var taken = ((IPEndPoint)occupant.LocalEndpoint).Port;
        var options = new ServiceBusEmulatorOptions { ConfigJson = EmulatorFixture.Config(), Port = taken };

        var refused = await Assert.ThrowsAsync<IOException>(() => ServiceBusEmulator.StartAsync(options));
        Assert.Contains(taken.ToString(), refused.Message);

        options.FallBackToFreePort = true;
        await using var emulator = await ServiceBusEmulator.StartAsync(options);
        Assert.NotEqual(taken, emulator.Port);
        Assert.Contains($"127.0.0.1:{emulator.Port};", emulator.ConnectionString);
    }

    [Theory]
    [InlineData("ForwardDeadLetteredMessagesTo", "\"ForwardDeadLetteredMessagesTo\": \"other\"", "auto-forwarding is not supported")]
    [InlineData("ForwardTo", "\"ForwardTo\": \"other\"", "auto-forwarding is not supported")]
    [InlineData("LockDuration", "\"LockDuration\": \"one minute\"", "not an ISO 8601 duration")]
    [InlineData("MaxDeliveryCount", "\"MaxDeliveryCount\": 0", "at least 1")]
    public async Task A_queue_setting_the_emulator_refuses_stops_start_up_naming_it(string setting, string property, string reason)
    {
        var json = $$$"""{"UserConfig":{"Namespaces":[{"Name":"ns","Queues":[{"Name":"q","Properties":{ {{{property}}} }}]}]}}""";

        var error = await Assert.ThrowsAsync<EmulatorConfigException>(() => ServiceBusEmulator.StartAsync(new ServiceBusEmulatorOptions { ConfigJson = json }));

        Assert.Contains($"UserConfig.Namespaces[0].Queues[0].Properties.{setting}", error.Message);
        Assert.Contains(reason, error.Message);
    }

    [Fact]
    public async Task RequiresSession_on_a_topic_is_refused_naming_the_setting()
    {
        var json = """{"UserConfig":{"Namespaces":[{"Name":"ns","Topics":[{"Name":"t","Properties":{"RequiresSession":true}}]}]}}""";

        var error = await Assert.ThrowsAsync<EmulatorConfigException>(() => ServiceBusEmulator.StartAsync(new ServiceBusEmulatorOptions { ConfigJson = json }));

        Assert.Contains("UserConfig.Namespaces[0].Topics[0].Properties.RequiresSession", error.Message);
        Assert.Contains("set it on the subscription", error.Message);
    }

    [Fact]
    public async Task A_sql_filter_in_the_configuration_is_refused_naming_the_rule()
    {
        var json = new TestConfig().Topic("t", TestConfig.Subscription("s", TestConfig.SqlRule("r", "region = 'eu'"))).Build();

        var error = await Assert.ThrowsAsync<EmulatorConfigException>(() => ServiceBusEmulator.StartAsync(new ServiceBusEmulatorOptions { ConfigJson = json }));

        Assert.Contains("Topics[0].Subscriptions[0].Rules[0].Properties.SqlFilter", error.Message);
        Assert.Contains("SQL filters are not supported", error.Message);
    }

    [Fact]
    public async Task Invalid_options_and_duplicate_entities_are_refused_with_their_names()
    {
        var noConfig = await Assert.ThrowsAsync<ArgumentException>(() => ServiceBusEmulator.StartAsync(new ServiceBusEmulatorOptions()));
        Assert.Contains("ConfigPath (--config)", noConfig.Message);
        var badPort = await Assert.ThrowsAsync<ArgumentException>(() => ServiceBusEmulator.StartAsync(new ServiceBusEmulatorOptions { ConfigJson = "{}", Port = 70000 }));
        Assert.Contains("Port (--port)", badPort.Message);

        var duplicate = new TestConfig().Queue("same").Topic("SAME").Build();
        var error = await Assert.ThrowsAsync<EmulatorConfigException>(() => ServiceBusEmulator.StartAsync(new ServiceBusEmulatorOptions { ConfigJson = duplicate }));
        Assert.Contains("Topics[0].Name", error.Message);
    }

    [Fact]
    public async Task The_command_line_refuses_a_missing_state_choice()
    {
        var output = new StringWriter();
        var error = new StringWriter();

        var exit = await ServiceBusCli.RunAsync(["--config", RepoPaths.Combine("src", "ServiceBus", "Config.json")], output, error);

        Assert.Equal(ServiceBusCli.InvalidOptionsExitCode, exit);
        Assert.Contains("--data DIR", error.ToString());
    }

    [System.Runtime.InteropServices.DllImport("libc", SetLastError = true)]
    private static extern int kill(int pid, int signal);

    private static void SendSigterm(Process process) => Assert.Equal(0, kill(process.Id, 15));
}
