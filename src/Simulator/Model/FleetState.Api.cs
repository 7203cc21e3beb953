using System.Text.RegularExpressions;
using Fleet.Simulator.Api;

namespace Fleet.Simulator.Model;

internal sealed partial class FleetState
{
    private const int MaxNameLength = 50;
    private const int MaxDescriptionLength = 100;
    private static readonly string KeyUpperBound = new('\uffff', 1);

    [GeneratedRegex("^[A-Za-z0-9 ]+$")]
    private static partial Regex NamePattern();

    private static ApiError? ValidateName(string? name, string what)
    {
        if (string.IsNullOrWhiteSpace(name))
        {
            return ApiError.BadRequest("InvalidName", $"The {what} name is required.");
        }

        if (name.Length > MaxNameLength)
        {
            return ApiError.BadRequest("InvalidName", $"The {what} name is longer than {MaxNameLength} characters.");
        }

        return NamePattern().IsMatch(name)
            ? null
            : ApiError.BadRequest("InvalidName", $"The {what} name may contain only letters, digits and spaces.");
    }

    private static ApiError? ValidateDescription(string? description) =>
        description is { Length: > MaxDescriptionLength }
            ? ApiError.BadRequest("InvalidDescription", $"The description is longer than {MaxDescriptionLength} characters.")
            : null;

    // ---- tenants ----

    public IReadOnlyList<TenantDto> ListTenants(Guid principalId)
    {
        lock (_gate)
        {
            Advance();
            return _tenants
                .Where(t => t.Users.ContainsKey(principalId))
                .Select(t => new TenantDto(t.Id, t.Name, [t.Users[principalId].Role.ToString()]))
                .ToList();
        }
    }

    public ApiResult GetTenant(Guid tenantId, Guid principalId)
    {
        lock (_gate)
        {
            Advance();
            var t = _tenantsById[tenantId];
            return ApiResult.Ok(new TenantDto(t.Id, t.Name, t.Users.TryGetValue(principalId, out var u) ? [u.Role.ToString()] : []));
        }
    }

    public ApiResult GetTenantUsers(Guid tenantId)
    {
        lock (_gate)
        {
            Advance();
            var t = _tenantsById[tenantId];
            var principals = t.Users
                .OrderBy(u => u.Value.DisplayName, StringComparer.Ordinal)
                .Select(u => new TenantPrincipalDto(u.Key, u.Value.DisplayName, $"{u.Key}@{Auth.KnownIdentities.EntraTenantId}.onmicrosoft.com", [u.Value.Role.ToString()]))
                .ToList();
            return ApiResult.Ok(new TenantUsersDto(t.Id, principals));
        }
    }

    // ---- products ----

    private ProductEntity? FindProduct(Guid tenantId, Guid productId) =>
        _products.TryGetValue(productId, out var p) && p.TenantId == tenantId && !p.Pending ? p : null;

    private static ProductDto ToDto(ProductEntity p) => new(p.Id, p.TenantId, p.Name, p.Description);

    public ApiResult ListProducts(Guid tenantId, PageRequest page)
    {
        lock (_gate)
        {
            Advance();
            var items = _products.Values.Where(p => p.TenantId == tenantId && !p.Pending).OrderBy(p => p.Seq);
            return PageBySeq(items, p => p.Seq, ToDto, page, $"products:{tenantId:N}");
        }
    }

