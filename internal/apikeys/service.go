package apikeys

import (
	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/internal/access/authz"
	"github.com/credvault/credvault/internal/audit"
	"github.com/credvault/credvault/internal/platform/invalidate"
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
}
