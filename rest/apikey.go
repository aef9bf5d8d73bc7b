package rest

import (
	"time"

	"github.com/google/uuid"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/graph/model"
)

type rateLimitJSON struct {
	Requests      int `json:"requests"`
	WindowSeconds int `json:"window_seconds"`
}

// apiKeyJSON is an API key in REST responses; Key is set only when it is
// created or rotated, the one time the secret is shown.
type apiKeyJSON struct {
	ID               uuid.UUID      `json:"id"`
	TenantID         uuid.UUID      `json:"tenant_id"`
	Name             string         `json:"name"`
	Key              string         `json:"key,omitempty"`
	Prefix           string         `json:"prefix"`
	Scopes           []string       `json:"scopes"`
	Status           string         `json:"status"`
	ExpiresAt        *time.Time     `json:"expires_at"`
	LastUsedAt       *time.Time     `json:"last_used_at"`
	RevokedAt        *time.Time     `json:"revoked_at"`
	IPAllowlist      []string       `json:"ip_allowlist"`
	RateLimit        *rateLimitJSON `json:"rate_limit"`
	ServiceAccountID *uuid.UUID     `json:"service_account_id"`
	UserID           *uuid.UUID     `json:"user_id"`
	CreatedAt        time.Time      `json:"created_at"`
	UpdatedAt        time.Time      `json:"updated_at"`
}

func toAPIKeyJSON(k *ent.APIKey) *apiKeyJSON {
	out := &apiKeyJSON{ID: k.ID, TenantID: k.TenantID, Name: k.Name, Prefix: k.Prefix, Scopes: orEmpty(k.Scopes),
		Status: k.Status.String(), ExpiresAt: k.ExpiresAt, LastUsedAt: k.LastUsedAt, RevokedAt: k.RevokedAt,
		IPAllowlist: orEmpty(k.IPAllowlist), ServiceAccountID: k.ServiceAccountID, UserID: k.UserID,
		CreatedAt: k.CreatedAt, UpdatedAt: k.UpdatedAt}
	if k.RateLimitRequests != nil && k.RateLimitWindowSeconds != nil {
		out.RateLimit = &rateLimitJSON{Requests: *k.RateLimitRequests, WindowSeconds: *k.RateLimitWindowSeconds}
	}
	return out
}

func toCreatedAPIKeyJSON(c *model.CreatedAPIKey) *apiKeyJSON {
	out := toAPIKeyJSON(c.APIKey)
	out.Key = c.Key
	return out
}