    public ApiResult CreateProduct(Guid tenantId, CreateProductRequest request)
    {
        lock (_gate)
        {
            Advance();
            if ((ValidateName(request.Name, "product") ?? ValidateDescription(request.Description)) is { } invalid)
            {
                return invalid;
            }

            if (_products.Values.Any(p => p.TenantId == tenantId && string.Equals(p.Name, request.Name, StringComparison.OrdinalIgnoreCase)))
            {
                return ConflictOr(tenantId, OperationType.CreateProduct, ApiError.Conflict(
                    "ProductNameAlreadyExists", $"A product named '{request.Name}' already exists in this tenant."));
            }

            var product = new ProductEntity(NewId(), tenantId, NextSeq())
            {
                Name = request.Name!,
                Description = request.Description,
                Pending = true,
            };
            _products[product.Id] = product;
            var createDefaults = request.CreateDefaultGroups;
            return StartOperation(
                tenantId,
                OperationType.CreateProduct,
                $"v2/tenants/{tenantId}/products/{product.Id}",
                complete: _ =>
                {
                    product.Pending = false;
                    if (createDefaults)
                    {
                        AddDefaultGroups(product);
                    }

                    return null;
                },
                abort: () => _products.Remove(product.Id));
        }
    }

    public ApiResult GetProduct(Guid tenantId, Guid productId)
    {
        lock (_gate)
        {
            Advance();
            return FindProduct(tenantId, productId) is { } p ? ApiResult.Ok(ToDto(p)) : Errors.ProductNotFound(productId);
        }
    }

    public ApiResult PatchProduct(Guid tenantId, Guid productId, ProductPatch patch)
    {
        lock (_gate)
        {
            Advance();
            if (FindProduct(tenantId, productId) is not { } product)
            {
                return Errors.ProductNotFound(productId);
            }

            if (patch.Name.HasValue && ValidateName(patch.Name.Value, "product") is { } badName)
            {
                return badName;
            }

            if (patch.Description.HasValue && ValidateDescription(patch.Description.Value) is { } badDescription)
            {
                return badDescription;
            }

            if (patch.Name.HasValue && _products.Values.Any(p => p.TenantId == tenantId && p.Id != productId
                    && string.Equals(p.Name, patch.Name.Value, StringComparison.OrdinalIgnoreCase)))
            {
                return ApiError.Conflict("ProductNameAlreadyExists", $"A product named '{patch.Name.Value}' already exists in this tenant.");
            }

            if (patch.Name.HasValue)
            {
                product.Name = patch.Name.Value!;
            }

            if (patch.Description.HasValue)
            {
                product.Description = patch.Description.Value;
            }

            return ApiResult.Ok(ToDto(product));
        }
    }

    public ApiResult DeleteProduct(Guid tenantId, Guid productId)
    {
        lock (_gate)
        {
            Advance();
            if (FindProduct(tenantId, productId) is not { } product)
            {
                return Errors.ProductNotFound(productId);
            }

            if (product.Devices.Count > 0)
            {
                return ConflictOr(tenantId, OperationType.DeleteProduct, ProductHasDevices(product));
            }

            return StartOperation(tenantId, OperationType.DeleteProduct, null, complete: _ =>
            {
                if (FindProduct(tenantId, productId) is not { } current)
                {
                    return new OperationErrorDto(OperationErrorCode.NotFound, $"Product '{productId}' no longer exists.");
                }

                if (current.Devices.Count > 0)
                {
                    var conflict = ProductHasDevices(current);
                    return new OperationErrorDto(OperationErrorCode.Conflict, $"{conflict.ErrorCode}: {conflict.Detail}");
                }

                foreach (var group in _groups.Values.Where(g => g.ProductId == productId).ToList())
                {
                    _groups.Remove(group.Id);
                }

                _products.Remove(productId);
                return null;
            });
        }
    }

    private static ApiError ProductHasDevices(ProductEntity product) => ApiError.Conflict(
        "ProductHasDevices", $"Product '{product.Name}' still has {product.Devices.Count} device(s); move them to another product first.");

    public ApiResult ListProductGroups(Guid tenantId, Guid productId, PageRequest page)
    {
        lock (_gate)
        {
            Advance();
            if (FindProduct(tenantId, productId) is null)
            {
                return Errors.ProductNotFound(productId);
            }

            var items = _groups.Values.Where(g => g.ProductId == productId).OrderBy(g => g.Seq);
            return PageBySeq(items, g => g.Seq, ToDto, page, $"productgroups:{productId:N}");
        }
    }

