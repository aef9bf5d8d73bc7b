package apikeys

// The types of this package that the GraphQL schema names (bound in
// gqlgen.yml): the service takes and returns them, the resolvers pass them on.

import (
	"time"

	"github.com/google/uuid"

	"github.com/credvault/credvault/ent"
)

// The answer to validating a key: a bad key is valid: false with a reason, not an error.
type APIKeyValidation struct {
	Valid bool `json:"valid"`
	// invalid, expired, revoked or ip_not_allowed when not valid.
	Reason    *string    `json:"reason,omitempty"`
	KeyID     uuid.UUID  `json:"keyID"`
	Scopes    []string   `json:"scopes"`
	ExpiresAt *time.Time `json:"expiresAt,omitempty"`
}

type CreateAPIKeyInput struct {
	Name string `json:"name"`
	// Defaults to the caller's scopes; never more than the caller holds.
	Scopes    []string   `json:"scopes,omitempty"`
	ExpiresAt *time.Time `json:"expiresAt,omitempty"`
	// Make the key a service account's; it then authenticates as that account.
	ServiceAccountID *uuid.UUID `json:"serviceAccountID,omitempty"`
	// CIDRs or addresses the key may be used from; empty allows any.
	IPAllowlist []string        `json:"ipAllowlist,omitempty"`
	RateLimit   *RateLimitInput `json:"rateLimit,omitempty"`
}

// A newly created or rotated API key: the only time its secret is shown.
type CreatedAPIKey struct {
	// The key itself (cvk_…). Store it now: it is never shown again.
	Key    string      `json:"key"`
	APIKey *ent.APIKey `json:"apiKey"`
}

// A per-key rate limit that overrides the tenant plan's.
type RateLimitInput struct {
	Requests      int `json:"requests"`
	WindowSeconds int `json:"windowSeconds"`
}

type RotateAPIKeyInput struct {
	// How long the old secret keeps working; 0 or omitted stops it at once.
	GracePeriodSeconds *int `json:"gracePeriodSeconds,omitempty"`
}
