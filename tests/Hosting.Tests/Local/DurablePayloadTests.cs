using Fleet.Hosting.Local;
using Fleet.Hosting.Local.Durable;
using Fleet.Hosting.Rpc.Protocol;

namespace Fleet.Hosting.Tests.Local;

/// <summary>The Functions-path payload rules in isolation: activity input and output, failure details from the worker.</summary>
public sealed class DurablePayloadTests
{
    [Theory]
    [InlineData("[\"x\"]", "\"x\"")]
    [InlineData("[5]", "5")]
    [InlineData("[[1,2]]", "[1,2]")]
    [InlineData("[null]", "null")]
    [InlineData(null, null)]
    public void Activity_input_is_the_single_element_of_the_scheduled_array(string? scheduled, string? expected) =>
        Assert.Equal(expected, ActivityPayload.UnwrapInput(scheduled));

    [Theory]
    [InlineData("\"x\"", "JSON string")]
    [InlineData("[1,2]", "2 elements")]
    [InlineData("{", "not JSON")]
    public void Activity_input_that_is_no_one_element_array_is_refused_saying_what_it_is(string scheduled, string said) =>
        Assert.Contains(said, Assert.Throws<FormatException>(() => ActivityPayload.UnwrapInput(scheduled)).Message, StringComparison.Ordinal);

    [Fact]
    public void Activity_output_is_json_serialized_from_the_raw_return_value()
    {
        Assert.Equal("\"hi x\"", ActivityPayload.SerializeOutput(new TypedData { String = "hi x" }));
        Assert.Equal("{\"a\":1}", ActivityPayload.SerializeOutput(new TypedData { Json = "{\"a\":1}" }));
        Assert.Equal("42", ActivityPayload.SerializeOutput(new TypedData { Int = 42 }));
        Assert.Null(ActivityPayload.SerializeOutput(new TypedData()));
        Assert.Null(ActivityPayload.SerializeOutput(null));
    }

    [Fact]
    public void A_durable_failure_message_in_json_becomes_the_failure_details()
    {
        var json = """{"errorType":"System.ArgumentException","errorMessage":"bad","stackTrace":"at X","innerFailure":{"errorType":"System.IO.IOException","errorMessage":"disk"}}""";
        var details = DurableFailures.FromInvocation(new InvocationOutcome(false, null, new RpcException { Message = json, Type = "Microsoft.Azure.Functions.Worker.Extensions.DurableTask.Exceptions.DurableSerializationException" }), "F");
        Assert.Equal("System.ArgumentException", details.ErrorType);
        Assert.Equal("bad", details.ErrorMessage);
        Assert.Equal("at X", details.StackTrace);
        Assert.Equal("System.IO.IOException", details.InnerFailure.ErrorType);
    }

    [Fact]
    public void Any_other_worker_failure_keeps_its_type_and_first_message_line()
    {
        var details = DurableFailures.FromInvocation(
            new InvocationOutcome(false, null, new RpcException { Message = "System.InvalidOperationException: no history\n   at Y", Type = "System.InvalidOperationException", StackTrace = "at Y" }), "F");
        Assert.Equal("System.InvalidOperationException", details.ErrorType);
        Assert.Equal("no history", details.ErrorMessage);
        Assert.Equal("at Y", details.StackTrace);
    }
}