    /// <summary>Device Group - Create Defaults: adds whichever of the five default groups the product lacks.</summary>
    public ApiResult CreateDefaultGroups(Guid tenantId, Guid productId)
    {
        lock (_gate)
        {
            Advance();
            if (FindProduct(tenantId, productId) is not { } product)
            {
                return Errors.ProductNotFound(productId);
            }

            AddDefaultGroups(product);
            var groups = _groups.Values.Where(g => g.ProductId == productId).OrderBy(g => g.Seq).Select(ToDto).ToList();
            return ApiResult.Ok(new PageDto<DeviceGroupDto>(groups, null));
        }
    }

    public ApiResult ListProductDevices(Guid tenantId, Guid productId, PageRequest page)
    {
        lock (_gate)
        {
            Advance();
            return FindProduct(tenantId, productId) is { } product
                ? PageDevices(product.Devices, page, $"productdevices:{productId:N}")
                : Errors.ProductNotFound(productId);
        }
    }

    // ---- device groups ----

    internal static readonly (string Name, string Description, OsFeedType Feed, UpdatePolicy Policy)[] DefaultGroups =
    [
        ("Development", "Default development device group", OsFeedType.Retail, UpdatePolicy.No3rdPartyAppUpdates),
        ("Field Test", "Default test device group", OsFeedType.Retail, UpdatePolicy.UpdateAll),
        ("Production", "Default production device group", OsFeedType.Retail, UpdatePolicy.UpdateAll),
        ("Production OS Evaluation", "Default Production OS Evaluation device group", OsFeedType.RetailEval, UpdatePolicy.UpdateAll),
        ("Field Test OS Evaluation", "Default Field Test OS Evaluation device group", OsFeedType.RetailEval, UpdatePolicy.UpdateAll),
    ];

    private void AddDefaultGroups(ProductEntity product)
    {
        foreach (var (name, description, feed, policy) in DefaultGroups)
        {
            if (_groups.Values.Any(g => g.ProductId == product.Id && string.Equals(g.Name, name, StringComparison.OrdinalIgnoreCase)))
            {
                continue;
            }

            var group = new GroupEntity(NewId(), product.TenantId, product.Id, NextSeq())
            {
                Name = name,
                Description = description,
                OsFeedType = feed,
                UpdatePolicy = policy,
            };
            _groups[group.Id] = group;
        }
    }

    private GroupEntity? FindGroup(Guid tenantId, Guid groupId) =>
        _groups.TryGetValue(groupId, out var g) && g.TenantId == tenantId ? g : null;

    private static DeploymentDto ToDto(DeploymentEntity d) => new(d.Id, d.TenantId, d.Images, d.DeploymentDateUtc);

    private static DeviceGroupDto ToDto(GroupEntity g) => new(
        g.Id, g.TenantId, g.ProductId, g.Name, g.Description, g.OsFeedType, g.UpdatePolicy, g.AllowCrashDumpsCollection,
        g.CurrentDeployment is { } d ? ToDto(d) : null);

    public ApiResult ListGroups(Guid tenantId, PageRequest page)
    {
        lock (_gate)
        {
            Advance();
            var items = _groups.Values.Where(g => g.TenantId == tenantId).OrderBy(g => g.Seq);
            return PageBySeq(items, g => g.Seq, ToDto, page, $"groups:{tenantId:N}");
        }
    }

