package rest

import (
	"context"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/internal/access"
	"github.com/credvault/credvault/internal/platform/apperr"
	"github.com/credvault/credvault/internal/sso"
)

// ssoConfigJSON is a tenant's single sign-on configuration in REST
// responses: everything but the client secret, and the redirect URI to
// register at the provider.
type ssoConfigJSON struct {
	ID             uuid.UUID  `json:"id"`
	TenantID       uuid.UUID  `json:"tenant_id"`
	Issuer         string     `json:"issuer"`
	ClientID       string     `json:"client_id"`
	AllowedDomains []string   `json:"allowed_domains"`
	DefaultRole    string     `json:"default_role"`
	Enabled        bool       `json:"enabled"`
	RedirectURI    string     `json:"redirect_uri"`
	UpdatedBy      *uuid.UUID `json:"updated_by"`
	CreatedAt      time.Time  `json:"created_at"`
	UpdatedAt      time.Time  `json:"updated_at"`
}

func (a *API) toSSOConfigJSON(c *ent.SSOConfig) *ssoConfigJSON {
	return &ssoConfigJSON{ID: c.ID, TenantID: c.TenantID, Issuer: c.Issuer, ClientID: c.ClientID,
		AllowedDomains: orEmpty(c.AllowedDomains), DefaultRole: c.DefaultRole.String(), Enabled: c.Enabled,
		RedirectURI: a.Resolver.SSO.CallbackURL(), UpdatedBy: c.UpdatedBy, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}
}

// ssoStarted documents the start route, whose only answer is a redirect.
type ssoStarted struct{}

func (a *API) ssoRoutes() []Route {
	return []Route{
		HandleBody(Route{Method: http.MethodPut, Path: "/admin/sso", Op: access.UpdateSSOConfig,
			Summary: "Configure single sign-on over OpenID Connect: issuer, client, allowed e-mail domains, the role of new users",
			Status:  http.StatusOK, Message: "single sign-on configured"},
			func(ctx context.Context, _ *Call, in *sso.UpdateSSOConfigInput) (*ssoConfigJSON, error) {
				c, err := a.Resolver.Mutation().UpdateSSOConfig(ctx, *in)
				if err != nil {
					return nil, err
				}
				return a.toSSOConfigJSON(c), nil
			}),
		Handle(Route{Method: http.MethodGet, Path: "/admin/sso", Op: access.ReadSSOConfig,
			Summary: "The tenant's single sign-on configuration, without its client secret",
			Status:  http.StatusOK, Message: "single sign-on configuration"},
			func(ctx context.Context, _ *Call) (*ssoConfigJSON, error) {
				c, err := a.Resolver.Query().SsoConfig(ctx)
				if err != nil {
					return nil, err
				}
				if c == nil {
					return nil, apperr.New(apperr.NotFound, "single sign-on is not configured for this tenant")
				}
				return a.toSSOConfigJSON(c), nil
			}),
		Handle(Route{Method: http.MethodGet, Path: "/auth/sso/{tenantSlug}/start", Op: access.StartSSO, Redirects: true,
			Summary: "Begin signing in to the tenant through its identity provider: redirects there (authorization code with PKCE, " +
				"state and nonce); redirect_uri, optional, is where the session goes at the end",
			Status: http.StatusFound},
			func(ctx context.Context, c *Call) (*ssoStarted, error) {
				to, err := a.Resolver.SSO.Start(ctx, c.Param("tenantSlug"), c.Query("redirect_uri"))
				if err != nil {
					return nil, err
				}
				c.RedirectTo(to)
				return nil, nil
			}),
		Handle(Route{Method: http.MethodGet, Path: "/auth/sso/callback", Op: access.FinishSSO, Redirects: true, Secret: true,
			Summary: "Where the identity provider sends the browser back: verifies the sign-in and answers the session as login does, " +
				"or redirects to the sign-in's redirect_uri with the session in the fragment",
			Status: http.StatusOK, Message: "login successful"},
			func(ctx context.Context, c *Call) (*session, error) {
				res, err := a.Resolver.SSO.Callback(ctx, c.Request.URL.Query())
				if err != nil {
					return nil, err
				}
				if to := res.RedirectURL(); to != "" {
					c.RedirectTo(to)
					return nil, nil
				}
				return sessionJSON(res.Session.Payload()), nil
			}),
	}
}
