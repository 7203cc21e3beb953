{
  "IsEncrypted": false,
  "Values": {
    "AzureWebJobsStorage": "UseDevelopmentStorage=true",
    "FUNCTIONS_WORKER_RUNTIME": "dotnet-isolated",
    "DurableStore": "data/durabletask.db",
    "Sphere__endpoint": "http://127.0.0.1:5080/",
    "Sphere__credential": "managedidentity",
    "IDENTITY_ENDPOINT": "http://127.0.0.1:5080/msi/token",
    "IDENTITY_HEADER": "<printed by the simulator at start>",
    "Provisioning__Queue": "provisioning-requests",
    "Provisioning__DefaultTenant": "Contoso Fleet",
    "ComplianceSweep__Schedule": "0 0 2 * * *",
    "ComplianceSweep__PolicyPath": "policy.json",
    "ComplianceSweep__Mode": "report",
    "ComplianceSweep__MaxParallelRemediations": "32",
    "ComplianceSweep__PageSize": "500",
    "ComplianceSweep__ReportContainer": "compliance-reports",
    "FunctionKeys__Master": "<32 random base64url characters>",
    "FunctionKeys__DurableTask": "<32 random base64url characters>"
  }
}
