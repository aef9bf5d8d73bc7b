package graph

import (
	"context"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/credvault/credvault/internal/platform/paging"

	"github.com/google/uuid"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/internal/access"
	"github.com/credvault/credvault/internal/apikeys"
	"github.com/credvault/credvault/internal/audit"
	"github.com/credvault/credvault/internal/platform/apperr"
	"github.com/credvault/credvault/internal/platform/secret"
)

// apiKeyBytes is the entropy of a key: 32 random bytes, 43 base62 characters.
const apiKeyBytes = 32

// displayPrefixLen is how many characters after cvk_ are kept for display.
const displayPrefixLen = 8

// maxGraceSeconds bounds a rotation's grace period: 30 days.
const maxGraceSeconds = 30 * 24 * 3600

// apiKeySpec is a key to issue.
type apiKeySpec struct {
	Name             string
	Scopes           []string
	ExpiresAt        *time.Time
	ServiceAccountID *uuid.UUID
	IPAllowlist      []string
	RateLimit        *apikeys.RateLimitInput
}

// newAPIKey returns a new key and its display prefix.
func newAPIKey() (key, prefix string, err error) {
	key, err = secret.New(apikeys.Prefix, apiKeyBytes)
	if err != nil {
		return "", "", err
	}
	return key, key[len(apikeys.Prefix) : len(apikeys.Prefix)+displayPrefixLen], nil
}

// issueAPIKey validates spec and creates the key with tx, audited in it.
// The key is owned by the service account named in spec, or else by the
// principal's service account or user.
func (r *Resolver) issueAPIKey(ctx context.Context, tx *ent.Client, p *access.Principal, spec apiKeySpec) (*apikeys.CreatedAPIKey, error) {
	name := strings.TrimSpace(spec.Name)
	if name == "" || len(name) > 200 {
		return nil, apperr.Invalid("name", map[bool]string{true: "required", false: "too_long"}[name == ""])
	}
	if spec.ExpiresAt != nil && !spec.ExpiresAt.After(time.Now()) {
		return nil, apperr.Invalid("expires_at", "must be in the future")
	}
	allow, err := normalizeCIDRs(spec.IPAllowlist)
	if err != nil {
		return nil, err
	}
	scopes := spec.Scopes
	if scopes == nil {
		scopes = p.Scopes.List()
	}
	if err := r.ceiling(ctx, p, scopes); err != nil {
		return nil, err
	}
	key, prefix, err := newAPIKey()
	if err != nil {
		return nil, err
	}
	create := tx.APIKey.Create().SetName(name).SetPrefix(prefix).SetKeyHash(secret.Hash(key)).
		SetScopes(access.NewSet(scopes...).List()).SetIPAllowlist(allow).SetNillableExpiresAt(utc(spec.ExpiresAt)).SetCreatedBy(p.ID)
	if rl := spec.RateLimit; rl != nil {
		if rl.Requests < 1 {
			return nil, apperr.Invalid("rate_limit.requests", "must be at least 1")
		}
		if rl.WindowSeconds < 1 {
			return nil, apperr.Invalid("rate_limit.window_seconds", "must be at least 1")
		}
		create.SetRateLimitRequests(rl.Requests).SetRateLimitWindowSeconds(rl.WindowSeconds)
	}
	switch {
	case spec.ServiceAccountID != nil:
		sa, err := tx.ServiceAccount.Get(ctx, *spec.ServiceAccountID)
		if ent.IsNotFound(err) {
			return nil, apperr.Invalid("service_account_id", "unknown")
		}
		if err != nil {
			return nil, err
		}
		for _, s := range scopes {
			if !slices.Contains(sa.Scopes, s) {
				return nil, apperr.Invalid("scopes", "beyond the service account's scopes").With("scope", s)
			}
		}
		create.SetServiceAccountID(sa.ID)
	case p.ServiceAccountID != uuid.Nil:
		create.SetServiceAccountID(p.ServiceAccountID)
	case p.UserID != uuid.Nil:
		create.SetUserID(p.UserID)
	}
	k, err := create.Save(ctx)
	if err != nil {
		return nil, err
	}
	err = audit.Record(ctx, tx, audit.Entry{Action: "api_key.create", ResourceType: "api_key", ResourceID: k.ID.String(),
		Details: map[string]any{"name": k.Name, "prefix": k.Prefix, "scopes": k.Scopes}})
	return &apikeys.CreatedAPIKey{Key: key, APIKey: k}, err
}

// normalizeCIDRs checks an IP allowlist: CIDRs, or single addresses.
func normalizeCIDRs(list []string) ([]string, error) {
	out := make([]string, 0, len(list))
	for _, s := range list {
		s = strings.TrimSpace(s)
		var p netip.Prefix
		var err error
		if strings.Contains(s, "/") {
			p, err = netip.ParsePrefix(s)
		} else {
			var a netip.Addr
			if a, err = netip.ParseAddr(s); err == nil {
				p = netip.PrefixFrom(a, a.BitLen())
			}
		}
		if err != nil {
			return nil, apperr.Invalid("ip_allowlist", "invalid").With("value", s)
		}
		out = append(out, p.Masked().String())
	}
	return out, nil
}

// utc is t in UTC microseconds, as stored, so answers match later reads.
func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC().Truncate(time.Microsecond)
	return &u
}

// APIKeysQuery is the tenant's API keys, for a principal holding api_keys:read.
func (r *Resolver) APIKeysQuery(ctx context.Context) (*ent.APIKeyQuery, error) {
	if _, err := r.require(ctx, access.APIKeysRead); err != nil {
		return nil, err
	}
	return r.Store.Client.APIKey.Query(), nil
}

// ListAPIKeys is one offset page of the tenant's API keys.
func (r *Resolver) ListAPIKeys(ctx context.Context, where *ent.APIKeyWhereInput, w paging.Window) ([]*ent.APIKey, int, error) {
	q, err := r.APIKeysQuery(ctx)
	if err == nil {
		where = byStateNow(q, where)
	}
	return paging.List(ctx, q, err, where, w, func(q *ent.APIKeyQuery) *ent.APIKeyQuery { return q.Order(w.Term(), w.Tie()) })
}

// byStateNow moves where's status filter onto q as the key's state now (an
// active key past its expiry is expired), as the status field shows it, and
// returns the rest of where. GraphQL and REST lists both filter this way.
func byStateNow(q *ent.APIKeyQuery, where *ent.APIKeyWhereInput) *ent.APIKeyWhereInput {
	if where == nil || where.Status == nil {
		return where
	}
	rest := *where
	q.Where(apikeys.StatusIs(*rest.Status, time.Now()))
	rest.Status = nil
	return &rest
}
