package apikeys

import (
	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/internal/access/authz"
	"github.com/credvault/credvault/internal/audit"
	"github.com/credvault/credvault/internal/platform/invalidate"
	"github.com/credvault/credvault/internal/platform/ratelimit"
	"github.com/credvault/credvault/internal/webhooks"
)

// Service creates, validates, rotates, revokes and lists API keys.
// It owns the rules of its operations — authorisation (see package
// access), validation, the transaction, the audit entry and the change's
// event — so GraphQL and REST both call it and neither repeats a rule.
type Service struct {
	Client *ent.Client
	Guard  *authz.Guard
	Bus    *invalidate.Bus
	Batch  *audit.Batcher
	Keys   *Verifier
	// Plans bounds a key's own rate limit by its tenant's plan; nil when
	// rate limits are off.
	Plans *ratelimit.Plans
	// Events records the webhook events of the changes.
	Events *webhooks.Outbox
	// Stream feeds the key streams (GET /api/v1/api-keys/stream).
	Stream *Stream
}
