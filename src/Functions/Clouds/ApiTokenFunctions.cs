using System.Net;
using Fleet.Functions.Http;
using Fleet.Shared.FleetClouds;
using Fleet.Shared.IoTCentral;
using Microsoft.Azure.Functions.Worker;
using Microsoft.Azure.Functions.Worker.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Fleet.Functions.Clouds;

/// <summary>The body of <c>POST /api/iotcentral/{connection}/api-token/rotate</c> (every member optional).</summary>
public sealed class ApiTokenRotationRequest
{
    /// <summary>Id of the new token (default <c>fleet-{yyyyMMddHHmmss}</c>).</summary>
    public string? NewTokenId { get; init; }

    /// <summary>Expiry of the new token (default: the service's, about a year).</summary>
    public DateTimeOffset? Expiry { get; init; }

    /// <summary>Delete the previous token once this worker uses the new one (hosts still on it then fail).</summary>
    public bool DeletePrevious { get; init; }
}

/// <summary>
/// The operator's rotation of an IoT Central API token (<c>PUT /apiTokens/{id}</c> through
/// <see cref="IoTCentralClient.RotateApiTokenAsync"/>). Admin level: only the master key may mint a credential. With
/// <c>apiTokenFile</c> the new value is written there and not returned; with an inline <c>apiToken</c> it is returned
/// in this one answer for the operator to store where the setting comes from (e.g. its Key Vault secret). Never logged.
/// </summary>
public sealed class ApiTokenFunctions(IServiceProvider services, ILogger<ApiTokenFunctions> logger)
{
    /// <summary>Rotates the connection's API token; 200 with ids and expiry (and the value only when nothing stores it), 404 unknown connection, 409 not an API-token connection.</summary>
    [Function("RotateIoTCentralApiToken")]
    public async Task<HttpResponseData> RotateIoTCentralApiToken(
        [HttpTrigger(AuthorizationLevel.Admin, "post", Route = "iotcentral/{connection}/api-token/rotate")] HttpRequestData request, string connection)
    {
        var (body, errors) = await HttpJson.ReadAsync(request, () => new ApiTokenRotationRequest());
        if (body is null || errors.Count > 0)
        {
            return await HttpJson.BadRequest(request, errors);
        }

        if (services.GetKeyedService<IoTCentralClient>(connection) is not { } client)
        {
            return await HttpJson.NotFound(request, new FleetConnectionNotConfiguredException(FleetCloud.IoTCentral, connection).Message);
        }

        if (!client.UsesApiToken)
        {
            return await HttpJson.Conflict(request, $"IoT Central connection '{connection}' authenticates with an Entra identity; it has no API token to rotate.");
        }

        try
        {
            var rotation = await client.RotateApiTokenAsync(body.NewTokenId, body.Expiry, body.DeletePrevious, request.FunctionContext.CancellationToken);
            logger.IoTCentralApiTokenRotatedByOperator(connection, rotation.PreviousTokenId, rotation.NewToken.Id, rotation.NewToken.Expiry, rotation.StoredIn);
            return await HttpJson.WriteAsync(request, HttpStatusCode.OK, new
            {
                connection,
                tokenId = rotation.NewToken.Id,
                expiry = rotation.NewToken.Expiry,
                previousTokenId = rotation.PreviousTokenId,
                previousTokenDeleted = rotation.PreviousTokenDeleted,
                storedIn = rotation.StoredIn,
                // Shown once, only when no file keeps it: the operator stores it where the apiToken setting comes from.
                token = rotation.StoredIn is null ? rotation.NewToken.Token : null,
            });
        }
        catch (IoTCentralApiException ex) when (!ex.IsTransient)
        {
            return await HttpJson.WriteAsync(request, (HttpStatusCode)ex.Status, new { error = ex.ErrorMessage ?? ex.Message, errorCode = ex.ErrorCode, requestId = ex.RequestId });
        }
    }
}
