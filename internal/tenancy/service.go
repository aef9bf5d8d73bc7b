package tenancy

import (
	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/internal/access/authz"
	"github.com/credvault/credvault/internal/jobs"
	"github.com/credvault/credvault/internal/platform/invalidate"
	"github.com/credvault/credvault/internal/webhooks"
)

// Service reads, updates and deletes tenants and counts what they hold.
// It owns the rules of its operations — authorisation (see package
// access), validation, the transaction, the audit entry and the change's
// event — so GraphQL and REST both call it and neither repeats a rule.
type Service struct {
	Client *ent.Client
	Guard  *authz.Guard
	Bus    *invalidate.Bus
	// Jobs purges a deleted tenant's data.
	Jobs *jobs.Queue
	// Features is what this server has enabled, as FeatureStatus shows it.
	Features FeatureStatus
	// Events records the webhook events of the changes.
	Events *webhooks.Outbox
}