    public ApiResult CreateGroup(Guid tenantId, CreateGroupRequest request)
    {
        lock (_gate)
        {
            Advance();
            if ((ValidateName(request.Name, "device group") ?? ValidateDescription(request.Description)) is { } invalid)
            {
                return invalid;
            }

            if (request.ProductId is null)
            {
                return ApiError.BadRequest("InvalidProductId", "ProductId is required.");
            }

            if (!Guid.TryParse(request.ProductId, out var productId))
            {
                return ApiError.BadRequest("InvalidProductId", "ProductId is not a uuid.");
            }

            if ((ValidateFeed(request.OsFeedType) ?? ValidatePolicy(request.UpdatePolicy)) is { } badEnum)
            {
                return badEnum;
            }

            if (FindProduct(tenantId, productId) is null)
            {
                return Errors.ProductNotFound(productId);
            }

            if (GroupNameTaken(productId, request.Name!, except: null))
            {
                return GroupNameConflict(request.Name!);
            }

            var group = new GroupEntity(NewId(), tenantId, productId, NextSeq())
            {
                Name = request.Name!,
                Description = request.Description,
                OsFeedType = (OsFeedType)(request.OsFeedType ?? 0),
                UpdatePolicy = (UpdatePolicy)(request.UpdatePolicy ?? 0),
                AllowCrashDumpsCollection = request.AllowCrashDumpsCollection ?? false,
            };
            _groups[group.Id] = group;
            return ApiResult.Ok(ToDto(group));
        }
    }

    private static ApiError? ValidateFeed(int? feed) =>
        feed is null || Enum.IsDefined((OsFeedType)feed.Value)
            ? null
            : ApiError.BadRequest("InvalidOsFeedType", $"OsFeedType {feed} is not valid (0 Retail, 1 RetailEval).");

    private static ApiError? ValidatePolicy(int? policy) =>
        policy is null || Enum.IsDefined((UpdatePolicy)policy.Value)
            ? null
            : ApiError.BadRequest("InvalidUpdatePolicy", $"UpdatePolicy {policy} is not valid (0 UpdateAll, 1 No3rdPartyAppUpdates, 2 NoUpdates).");

    private bool GroupNameTaken(Guid productId, string name, Guid? except) =>
        _groups.Values.Any(g => g.ProductId == productId && g.Id != except && string.Equals(g.Name, name, StringComparison.OrdinalIgnoreCase));

    private static ApiError GroupNameConflict(string name) =>
        ApiError.Conflict("DeviceGroupNameAlreadyExists", $"A device group named '{name}' already exists in this product.");

    public ApiResult GetGroup(Guid tenantId, Guid groupId)
    {
        lock (_gate)
        {
            Advance();
            return FindGroup(tenantId, groupId) is { } g ? ApiResult.Ok(ToDto(g)) : Errors.DeviceGroupNotFound(groupId);
        }
    }

    public ApiResult PatchGroup(Guid tenantId, Guid groupId, GroupPatch patch)
    {
        lock (_gate)
        {
            var now = Advance();
            if (FindGroup(tenantId, groupId) is not { } group)
            {
                return Errors.DeviceGroupNotFound(groupId);
            }

            var invalid = (patch.Name.HasValue ? ValidateName(patch.Name.Value, "device group") : null)
                ?? (patch.Description.HasValue ? ValidateDescription(patch.Description.Value) : null)
                ?? (patch.OsFeedType.HasValue ? ValidateFeed(patch.OsFeedType.Value) : null)
                ?? (patch.UpdatePolicy.HasValue ? ValidatePolicy(patch.UpdatePolicy.Value) : null);
            if (invalid is not null)
            {
                return invalid;
            }

            if (patch.Name.HasValue && GroupNameTaken(group.ProductId, patch.Name.Value!, except: groupId))
            {
                return GroupNameConflict(patch.Name.Value!);
            }

            if (patch.Name.HasValue)
            {
                group.Name = patch.Name.Value!;
            }

            if (patch.Description.HasValue)
            {
                group.Description = patch.Description.Value;
            }

            if (patch.OsFeedType.HasValue)
            {
                group.OsFeedType = (OsFeedType)patch.OsFeedType.Value;
            }

            if (patch.AllowCrashDumpsCollection.HasValue)
            {
                group.AllowCrashDumpsCollection = patch.AllowCrashDumpsCollection.Value;
            }

            if (patch.UpdatePolicy.HasValue)
            {
                var wasBlocking = group.UpdatePolicy != UpdatePolicy.UpdateAll;
                group.UpdatePolicy = (UpdatePolicy)patch.UpdatePolicy.Value;
                if (wasBlocking && group.UpdatePolicy == UpdatePolicy.UpdateAll)
                {
                    // Devices held back by the old policy now take the current deployment.
                    foreach (var deviceId in group.Devices)
                    {
                        var device = _devices[deviceId];
                        if (device.InstallState == DeviceInstallState.Blocked)
                        {
                            TargetDevice(device, group, now);
                        }
                    }
                }
            }

            return ApiResult.Ok(ToDto(group));
        }
    }

