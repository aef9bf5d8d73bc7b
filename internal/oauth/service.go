// Package oauth is CredVault's OAuth 2.0 authorization server for the
// client_credentials grant: the token endpoint (RFC 6749), JWT access
// tokens (RFC 9068), introspection (RFC 7662), revocation (RFC 7009) and
// metadata (RFC 8414), and the verifier of access tokens on API calls.
// Responses follow the RFCs, not the REST envelope. Clients manages the
// clients themselves, for GraphQL and REST alike.
package oauth

import (
	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/internal/access/authz"
	"github.com/credvault/credvault/internal/platform/invalidate"
	"github.com/credvault/credvault/internal/webhooks"
)

// Clients creates, updates, rotates, deletes and lists OAuth clients.
// It owns the rules of its operations — authorisation (see package
// access), validation, the transaction, the audit entry and the change's
// event — so GraphQL and REST both call it and neither repeats a rule.
type Clients struct {
	Client *ent.Client
	Guard  *authz.Guard
	Bus    *invalidate.Bus
	// Events records the webhook events of the changes.
	Events *webhooks.Outbox
}
