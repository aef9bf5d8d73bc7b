package apikeys

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	"entgo.io/contrib/entgql"
	"github.com/google/uuid"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/ent/apikey"
	"github.com/credvault/credvault/internal/access"
	"github.com/credvault/credvault/internal/audit"
	"github.com/credvault/credvault/internal/platform/apperr"
	"github.com/credvault/credvault/internal/platform/invalidate"
	"github.com/credvault/credvault/internal/platform/ipallow"
	"github.com/credvault/credvault/internal/platform/paging"
	"github.com/credvault/credvault/internal/platform/secret"
	"github.com/credvault/credvault/internal/platform/store"
	"github.com/credvault/credvault/internal/webhooks"
)

// keyBytes is the entropy of a key: 32 random bytes, 43 base62 characters.
const keyBytes = 32

// displayPrefixLen is how many characters after cvk_ (cvk_test_) are kept
// for display.
const displayPrefixLen = 8

// Spec is a key to issue. Scopes nil means the issuing principal's.
type Spec struct {
	Name             string
	Scopes           []string
	ExpiresAt        *time.Time
	ServiceAccountID *uuid.UUID
	IPAllowlist      []string
	RateLimit        *RateLimitInput
}

// Create issues a key for the principal, or for the service account the
// input names; its secret is in the answer, and nowhere else ever again.
func (s *Service) Create(ctx context.Context, input CreateAPIKeyInput) (*CreatedAPIKey, error) {
	p, err := s.Guard.Require(ctx, access.CreateAPIKey)
	if err != nil {
		return nil, err
	}
	var out *CreatedAPIKey
	k, err := store.Write(ctx, s.Client, func(ctx context.Context, tx *ent.Client) (*ent.APIKey, error) {
		var err error
		out, err = s.Issue(ctx, tx, p, Spec(input))
		if err != nil {
			return nil, err
		}
		return out.APIKey, nil
	})
	if err != nil {
		return nil, err
	}
	out.APIKey = k
	return out, nil
}

