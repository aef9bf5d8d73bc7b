package jobs

// The background jobs of SPEC §9, and the sandbox reset of §15.
const (
	DEKRotation         = "dek_rotation"
	ExpireAPIKeys       = "expire_api_keys"
	AuditRetention      = "audit_retention"
	PurgeDeletedTenants = "purge_deleted_tenants"
	ResetSandboxTenants = "reset_sandbox_tenants"
)

// TenantArg is the argument naming the tenant a run is for: the tenant a
// DEK rotation re-encrypts, or the tenant that asked for a sweep of every
// tenant. Job stats count a tenant's runs by it (the queue's rows have no
// tenant column: periodic runs belong to no tenant).
const TenantArg = "tenant_id"