    public ApiResult DeleteGroup(Guid tenantId, Guid groupId)
    {
        lock (_gate)
        {
            Advance();
            if (FindGroup(tenantId, groupId) is not { } group)
            {
                return Errors.DeviceGroupNotFound(groupId);
            }

            if (group.Devices.Count > 0)
            {
                return ConflictOr(tenantId, OperationType.DeleteDeviceGroup, GroupNotEmpty(group));
            }

            return StartOperation(tenantId, OperationType.DeleteDeviceGroup, null, complete: _ =>
            {
                if (FindGroup(tenantId, groupId) is not { } current)
                {
                    return new OperationErrorDto(OperationErrorCode.NotFound, $"Device group '{groupId}' no longer exists.");
                }

                if (current.Devices.Count > 0)
                {
                    var conflict = GroupNotEmpty(current);
                    return new OperationErrorDto(OperationErrorCode.Conflict, $"{conflict.ErrorCode}: {conflict.Detail}");
                }

                _groups.Remove(groupId);
                return null;
            });
        }
    }

    private static ApiError GroupNotEmpty(GroupEntity group) => ApiError.Conflict(
        "DeviceGroupNotEmpty", $"Device group '{group.Name}' still has {group.Devices.Count} device(s); move them first.");

    public ApiResult ListGroupDevices(Guid tenantId, Guid groupId, PageRequest page)
    {
        lock (_gate)
        {
            Advance();
            return FindGroup(tenantId, groupId) is { } group
                ? PageDevices(group.Devices, page, $"groupdevices:{groupId:N}")
                : Errors.DeviceGroupNotFound(groupId);
        }
    }

    // ---- devices ----

    private static DeviceDto ToDto(DeviceEntity d) => new(
        d.Id, d.TenantId!.Value, d.ProductId, d.GroupId, 0, d.LastAvailableOsVersion, d.LastInstalledOsVersion,
        d.LastOsUpdateUtc, d.LastUpdateRequestUtc);

    private DeviceEntity? FindDevice(Guid tenantId, string deviceId) =>
        _devices.TryGetValue(deviceId, out var d) && d.TenantId == tenantId ? d : null;

    public ApiResult ListDevices(Guid tenantId, PageRequest page)
    {
        lock (_gate)
        {
            Advance();
            return PageDevices(_tenantsById[tenantId].Devices, page, $"devices:{tenantId:N}");
        }
    }

    public ApiResult GetDevice(Guid tenantId, string rawDeviceId)
    {
        if (!TryNormalizeDeviceId(rawDeviceId, out var deviceId))
        {
            return Errors.InvalidDeviceId(rawDeviceId);
        }

        lock (_gate)
        {
            Advance();
            return FindDevice(tenantId, deviceId) is { } d ? ApiResult.Ok(ToDto(d)) : Errors.DeviceNotFound(deviceId);
        }
    }

