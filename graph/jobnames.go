package graph

import "github.com/credvault/credvault/internal/jobs"

// The background jobs of SPEC §9, named in package jobs; these names stay
// for the callers not yet moved there (server's job registry, the vault).
const (
	JobDEKRotation         = jobs.DEKRotation
	JobExpireAPIKeys       = jobs.ExpireAPIKeys
	JobAuditRetention      = jobs.AuditRetention
	JobPurgeDeletedTenants = jobs.PurgeDeletedTenants
)
