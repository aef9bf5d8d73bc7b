package audit

import (
	"context"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/internal/access"
)

// Trail lists the audit trail: the root list and the audit-log edges of the
// graph. It owns the rules of reading it, so GraphQL and REST both call it
// and neither repeats a rule.
type Trail struct {
	Client *ent.Client
	Guard  Guard
}

// Guard checks a principal against an operation (package authz's Guard,
// which records its refusals here, so this package cannot import it).
type Guard interface {
	Require(ctx context.Context, op access.Operation) (*access.Principal, error)
}