    public ApiResult ClaimDevice(Guid tenantId, string rawDeviceId)
    {
        if (!TryNormalizeDeviceId(rawDeviceId, out var deviceId))
        {
            return Errors.InvalidDeviceId(rawDeviceId);
        }

        lock (_gate)
        {
            Advance();
            if (!_devices.TryGetValue(deviceId, out var device))
            {
                return Errors.DeviceNotFound(deviceId);
            }

            var owner = device.TenantId ?? device.PendingClaimTenantId;
            if (owner == tenantId)
            {
                return ConflictOr(tenantId, OperationType.DeviceClaim, ApiError.Conflict(
                    "DeviceAlreadyClaimed", $"Device '{Errors.Short(deviceId)}' is already claimed by this tenant."));
            }

            if (owner is not null)
            {
                return ConflictOr(tenantId, OperationType.DeviceClaim, ApiError.Conflict(
                    "DeviceClaimedByAnotherTenant", $"Device '{Errors.Short(deviceId)}' was already claimed by a different tenant; claiming cannot be undone."));
            }

            device.PendingClaimTenantId = tenantId;
            return StartOperation(
                tenantId,
                OperationType.DeviceClaim,
                $"v2/tenants/{tenantId}/devices/{deviceId}",
                complete: _ =>
                {
                    device.PendingClaimTenantId = null;
                    device.TenantId = tenantId;
                    _unclaimed.Remove(deviceId);
                    _tenantsById[tenantId].Devices.Add(deviceId);
                    return null;
                },
                abort: () => device.PendingClaimTenantId = null);
        }
    }

    public ApiResult MoveDevice(Guid tenantId, string rawDeviceId, Guid groupId)
    {
        if (!TryNormalizeDeviceId(rawDeviceId, out var deviceId))
        {
            return Errors.InvalidDeviceId(rawDeviceId);
        }

        lock (_gate)
        {
            Advance();
            if (FindDevice(tenantId, deviceId) is null)
            {
                return Errors.DeviceNotFound(deviceId);
            }

            if (FindGroup(tenantId, groupId) is null)
            {
                return Errors.DeviceGroupNotFound(groupId);
            }

            return StartOperation(
                tenantId,
                OperationType.DeviceUpdateDeviceGroup,
                $"v2/tenants/{tenantId}/devices/{deviceId}",
                complete: due =>
                {
                    if (FindDevice(tenantId, deviceId) is not { } device)
                    {
                        return new OperationErrorDto(OperationErrorCode.NotFound, $"Device '{Errors.Short(deviceId)}' is no longer in this tenant.");
                    }

                    if (FindGroup(tenantId, groupId) is not { } group)
                    {
                        return new OperationErrorDto(OperationErrorCode.NotFound, $"Device group '{groupId}' no longer exists.");
                    }

                    if (device.GroupId != groupId)
                    {
                        AssignDevice(device, group);
                        TargetDevice(device, group, due);
                    }

                    return null;
                });
        }
    }

    /// <summary>Deployments - Get By Device: the images the device's group currently targets.</summary>
    public ApiResult GetDeviceImages(Guid tenantId, string rawDeviceId)
    {
        if (!TryNormalizeDeviceId(rawDeviceId, out var deviceId))
        {
            return Errors.InvalidDeviceId(rawDeviceId);
        }

        lock (_gate)
        {
            Advance();
            if (FindDevice(tenantId, deviceId) is not { } device)
            {
                return Errors.DeviceNotFound(deviceId);
            }

            var images = TargetedDeployment(device)?.Images
                .Select(id => _images.TryGetValue(id, out var image) ? ToDto(image) : null)
                .OfType<ImageMetadataDto>()
                .ToList() ?? [];
            return ApiResult.Ok(new PageDto<ImageMetadataDto>(images, null));
        }
    }

    private DeploymentEntity? TargetedDeployment(DeviceEntity device) =>
        device.GroupId is { } g && _groups.TryGetValue(g, out var group) ? group.CurrentDeployment : null;

    // ---- deployments ----

