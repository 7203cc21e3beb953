namespace Fleet.Simulator.Api;

/// <summary>A synchronous API failure, turned into a one-element <c>PublicApiErrorDetails</c> array.</summary>
internal sealed record ApiError(int Status, string ErrorCode, string Title, string Detail)
{
    public static ApiError BadRequest(string code, string detail) => new(400, code, "Bad Request", detail);

    public static ApiError NotFound(string code, string detail) => new(404, code, "Not Found", detail);

    public static ApiError Conflict(string code, string detail) => new(409, code, "Conflict", detail);
}

/// <summary>What a fleet call produced: a status with a body, or an error.</summary>
internal sealed record ApiResult(int Status, object? Body, ApiError? Error)
{
    public static ApiResult Ok(object body) => new(200, body, null);

    public static ApiResult Accepted(object body) => new(202, body, null);

    public static ApiResult Fail(ApiError error) => new(error.Status, null, error);

    public static implicit operator ApiResult(ApiError error) => Fail(error);
}

/// <summary>Standard error codes and texts of the simulator (see docs/simulator.md for the list).</summary>
internal static class Errors
{
    public static ApiError TenantNotFound(Guid id) => ApiError.NotFound("TenantNotFound", $"Tenant '{id}' does not exist.");

    public static ApiError ProductNotFound(Guid id) => ApiError.NotFound("ProductNotFound", $"Product '{id}' does not exist in this tenant.");

    public static ApiError DeviceGroupNotFound(Guid id) => ApiError.NotFound("DeviceGroupNotFound", $"Device group '{id}' does not exist in this tenant.");

    public static ApiError DeviceNotFound(string id) => ApiError.NotFound("DeviceNotFound", $"Device '{Short(id)}' was not found in this tenant.");

    public static ApiError ImageNotFound(Guid id) => ApiError.NotFound("ImageNotFound", $"Image '{id}' does not exist in this tenant.");

    public static ApiError OperationNotFound(Guid id) => ApiError.NotFound("OperationNotFound", $"Operation '{id}' does not exist in this tenant.");

    public static ApiError InvalidId(string what, string value) =>
        ApiError.NotFound($"{what}NotFound", $"'{Truncate(value)}' is not a valid {what} id (a uuid is expected).");

    public static ApiError InvalidDeviceId(string value) =>
        ApiError.BadRequest("InvalidDeviceId", $"Device id '{Truncate(value)}' is invalid: a device id is 128 hexadecimal characters.");

    public static ApiError InvalidBody(string detail) => ApiError.BadRequest("InvalidRequestBody", detail);

    public static string Short(string deviceId) => deviceId.Length > 16 ? deviceId[..16] + "…" : deviceId;

    private static string Truncate(string value) => value.Length > 140 ? value[..140] + "…" : value;
}
