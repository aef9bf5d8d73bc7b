// Package sso signs a tenant's staff in through the company's identity
// provider over OpenID Connect (SPEC §15): the tenant's provider
// configuration, its client secret sealed with the tenant's DEK (Service's
// Config and Update), and the authorization code flow with PKCE, state and
// nonce that ends in a CredVault session (Start and Callback, flow.go).
package sso

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/ent/ssoconfig"
	"github.com/credvault/credvault/internal/access"
	"github.com/credvault/credvault/internal/access/authz"
	"github.com/credvault/credvault/internal/audit"
	"github.com/credvault/credvault/internal/identity"
	"github.com/credvault/credvault/internal/platform/apperr"
	"github.com/credvault/credvault/internal/platform/ids"
	"github.com/credvault/credvault/internal/platform/store"
	"github.com/credvault/credvault/internal/vault/crypt"
	"github.com/credvault/credvault/internal/vault/dek"
	"github.com/credvault/credvault/internal/webhooks"
)

// Service is single sign-on. It owns the rules of its operations, so
// GraphQL and REST both call it and neither repeats one.
type Service struct {
	Client   *ent.Client
	Guard    *authz.Guard
	DEKs     *dek.Manager
	Identity *identity.Service
	Events   *webhooks.Outbox
	// Targets guards the provider's URLs as it guards webhook endpoints:
	// an issuer may not lead the server to its own network in production.
	Targets webhooks.Targets
	// PublicURL is the server's external URL: the callback is under it,
	// and a redirect_uri of its origin is allowed.
	PublicURL string
	// RedirectOrigins are the other origins a sign-in may end at
	// (CREDVAULT_SSO_REDIRECT_ORIGINS).
	RedirectOrigins []string

	clientOnce sync.Once
	client     *http.Client
	providers  providerCache
}

// CallbackPath is where the provider sends the browser back, under
// /api/v1; the redirect URI to register at the provider is the public URL
// followed by it.
const CallbackPath = "/api/v1/auth/sso/callback"

// CallbackURL is the redirect URI to register at the provider.
func (s *Service) CallbackURL() string { return s.PublicURL + CallbackPath }

// UpdateSSOConfigInput is updateSSOConfig's input and PUT /admin/sso's
// body. ClientSecret may be left out once a configuration exists: the
// sealed one is kept.
type UpdateSSOConfigInput struct {
	Issuer         string                 `json:"issuer"`
	ClientID       string                 `json:"client_id"`
	ClientSecret   *string                `json:"client_secret,omitempty"`
	AllowedDomains []string               `json:"allowed_domains,omitempty"`
	DefaultRole    *ssoconfig.DefaultRole `json:"default_role,omitempty"`
	Enabled        *bool                  `json:"enabled,omitempty"`
}

// Limits of a configuration.
const (
	maxClientID       = 512
	maxClientSecret   = 4096
	maxAllowedDomains = 50
)

// Find returns the tenant's configuration, or nil when it has none.
func (s *Service) Find(ctx context.Context) (*ent.SSOConfig, error) {
	if _, err := s.Guard.Require(ctx, access.ReadSSOConfig); err != nil {
		return nil, err
	}
	c, err := s.Client.SSOConfig.Query().Only(ctx)
	if ent.IsNotFound(err) {
		return nil, nil
	}
	return c, err
}

// Update creates or replaces the tenant's configuration. An enabled one
// must name an issuer whose discovery document answers, so that a typo is
// found now rather than at the first sign-in.
func (s *Service) Update(ctx context.Context, in UpdateSSOConfigInput) (*ent.SSOConfig, error) {
	p, err := s.Guard.Require(ctx, access.UpdateSSOConfig)
	if err != nil {
		return nil, err
	}
	issuer, err := s.checkIssuer(ctx, in.Issuer)
	if err != nil {
		return nil, err
	}
	clientID := strings.TrimSpace(in.ClientID)
	switch {
	case clientID == "":
		return nil, apperr.Invalid("client_id", "required")
	case len(clientID) > maxClientID:
		return nil, apperr.Invalid("client_id", "too_long")
	}
	if in.ClientSecret != nil {
		switch {
		case *in.ClientSecret == "":
			return nil, apperr.Invalid("client_secret", "required")
		case len(*in.ClientSecret) > maxClientSecret:
			return nil, apperr.Invalid("client_secret", "too_long")
		}
	}
	domains, err := checkDomains(in.AllowedDomains)
	if err != nil {
		return nil, err
	}
	role := ssoconfig.DefaultRoleMember
	if in.DefaultRole != nil {
		role = *in.DefaultRole
	}
	if err := ssoconfig.DefaultRoleValidator(role); err != nil {
		return nil, apperr.Invalid("default_role", "invalid").With("allowed", access.Roles)
	}
	t, err := s.Client.Tenant.Get(ctx, p.TenantID)
	if err != nil {
		return nil, err
	}
	enabled := in.Enabled == nil || *in.Enabled
	if enabled {
		if _, err := s.providers.get(s.oidcContext(), issuer); err != nil {
			return nil, apperr.Invalid("issuer", "unreachable").With("hint", issuerProblem(err))
		}
	}
	// Concurrent first configurations of a tenant: the one that finds the
	// other's row taken updates it instead.
	var out *ent.SSOConfig
	err = store.RetryTaken(2, func() (err error) {
		out, err = s.update(ctx, p, t, in, issuer, clientID, domains, role, enabled)
		return err
	})
	return out, err
}