    public ApiResult CreateDeployment(Guid tenantId, Guid groupId, IReadOnlyList<Guid> imageIds)
    {
        lock (_gate)
        {
            Advance();
            if (FindGroup(tenantId, groupId) is null)
            {
                return Errors.DeviceGroupNotFound(groupId);
            }

            if (imageIds.Count == 0)
            {
                return Errors.InvalidBody("A deployment needs at least one image id.");
            }

            if (imageIds.Distinct().Count() != imageIds.Count)
            {
                return ApiError.BadRequest("DuplicateImageId", "The same image id appears more than once.");
            }

            var components = new HashSet<Guid>();
            foreach (var imageId in imageIds)
            {
                if (!_images.TryGetValue(imageId, out var image) || image.TenantId != tenantId || image.Pending)
                {
                    return Errors.ImageNotFound(imageId);
                }

                if (!components.Add(image.ComponentId))
                {
                    return ApiError.BadRequest("DuplicateComponentId", $"Two images belong to component '{image.ComponentId}'; each component in a deployment must be unique.");
                }
            }

            var deploymentId = NewId();
            var images = imageIds.ToArray();
            return StartOperation(
                tenantId,
                OperationType.DeployToDeviceGroup,
                $"v2/tenants/{tenantId}/devicegroups/{groupId}/deployments",
                complete: due =>
                {
                    if (FindGroup(tenantId, groupId) is not { } group)
                    {
                        return new OperationErrorDto(OperationErrorCode.NotFound, $"Device group '{groupId}' no longer exists.");
                    }

                    var deployment = new DeploymentEntity(deploymentId, tenantId, groupId, images, due, NextSeq());
                    group.Deployments.Add(deployment);
                    group.CurrentDeployment = deployment;
                    foreach (var deviceId in group.Devices)
                    {
                        TargetDevice(_devices[deviceId], group, due);
                    }

                    return null;
                });
        }
    }

    public ApiResult ListDeployments(Guid tenantId, Guid groupId, PageRequest page)
    {
        lock (_gate)
        {
            Advance();
            return FindGroup(tenantId, groupId) is { } group
                ? PageBySeq(group.Deployments, d => d.Seq, ToDto, page, $"deployments:{groupId:N}")
                : Errors.DeviceGroupNotFound(groupId);
        }
    }

    // ---- images ----

    private static ImageMetadataDto ToDto(ImageEntity i) => new(i.Id, i.Name, i.ComponentId, i.Description, i.Type, i.Type);

    /// <summary>Image - Upload. Metadata comes from a "SIMIMG1" header in the package, else is derived from its hash.</summary>
    public ApiResult UploadImage(Guid tenantId, byte[] package)
    {
        if (package.Length == 0)
        {
            return ApiError.BadRequest("InvalidImagePackage", "The image package is empty.");
        }

        if (ImagePackage.Parse(tenantId, package) is not { } parsed)
        {
            return ApiError.BadRequest("InvalidImagePackage", "The SIMIMG1 header of the image package is malformed (see docs/simulator.md).");
        }

        lock (_gate)
        {
            Advance();
            if (_images.ContainsKey(parsed.Id))
            {
                return ConflictOr(tenantId, OperationType.ImageUpload, ApiError.Conflict(
                    "ImageAlreadyExists", $"Image '{parsed.Id}' has already been uploaded."), status: 200);
            }

            var image = new ImageEntity(parsed.Id, tenantId, NextSeq())
            {
                Name = parsed.Name,
                ComponentId = parsed.ComponentId,
                Description = parsed.Description,
                Type = parsed.Type,
                Pending = true,
            };
            _images[image.Id] = image;
            return StartOperation(
                tenantId,
                OperationType.ImageUpload,
                $"v2/tenants/{tenantId}/images/{image.Id}/metadata",
                complete: _ =>
                {
                    image.Pending = false;
                    return null;
                },
                abort: () => _images.Remove(image.Id),
                status: 200);
        }
    }

    public ApiResult ListImages(Guid tenantId, PageRequest page)
    {
        lock (_gate)
        {
            Advance();
            var items = _images.Values.Where(i => i.TenantId == tenantId && !i.Pending).OrderBy(i => i.Seq);
            return PageBySeq(items, i => i.Seq, ToDto, page, $"images:{tenantId:N}");
        }
    }

