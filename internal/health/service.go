package health

import (
	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/internal/access/authz"
)

// Service reports how the server and its database are doing.
// It owns the rules of its operations — authorisation (see package
// access), validation, the transaction, the audit entry and the change's
// event — so GraphQL and REST both call it and neither repeats a rule.
type Service struct {
	Client *ent.Client
	Guard  *authz.Guard
}
