namespace Fleet.Shared.IoTConnect;

public partial class IoTConnectClient
{
    /// <summary>
    /// Provisions a device idempotently: creates it with its template and entity; when the unique id exists already
    /// (409) with the same template and entity, that counts as done. Then acquires it (registers it on the hub) when
    /// <paramref name="acquire"/> is set and it is not acquired yet (a 409 because it already is counts as done),
    /// and reads it back to verify the placement.
    /// </summary>
    /// <exception cref="IoTConnectApiException">
    /// 409 <c>UniqueIdAlreadyExists</c> when the device exists with another template or entity (the message says
    /// which); any other failure of the calls.
    /// </exception>
    /// <exception cref="InvalidOperationException">The device read back does not match what was provisioned.</exception>
    public virtual async Task<IoTConnectProvisionResult> ProvisionDeviceAsync(IoTConnectDeviceCreateRequest request, bool acquire = true,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(request);
        var created = true;
        try
        {
            await CreateDeviceAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (IoTConnectApiException conflict) when (conflict.IsConflict)
        {
            // A retry of an earlier attempt, or a device someone else made: done only if it is placed as asked.
            var existing = await FindDeviceAsync(request.UniqueId, cancellationToken).ConfigureAwait(false);
            if (existing is null)
            {
                throw;
            }

            if (existing.TemplateGuid != request.TemplateGuid || existing.EntityGuid != request.EntityGuid)
            {
                throw new IoTConnectApiException(409, conflict.ErrorCode ?? "UniqueIdAlreadyExists", conflict.ServiceMessage, conflict.RequestId,
                    $"IoTConnect device '{request.UniqueId}' already exists with template {existing.TemplateGuid} in entity {existing.EntityGuid}, " +
                    $"not template {request.TemplateGuid} in entity {request.EntityGuid}.", conflict)
                {
                    Service = conflict.Service,
                    Method = conflict.Method,
                    Path = conflict.Path,
                    Errors = conflict.Errors,
                };
            }

            created = false;
        }

        var acquiredNow = false;
        if (acquire)
        {
            // A device created just now is not acquired yet; an existing one may be.
            if (created || !(await GetDeviceByUniqueIdAsync(request.UniqueId, cancellationToken).ConfigureAwait(false)).IsAcquired)
            {
                try
                {
                    await AcquireDeviceAsync(request.UniqueId, cancellationToken).ConfigureAwait(false);
                    acquiredNow = true;
                }
                catch (IoTConnectApiException ex) when (ex.IsConflict)
                {
                    // Already acquired (by an earlier attempt whose answer was lost) is done; any other reason is not.
                    if (!(await GetDeviceByUniqueIdAsync(request.UniqueId, cancellationToken).ConfigureAwait(false)).IsAcquired)
                    {
                        throw;
                    }
                }
            }
        }

        var verified = await GetDeviceByUniqueIdAsync(request.UniqueId, cancellationToken).ConfigureAwait(false);
        if (verified.TemplateGuid != request.TemplateGuid || verified.EntityGuid != request.EntityGuid || (acquire && !verified.IsAcquired))
        {
            throw new InvalidOperationException(
                $"IoTConnect device '{request.UniqueId}' reads back with template {verified.TemplateGuid}, entity {verified.EntityGuid}, " +
                $"acquired {verified.IsAcquired} after provisioning it with template {request.TemplateGuid}, entity {request.EntityGuid}" +
                (acquire ? ", acquired." : "."));
        }

        return new IoTConnectProvisionResult(verified, created, acquiredNow);
    }

    /// <summary>The device with this unique id, or null when the service answers 404.</summary>
    public virtual async Task<IoTConnectDevice?> FindDeviceAsync(string uniqueId, CancellationToken cancellationToken = default)
    {
        try
        {
            return await GetDeviceByUniqueIdAsync(uniqueId, cancellationToken).ConfigureAwait(false);
        }
        catch (IoTConnectApiException ex) when (ex.IsNotFound)
        {
            return null;
        }
    }
}
