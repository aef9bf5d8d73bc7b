package graph

// The background jobs of SPEC §9.
const (
	JobDEKRotation         = "dek_rotation"
	JobExpireAPIKeys       = "expire_api_keys"
	JobAuditRetention      = "audit_retention"
	JobPurgeDeletedTenants = "purge_deleted_tenants"
)