// update is one attempt of Update, in its own transaction.
func (s *Service) update(ctx context.Context, p *access.Principal, t *ent.Tenant, in UpdateSSOConfigInput, issuer, clientID string,
	domains []string, role ssoconfig.DefaultRole, enabled bool) (*ent.SSOConfig, error) {
	return store.Write(ctx, s.Client, func(ctx context.Context, tx *ent.Client) (*ent.SSOConfig, error) {
		// Whoever sets the default role hands it to every new user: the
		// ceiling of creating a user of that role applies.
		if err := s.Guard.Ceiling(ctx, p, access.ForRole(role.String(), t.Platform).List()); err != nil {
			return nil, err
		}
		cur, err := tx.SSOConfig.Query().Only(ctx)
		if err != nil && !ent.IsNotFound(err) {
			return nil, err
		}
		if cur == nil && in.ClientSecret == nil {
			return nil, apperr.Invalid("client_secret", "required")
		}
		id := ids.New()
		if cur != nil {
			id = cur.ID
		}
		var sealed []byte
		var version int
		if in.ClientSecret != nil {
			if version, sealed, err = s.seal(ctx, tx, p.TenantID, id, *in.ClientSecret); err != nil {
				return nil, err
			}
		}
		var c *ent.SSOConfig
		if cur == nil {
			c, err = tx.SSOConfig.Create().SetID(id).SetIssuer(issuer).SetClientID(clientID).SetClientSecretSealed(sealed).
				SetDekVersion(version).SetAllowedDomains(domains).SetDefaultRole(role).SetEnabled(enabled).SetUpdatedBy(p.ID).Save(ctx)
		} else {
			upd := tx.SSOConfig.UpdateOne(cur).SetIssuer(issuer).SetClientID(clientID).SetAllowedDomains(domains).
				SetDefaultRole(role).SetEnabled(enabled).SetUpdatedBy(p.ID)
			if sealed != nil {
				upd.SetClientSecretSealed(sealed).SetDekVersion(version)
			}
			c, err = upd.Save(ctx)
		}
		if err != nil {
			return nil, err
		}
		return c, audit.Record(ctx, tx, audit.Entry{Action: "sso.update", ResourceType: "sso_config", ResourceID: c.ID.String(),
			Details: map[string]any{"issuer": issuer, "client_id": clientID, "allowed_domains": domains,
				"default_role": role, "enabled": enabled, "new_client_credential": in.ClientSecret != nil}})
	})
}

// checkIssuer validates an issuer URL: absolute, https in production, no
// query or fragment (OpenID Connect Discovery §4), and an allowed target.
func (s *Service) checkIssuer(ctx context.Context, raw string) (string, error) {
	issuer := strings.TrimSpace(raw)
	if issuer == "" {
		return "", apperr.Invalid("issuer", "required")
	}
	u, err := url.Parse(issuer)
	if err != nil || len(issuer) > 2048 {
		return "", apperr.Invalid("issuer", "must be an absolute https URL")
	}
	if u.RawQuery != "" || u.Fragment != "" || strings.Contains(issuer, "#") {
		return "", apperr.Invalid("issuer", "must have no query or fragment")
	}
	if _, err := s.Targets.Check(ctx, issuer); err != nil {
		if e, ok := apperr.Known(err); ok && e.Code == apperr.Validation {
			reason, _ := e.Details["reason"].(string)
			out := apperr.Invalid("issuer", reason)
			if host, ok := e.Details["host"]; ok {
				out = out.With("host", host)
			}
			return "", out
		}
		return "", err
	}
	return issuer, nil
}

// checkDomains normalizes the allowed e-mail domains: lower case, no
// leading @, each a host name, without duplicates.
func checkDomains(in []string) ([]string, error) {
	if len(in) > maxAllowedDomains {
		return nil, apperr.Invalid("allowed_domains", "too_long").With("max", maxAllowedDomains)
	}
	out := []string{}
	for _, d := range in {
		d = strings.TrimPrefix(strings.ToLower(strings.TrimSpace(d)), "@")
		if !hostName(d) {
			return nil, apperr.Invalid("allowed_domains", "invalid").With("value", d)
		}
		if !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	return out, nil
}

// hostName reports whether d is a DNS name of at least two labels.
func hostName(d string) bool {
	if len(d) > 253 || !strings.Contains(d, ".") {
		return false
	}
	for _, label := range strings.Split(d, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if (r < 'a' || r > 'z') && (r < '0' || r > '9') && r != '-' {
				return false
			}
		}
	}
	return true
}

// seal seals a client secret with the tenant's active DEK.
func (s *Service) seal(ctx context.Context, tx *ent.Client, tenant, id uuid.UUID, sec string) (int, []byte, error) {
	version, key, err := s.DEKs.Active(ctx, tx, tenant)
	if err != nil {
		return 0, nil, err
	}
	sealed, err := crypt.SSOSecret.Seal(key, []byte(sec), tenant, id, version)
	return version, sealed, err
}

// openSecret opens the configuration's client secret.
func (s *Service) openSecret(ctx context.Context, c *ent.SSOConfig) (string, error) {
	key, err := s.DEKs.Key(ctx, c.TenantID, c.DekVersion)
	if err != nil {
		return "", err
	}
	plain, err := crypt.SSOSecret.Open(key, c.ClientSecretSealed, c.TenantID, c.ID, c.DekVersion)
	return string(plain), err
}

// httpClient is the client that talks to providers: bounded in time, and
// dialing only the addresses Targets allows.
func (s *Service) httpClient() *http.Client {
	s.clientOnce.Do(func() {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.Proxy = nil
		tr.DialContext = s.Targets.Dialer(providerTimeout).DialContext
		s.client = &http.Client{Timeout: providerTimeout, Transport: tr,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	})
	return s.client
}

// providerTimeout bounds each request to a provider.
const providerTimeout = 10 * time.Second
