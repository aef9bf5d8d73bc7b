package rest

import (
	"context"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/ent/apikey"
	"github.com/credvault/credvault/ent/migrate"
	"github.com/credvault/credvault/internal/access"
	"github.com/credvault/credvault/internal/apikeys"
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
	status := apikeys.Status(k, time.Now()).String()
	out := &apiKeyJSON{ID: k.ID, TenantID: k.TenantID, Name: k.Name, Prefix: k.Prefix, Scopes: orEmpty(k.Scopes),
		Status: status, ExpiresAt: k.ExpiresAt, LastUsedAt: k.LastUsedAt, RevokedAt: k.RevokedAt,
		IPAllowlist: orEmpty(k.IPAllowlist), ServiceAccountID: k.ServiceAccountID, UserID: k.UserID,
		CreatedAt: k.CreatedAt, UpdatedAt: k.UpdatedAt}
	if k.RateLimitRequests != nil && k.RateLimitWindowSeconds != nil {
		out.RateLimit = &rateLimitJSON{Requests: *k.RateLimitRequests, WindowSeconds: *k.RateLimitWindowSeconds}
	}
	return out
}

func toCreatedAPIKeyJSON(c *apikeys.CreatedAPIKey) *apiKeyJSON {
	out := toAPIKeyJSON(c.APIKey)
	out.Key = c.Key
	return out
}

type createAPIKeyBody struct {
	Name             string         `json:"name"`
	Scopes           []string       `json:"scopes,omitempty"`
	ExpiresAt        *time.Time     `json:"expires_at,omitempty"`
	ServiceAccountID *uuid.UUID     `json:"service_account_id,omitempty"`
	IPAllowlist      []string       `json:"ip_allowlist,omitempty"`
	RateLimit        *rateLimitJSON `json:"rate_limit,omitempty"`
}

type validateBody struct {
	Key string `json:"key"`
}

type rotateBody struct {
	GracePeriodSeconds *int `json:"grace_period_seconds,omitempty"`
}

type validationJSON struct {
	Valid     bool       `json:"valid"`
	Reason    *string    `json:"reason,omitempty"`
	KeyID     uuid.UUID  `json:"key_id"`
	Scopes    []string   `json:"scopes"`
	ExpiresAt *time.Time `json:"expires_at"`
}

// apiKeySort lists the sort fields of key lists, the default first.
var apiKeySort = []string{"created_at", "updated_at", "name", "status", "expires_at", "last_used_at"}

// apiKeyFilters are the filters of key lists.
var apiKeyFilters = []Filter{{Name: "status", Field: "Status", Enum: enumOf(migrate.APIKeysTable, apikey.FieldStatus),
	Doc: "Only keys in this state now: an active key past its expiry is expired."},
	{Name: "service_account_id", Field: "ServiceAccountID", Format: "uuid"}}

// apiKeyRoutes serves the keys at base: /api-keys, and /admin/api-keys for
// the seed 002 clients (create, list and revoke).
func (a *API) apiKeyRoutes(base string, full bool) []Route {
	routes := []Route{
		HandleBody(Route{Method: http.MethodPost, Path: base, Op: access.CreateAPIKey, Secret: true,
			Summary: "Create an API key; the key is shown once", Status: http.StatusCreated, Message: "API key created"},
			func(ctx context.Context, _ *Call, in *createAPIKeyBody) (*apiKeyJSON, error) {
				input := apikeys.CreateAPIKeyInput{Name: in.Name, Scopes: in.Scopes, ExpiresAt: in.ExpiresAt,
					ServiceAccountID: in.ServiceAccountID, IPAllowlist: in.IPAllowlist}
				if rl := in.RateLimit; rl != nil {
					input.RateLimit = &apikeys.RateLimitInput{Requests: rl.Requests, WindowSeconds: rl.WindowSeconds}
				}
				c, err := a.Resolver.APIKeys.Create(ctx, input)
				if err != nil {
					return nil, err
				}
				return toCreatedAPIKeyJSON(c), nil
			}),
		HandleWhere(Route{Method: http.MethodGet, Path: base, Op: access.ListAPIKeys,
			Summary: "List API keys; filters status (active, expired, revoked), service_account_id",
			Status:  http.StatusOK, Message: "API keys", Sort: apiKeySort, Filters: apiKeyFilters},
			a.Resolver.APIKeys.List, toAPIKeyJSON),
		Handle(Route{Method: http.MethodDelete, Path: base + "/{keyId}", Op: access.RevokeAPIKey,
			Summary: "Revoke an API key: it stops working at once, on every instance", Status: http.StatusOK, Message: "API key revoked"},
			func(ctx context.Context, c *Call) (*apiKeyJSON, error) {
				id, err := c.IDParam("keyId")
				if err != nil {
					return nil, err
				}
				k, err := a.Resolver.APIKeys.Revoke(ctx, id)
				if err != nil {
					return nil, err
				}
				return toAPIKeyJSON(k), nil
			}),
	}
	if !full {
		return routes
	}
	return append(routes,
		Handle(Route{Method: http.MethodGet, Path: base + "/{keyId}", Op: access.ReadAPIKey,
			Summary: "Get an API key", Status: http.StatusOK, Message: "API key"},
			func(ctx context.Context, c *Call) (*apiKeyJSON, error) {
				id, err := c.IDParam("keyId")
				if err != nil {
					return nil, err
				}
				k, err := a.Resolver.APIKeys.Get(ctx, id)
				if err != nil {
					return nil, err
				}
				return toAPIKeyJSON(k), nil
			}),
		HandleBody(Route{Method: http.MethodPost, Path: base + "/{keyId}/validate", Op: access.ValidateAPIKey,
			Summary: "Validate a key secret: a bad key is valid:false with a reason", Status: http.StatusOK, Message: "API key validated"},
			func(ctx context.Context, c *Call, in *validateBody) (*validationJSON, error) {
				id, err := c.IDParam("keyId")
				if err != nil {
					return nil, err
				}
				v, err := a.Resolver.APIKeys.Validate(ctx, id, in.Key)
				if err != nil {
					return nil, err
				}
				return &validationJSON{Valid: v.Valid, Reason: v.Reason, KeyID: v.KeyID, Scopes: orEmpty(v.Scopes), ExpiresAt: v.ExpiresAt}, nil
			}),
		HandleBody(Route{Method: http.MethodPost, Path: base + "/{keyId}/rotate", Op: access.RotateAPIKey, Secret: true, Conflicts: true,
			Summary: "Rotate an API key: same id, new key shown once; the old one works through the grace period",
			Status:  http.StatusOK, Message: "API key rotated"},
			func(ctx context.Context, c *Call, in *rotateBody) (*apiKeyJSON, error) {
				id, err := c.IDParam("keyId")
				if err != nil {
					return nil, err
				}
				k, err := a.Resolver.APIKeys.Rotate(ctx, id, &apikeys.RotateAPIKeyInput{GracePeriodSeconds: in.GracePeriodSeconds})
				if err != nil {
					return nil, err
				}
				return toCreatedAPIKeyJSON(k), nil
			}),
	)
}
