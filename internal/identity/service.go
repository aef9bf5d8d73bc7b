package identity

import (
	"context"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/internal/access"
	"github.com/credvault/credvault/internal/access/authz"
	"github.com/credvault/credvault/internal/apikeys"
	"github.com/credvault/credvault/internal/identity/password"
	"github.com/credvault/credvault/internal/platform/invalidate"
	"github.com/credvault/credvault/internal/webhooks"
)

// Users manages a tenant's users and service accounts.
// It owns the rules of its operations — authorisation (see package
// access), validation, the transaction, the audit entry and the change's
// event — so GraphQL and REST both call it and neither repeats a rule.
type Users struct {
	Client *ent.Client
	Guard  *authz.Guard
	Bus    *invalidate.Bus
	// Keys issues a service account's first API key in the account's
	// transaction.
	Keys *apikeys.Service
	// Tenants reads the tenant a principal acts in, cached (tenancy.Cache).
	Tenants interface {
		Of(ctx context.Context, p *access.Principal) (*ent.Tenant, error)
	}
	// Events records the webhook events of the changes.
	Events *webhooks.Outbox
	// Argon2 is the cost of hashing a password being set.
	Argon2 password.Params
}
