package vault

import (
	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/internal/access/authz"
	"github.com/credvault/credvault/internal/audit"
	"github.com/credvault/credvault/internal/jobs"
	"github.com/credvault/credvault/internal/platform/flush"
	"github.com/credvault/credvault/internal/platform/metrics"
	"github.com/credvault/credvault/internal/vault/dek"
	"github.com/credvault/credvault/internal/webhooks"
)

// Service stores, reads (decrypting), updates and deletes credentials, and rotates DEKs.
// It owns the rules of its operations — authorisation (see package
// access), validation, the transaction, the audit entry and the change's
// event — so GraphQL and REST both call it and neither repeats a rule.
//
// Its methods are: Query and List (metadata), ByIntegration (metadata, or
// the rows whose data the caller will decrypt), Decrypt and Decrypted,
// Store, Update, Delete and RotateDEK.
type Service struct {
	Client *ent.Client
	Guard  *authz.Guard
	DEKs   *dek.Manager
	Jobs   *jobs.Queue
	// Cache keeps integrations' credential rows; writes here drop them.
	Cache *Cache
	// Metrics counts decryptions.
	Metrics *metrics.Metrics
	// Audit writes each decrypt's entry before its answer leaves.
	Audit *audit.Committer
	// Accessed collects last_accessed_at, written in batches.
	Accessed *flush.Latest
	// Events records the webhook events of the changes.
	Events *webhooks.Outbox
}