    public ApiResult GetImageMetadata(Guid tenantId, Guid imageId)
    {
        lock (_gate)
        {
            Advance();
            return _images.TryGetValue(imageId, out var i) && i.TenantId == tenantId && !i.Pending
                ? ApiResult.Ok(ToDto(i))
                : Errors.ImageNotFound(imageId);
        }
    }

    // ---- operations and insights ----

    public ApiResult GetOperation(Guid tenantId, Guid operationId)
    {
        lock (_gate)
        {
            var now = Advance();
            return _operations.TryGetValue(operationId, out var op) && op.TenantId == tenantId
                ? ApiResult.Ok(ToDto(op, now))
                : Errors.OperationNotFound(operationId);
        }
    }

    public ApiResult ListInsights(Guid tenantId, PageRequest page)
    {
        lock (_gate)
        {
            Advance();
            var events = _tenantsById[tenantId].Insights;
            var scope = $"insights:{tenantId:N}";
            if (!Paging.TryDecode(page.Token, scope, out var key))
            {
                return Paging.InvalidToken();
            }

            var start = 0;
            if (key is not null && (!int.TryParse(key, out start) || start < 0))
            {
                return Paging.InvalidToken();
            }

            var end = Math.Min(events.Count, start + page.Size);
            var items = new List<DeviceInsightDto>(Math.Max(0, end - start));
            for (var i = start; i < end; i++)
            {
                var e = events[i];
                var unix = new DateTimeOffset(e.TimestampUtc, TimeSpan.Zero).ToUnixTimeSeconds();
                items.Add(new DeviceInsightDto(e.DeviceId, unix, unix, e.Description, InsightEventType, InsightEventClass, InsightEventCategory, 1));
            }

            var next = end < events.Count ? Paging.Encode(scope, end.ToString(System.Globalization.CultureInfo.InvariantCulture)) : null;
            return ApiResult.Ok(new PageDto<DeviceInsightDto>(items, next));
        }
    }

    // ---- paging ----

    private static ApiResult PageBySeq<T, TDto>(IEnumerable<T> ordered, Func<T, long> seq, Func<T, TDto> map, PageRequest page, string scope)
    {
        if (!Paging.TryDecode(page.Token, scope, out var key))
        {
            return Paging.InvalidToken();
        }

        var after = -1L;
        if (key is not null && !long.TryParse(key, out after))
        {
            return Paging.InvalidToken();
        }

        var items = new List<TDto>(Math.Min(page.Size, 256));
        string? next = null;
        var last = after;
        foreach (var item in ordered)
        {
            var s = seq(item);
            if (s <= after)
            {
                continue;
            }

            if (items.Count == page.Size)
            {
                next = Paging.Encode(scope, last.ToString(System.Globalization.CultureInfo.InvariantCulture));
                break;
            }

            items.Add(map(item));
            last = s;
        }

        return ApiResult.Ok(new PageDto<TDto>(items, next));
    }

    private ApiResult PageDevices(SortedSet<string> deviceIds, PageRequest page, string scope)
    {
        if (!Paging.TryDecode(page.Token, scope, out var after))
        {
            return Paging.InvalidToken();
        }

        if (after is not null && !TryNormalizeDeviceId(after, out after))
        {
            return Paging.InvalidToken();
        }

        IEnumerable<string> view = after is null ? deviceIds : deviceIds.GetViewBetween(after, KeyUpperBound);
        var items = new List<DeviceDto>(Math.Min(page.Size, 1024));
        string? next = null;
        foreach (var id in view)
        {
            if (after is not null && string.Equals(id, after, StringComparison.Ordinal))
            {
                continue;
            }

            if (items.Count == page.Size)
            {
                next = Paging.Encode(scope, items[^1].DeviceId);
                break;
            }

            items.Add(ToDto(_devices[id]));
        }

        return ApiResult.Ok(new PageDto<DeviceDto>(items, next));
    }
}