// Issue validates spec and creates the key with tx, audited in it, for
// callers already in a transaction (creating a service account with its
// key). Its scopes are never more than p holds (403 naming the first
// missing one) nor, for a service account's key, than the account's. The
// key is owned by the service account named in spec, or else by p's
// service account or user. The returned key is bound to tx.
func (s *Service) Issue(ctx context.Context, tx *ent.Client, p *access.Principal, spec Spec) (*CreatedAPIKey, error) {
	name := strings.TrimSpace(spec.Name)
	if name == "" || len(name) > 200 {
		return nil, apperr.Invalid("name", map[bool]string{true: "required", false: "too_long"}[name == ""])
	}
	if spec.ExpiresAt != nil && !spec.ExpiresAt.After(time.Now()) {
		return nil, apperr.Invalid("expires_at", "must be in the future")
	}
	allow, err := ipallow.Normalize("ip_allowlist", spec.IPAllowlist)
	if err != nil {
		return nil, err
	}
	scopes := spec.Scopes
	if scopes == nil {
		scopes = p.Scopes.List()
	}
	if err := s.Guard.Ceiling(ctx, p, scopes); err != nil {
		return nil, err
	}
	t, err := tx.Tenant.Get(ctx, p.TenantID)
	if err != nil {
		return nil, err
	}
	key, prefix, err := newKey(t.Plan)
	if err != nil {
		return nil, err
	}
	create := tx.APIKey.Create().SetName(name).SetPrefix(prefix).SetKeyHash(secret.Hash(key)).
		SetScopes(access.NewSet(scopes...).List()).SetIPAllowlist(allow).SetNillableExpiresAt(utc(spec.ExpiresAt)).SetCreatedBy(p.ID)
	if rl := spec.RateLimit; rl != nil {
		if err := s.checkRateLimit(t.Plan, rl); err != nil {
			return nil, err
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
		for _, sc := range scopes {
			if !slices.Contains(sa.Scopes, sc) {
				return nil, apperr.Invalid("scopes", "beyond the service account's scopes").With("scope", sc)
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
	if err != nil {
		return nil, err
	}
	if err := s.Events.Emit(ctx, tx, k.TenantID, webhooks.APIKeyCreated, k); err != nil {
		return nil, err
	}
	// Announced so that key streams carry the new key (see Stream).
	return &CreatedAPIKey{Key: key, APIKey: k}, s.Bus.Publish(ctx, tx, invalidate.For(invalidate.APIKey, k.ID.String()))
}

// Bounds of a key's own rate limit: a window longer than a day could
// overflow the limiter's clock arithmetic, and no plan allows more requests.
const (
	MaxRateLimitWindowSeconds = 86_400
	MaxRateLimitRequests      = 1_000_000_000
)

// checkRateLimit refuses a key's own rate limit outside its bounds or faster
// than its tenant's plan allows (requests per second), which it would
// otherwise override. A sandbox has no plan limit to exceed.
func (s *Service) checkRateLimit(plan string, rl *RateLimitInput) error {
	switch {
	case rl.Requests < 1:
		return apperr.Invalid("rate_limit.requests", "must be at least 1")
	case rl.Requests > MaxRateLimitRequests:
		return apperr.Invalid("rate_limit.requests", "must be at most "+strconv.Itoa(MaxRateLimitRequests))
	case rl.WindowSeconds < 1:
		return apperr.Invalid("rate_limit.window_seconds", "must be at least 1")
	case rl.WindowSeconds > MaxRateLimitWindowSeconds:
		return apperr.Invalid("rate_limit.window_seconds", "must be at most "+strconv.Itoa(MaxRateLimitWindowSeconds))
	}
	if plan == access.PlanSandbox {
		return nil
	}
	limit, ok := s.Plans.Of(plan)
	if ok && float64(rl.Requests)/float64(rl.WindowSeconds) > float64(limit.Requests)/limit.Window.Seconds() {
		return apperr.Invalid("rate_limit", "exceeds the tenant's plan").
			With("plan_requests", limit.Requests).With("plan_window_seconds", int(limit.Window.Seconds()))
	}
	return nil
}

// Validate checks a secret against the key id. A bad secret is an answer
// (valid: false with a reason), not an error; a key id that is not the
// tenant's is 404. Validations are tallied in the audit trail, not
// recorded one by one.
func (s *Service) Validate(ctx context.Context, id uuid.UUID, key string) (*APIKeyValidation, error) {
	p, err := s.Guard.Require(ctx, access.ValidateAPIKey)
	if err != nil {
		return nil, err
	}
	res, err := s.Keys.Check(ctx, key, ipallow.ClientIP(ctx))
	if err != nil {
		return nil, err
	}
	out := &APIKeyValidation{Valid: res.Valid(), KeyID: id, Scopes: res.Scopes, ExpiresAt: res.ExpiresAt}
	if res.KeyID != id || res.TenantID != p.TenantID {
		// Not this key's secret: the answer is invalid, or 404 when no such key is the tenant's.
		k, err := s.Client.APIKey.Get(ctx, id)
		if err != nil {
			return nil, err
		}
		res.Reason = ReasonInvalid
		out.Valid, out.Scopes, out.ExpiresAt = false, k.Scopes, k.ExpiresAt
	}
	outcome := audit.Success
	if out.Valid {
		s.Keys.Used(id)
	} else {
		out.Reason, outcome = &res.Reason, audit.Failure
	}
	s.Batch.Tally(ctx, audit.Entry{Action: "api_key.validate", ResourceType: "api_key",
		ResourceID: id.String(), Outcome: outcome, Details: map[string]any{"reason": res.Reason}})
	return out, nil
}

// Rotate gives the key a new secret under the same id; the old one works
// through the grace period (none by default). The new secret carries every
// scope of the key, so the principal must hold them all, as if it were
// creating the key: otherwise 403 naming the first missing scope, audited,
// and the key is left as it was.
func (s *Service) Rotate(ctx context.Context, id uuid.UUID, input *RotateAPIKeyInput) (*CreatedAPIKey, error) {
	p, err := s.Guard.Require(ctx, access.RotateAPIKey)
	if err != nil {
		return nil, err
	}
	var seconds *int
	if input != nil {
		seconds = input.GracePeriodSeconds
	}
	grace, err := secret.GraceSeconds(seconds)
	if err != nil {
		return nil, err
	}
	var key string
	k, err := store.Write(ctx, s.Client, func(ctx context.Context, tx *ent.Client) (*ent.APIKey, error) {
		k, err := tx.APIKey.Get(ctx, id)
		if err != nil {
			return nil, err
		}
		if err := s.Guard.Ceiling(ctx, p, k.Scopes); err != nil {
			return nil, err
		}
		if k.Status == apikey.StatusRevoked {
			return nil, apperr.New(apperr.Conflict, "a revoked key cannot be rotated")
		}
		t, err := tx.Tenant.Get(ctx, k.TenantID)
		if err != nil {
			return nil, err
		}
		var prefix string
		if key, prefix, err = newKey(t.Plan); err != nil {
			return nil, err
		}
		// Conditional on the secret read: of two rotations at once, one wins
		// and the other is a 409, never a key handed out that does not work.
		upd := tx.APIKey.Update().Where(apikey.ID(k.ID), apikey.KeyHash(k.KeyHash)).
			SetKeyHash(secret.Hash(key)).SetPrefix(prefix)
		if grace > 0 {
			upd.SetPreviousKeyHash(k.KeyHash).SetPreviousKeyExpiresAt(store.Now().Add(time.Duration(grace) * time.Second))
		} else {
			upd.ClearPreviousKeyHash().ClearPreviousKeyExpiresAt()
		}
		n, err := upd.Save(ctx)
		if err != nil {
			return nil, err
		}
		if n == 0 {
			return nil, apperr.New(apperr.Conflict, "the key was rotated concurrently; try again")
		}
		if k, err = tx.APIKey.Get(ctx, k.ID); err != nil {
			return nil, err
		}
		if err := audit.Record(ctx, tx, audit.Entry{Action: "api_key.rotate", ResourceType: "api_key", ResourceID: k.ID.String(),
			Details: map[string]any{"prefix": prefix, "grace_period_seconds": grace}}); err != nil {
			return nil, err
		}
		if err := s.Events.Emit(ctx, tx, k.TenantID, webhooks.APIKeyRotated, k); err != nil {
			return nil, err
		}
		return k, s.Bus.Publish(ctx, tx, invalidate.For(invalidate.APIKey, k.ID.String()))
	})
	if err != nil {
		return nil, err
	}
	return &CreatedAPIKey{Key: key, APIKey: k}, nil
}

// Revoke stops the key at once, on every instance (the event drops it from
// every verifier's cache). Revoking a revoked key answers it as it is.
func (s *Service) Revoke(ctx context.Context, id uuid.UUID) (*ent.APIKey, error) {
	if _, err := s.Guard.Require(ctx, access.RevokeAPIKey); err != nil {
		return nil, err
	}
	return store.Write(ctx, s.Client, func(ctx context.Context, tx *ent.Client) (*ent.APIKey, error) {
		k, err := tx.APIKey.Get(ctx, id)
		if err != nil {
			return nil, err
		}
		if k.Status != apikey.StatusRevoked {
			k, err = tx.APIKey.UpdateOne(k).SetStatus(apikey.StatusRevoked).SetRevokedAt(store.Now()).
				ClearPreviousKeyHash().ClearPreviousKeyExpiresAt().Save(ctx)
			if err != nil {
				return nil, err
			}
			if err := s.Events.Emit(ctx, tx, k.TenantID, webhooks.APIKeyRevoked, k); err != nil {
				return nil, err
			}
		}
		if err := audit.Record(ctx, tx, audit.Entry{Action: "api_key.revoke", ResourceType: "api_key", ResourceID: k.ID.String(),
			Details: map[string]any{"prefix": k.Prefix}}); err != nil {
			return nil, err
		}
		return k, s.Bus.Publish(ctx, tx, invalidate.For(invalidate.APIKey, k.ID.String()))
	})
}

// Get is one of the tenant's keys; another tenant's is not found.
func (s *Service) Get(ctx context.Context, id uuid.UUID) (*ent.APIKey, error) {
	if _, err := s.Guard.Require(ctx, access.ReadAPIKey); err != nil {
		return nil, err
	}
	return s.Client.APIKey.Query().Where(apikey.ID(id)).Only(ctx)
}

// Query is the tenant's keys filtered by where, for a connection to page.
// A status filter selects the state now, as the status field shows it (an
// active key past its expiry is expired), not the stored column.
func (s *Service) Query(ctx context.Context, where *ent.APIKeyWhereInput) (*ent.APIKeyQuery, error) {
	if _, err := s.Guard.Require(ctx, access.ListAPIKeys); err != nil {
		return nil, err
	}
	q := s.Client.APIKey.Query()
	if where != nil && where.Status != nil {
		rest := *where
		q.Where(StatusIs(*rest.Status, time.Now()))
		rest.Status = nil
		where = &rest
	}
	return where.Filter(q)
}

// Page is one connection page of the tenant's keys filtered as Query
// filters, as GraphQL lists them.
func (s *Service) Page(ctx context.Context, after *entgql.Cursor[uuid.UUID], first *int, before *entgql.Cursor[uuid.UUID], last *int,
	orderBy *ent.APIKeyOrder, where *ent.APIKeyWhereInput) (*ent.APIKeyConnection, error) {
	q, err := s.Query(ctx, where)
	if err != nil {
		return nil, err
	}
	return paging.Connection(ctx, q, nil, first, last, paging.Cursors{After: after, Before: before, Order: orderBy},
		func(ctx context.Context, q *ent.APIKeyQuery, first, last *int) (*ent.APIKeyConnection, error) {
			return q.Paginate(ctx, after, first, before, last, ent.WithAPIKeyOrder(orderBy))
		}, func(c *ent.APIKeyConnection) (*int, ent.PageInfo) { return &c.TotalCount, c.PageInfo })
}

// List is one offset window of the tenant's keys filtered as Query filters.
func (s *Service) List(ctx context.Context, where *ent.APIKeyWhereInput, w paging.Window) ([]*ent.APIKey, int, error) {
	q, err := s.Query(ctx, where)
	if err != nil {
		return nil, 0, err
	}
	return paging.Fetch(ctx, q, w, func(q *ent.APIKeyQuery) *ent.APIKeyQuery { return q.Order(w.Term(), w.Tie()) })
}

// newKey returns a new key for a tenant on plan and its display prefix: a
// sandbox's keys start cvk_test_, so that neither kind passes for the other.
func newKey(plan string) (key, prefix string, err error) {
	start := Prefix
	if plan == access.PlanSandbox {
		start = TestPrefix
	}
	key, err = secret.New(start, keyBytes)
	if err != nil {
		return "", "", err
	}
	return key, key[len(start) : len(start)+displayPrefixLen], nil
}

// utc is t in UTC microseconds, as stored, so answers match later reads.
func utc(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC().Truncate(time.Microsecond)
	return &u
}
