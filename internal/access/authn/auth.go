// Package auth is the one authentication middleware of GraphQL and REST: it
// reads every credential header form of SPEC §3, hands the credential to the
// verifier of its kind, applies x-tenantid, and puts the principal in the
// context that the data layer's tenant isolation reads.
package auth

import (
	"context"
	"net/http"
	"strings"

	"github.com/google/uuid"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/ent/tenant"
	"github.com/credvault/credvault/internal/access"
	"github.com/credvault/credvault/internal/platform/apperr"
	"github.com/credvault/credvault/internal/platform/metrics"
	"github.com/credvault/credvault/internal/platform/reqinfo"
	"github.com/credvault/credvault/internal/platform/store"
	"github.com/credvault/credvault/internal/tenancy/usage"
)

// Verifier checks one kind of credential and returns its principal, or an
// apperr UNAUTHORIZED error with details.reason.
type Verifier interface {
	Verify(ctx context.Context, credential string) (*access.Principal, error)
}

// VerifierFunc adapts a function to Verifier.
type VerifierFunc func(ctx context.Context, credential string) (*access.Principal, error)

// Verify calls f.
func (f VerifierFunc) Verify(ctx context.Context, credential string) (*access.Principal, error) {
	return f(ctx, credential)
}

// APIKeyPrefix starts every API key, which tells a key from a JWT in a
// Bearer header.
const APIKeyPrefix = "cvk_"

// Authenticator holds a verifier per credential kind; a nil verifier
// refuses its kind as invalid.
type Authenticator struct {
	Client  *ent.Client
	Metrics *metrics.Metrics
	// Usage counts each authenticated request for the dashboards; may be nil.
	Usage        *usage.Counter
	APIKeys      Verifier
	Sessions     Verifier
	AccessTokens Verifier
}

// Authenticate returns the principal of r, nil when r carries no
// credential at all, or an UNAUTHORIZED / TENANT_MISMATCH error.
func (a *Authenticator) Authenticate(ctx context.Context, r *http.Request) (*access.Principal, error) {
	kind, cred, err := credential(r)
	if err != nil || kind == "" {
		return nil, err
	}
	var v Verifier
	switch kind {
	case "api_key":
		v = a.APIKeys
	case "session":
		v = a.Sessions
	case "access_token":
		v = a.AccessTokens
	}
	if v == nil {
		return nil, apperr.Unauthenticated("invalid")
	}
	p, err := v.Verify(ctx, cred)
	a.count(kind, err)
	if err != nil {
		return nil, err
	}
	return a.selectTenant(ctx, p, r.Header.Get("x-tenantid"))
}

// count records an authentication attempt by method and result (the
// refusal's reason). Access tokens are counted by their own verifier, key
// checks (here and by validate) by the key verifier.
func (a *Authenticator) count(kind string, err error) {
	if kind == "access_token" || a.Metrics == nil {
		return
	}
	result := "success"
	if err != nil {
		result = "error"
		if e, ok := apperr.Known(err); ok {
			if reason, ok := e.Details["reason"].(string); ok {
				result = reason
			}
		}
	}
	a.Metrics.AuthAttempts.WithLabelValues(kind, result).Inc()
}

// credential reads the credential headers: X-API-Key, Authorization: ApiKey,
// or Authorization: Bearer with an API key or a JWT (a session, or an OAuth
// access token when its header says at+jwt).
func credential(r *http.Request) (kind, cred string, err error) {
	if k := strings.TrimSpace(r.Header.Get("X-API-Key")); k != "" {
		return "api_key", k, nil
	}
	h := strings.TrimSpace(r.Header.Get("Authorization"))
	if h == "" {
		return "", "", nil
	}
	scheme, value, ok := strings.Cut(h, " ")
	value = strings.TrimSpace(value)
	if !ok || value == "" {
		return "", "", apperr.Unauthenticated("malformed")
	}
	switch strings.ToLower(scheme) {
	case "apikey":
		return "api_key", value, nil
	case "bearer":
		if strings.HasPrefix(value, APIKeyPrefix) {
			return "api_key", value, nil
		}
		if strings.Count(value, ".") != 2 {
			return "", "", apperr.Unauthenticated("malformed")
		}
		if isAccessToken(value) {
			return "access_token", value, nil
		}
		return "session", value, nil
	}
	return "", "", apperr.Unauthenticated("malformed")
}

// selectTenant applies x-tenantid: it must name the principal's own tenant,
// unless the principal is a platform admin, for whom it selects the tenant
// to act in.
func (a *Authenticator) selectTenant(ctx context.Context, p *access.Principal, header string) (*access.Principal, error) {
	if header == "" {
		return p, nil
	}
	id, err := uuid.Parse(strings.TrimSpace(header))
	if err != nil {
		return nil, apperr.New(apperr.TenantMismatch, "x-tenantid is not a tenant id")
	}
	if id == p.HomeTenantID {
		return p, nil
	}
	if !p.Scopes.Has(access.PlatformAdmin) {
		return nil, apperr.New(apperr.TenantMismatch, "x-tenantid does not match the credential's tenant")
	}
	ok, err := a.Client.Tenant.Query().Where(tenant.ID(id), tenant.StatusNEQ(tenant.StatusDeleted)).Exist(store.Unrestricted(ctx))
	if err != nil {
		return nil, err
	}
	if !ok {
		return nil, apperr.NotFoundf("tenant")
	}
	acting := *p
	acting.TenantID = id
	return &acting, nil
}

// Middleware authenticates every request: with no credential it goes on
// anonymously when optional, and is refused with 401 otherwise. fail writes
// an error in the caller's format (the REST envelope, or a GraphQL response).
func (a *Authenticator) Middleware(optional bool, fail func(http.ResponseWriter, *http.Request, error)) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx := r.Context()
			p, err := a.Authenticate(ctx, r)
			if err != nil {
				fail(w, r, err)
				return
			}
			if p == nil {
				if !optional {
					fail(w, r, apperr.Unauthenticated("missing"))
					return
				}
				next.ServeHTTP(w, r)
				return
			}
			reqinfo.FromContext(ctx).Principal = string(p.Kind) + ":" + p.ID.String()
			if a.Usage != nil {
				a.Usage.Count(p)
			}
			next.ServeHTTP(w, r.WithContext(access.NewContext(ctx, p)))
		})
	}
}
