package sso

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/google/uuid"
	"golang.org/x/oauth2"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/ent/ssoconfig"
	"github.com/credvault/credvault/ent/ssologinstate"
	"github.com/credvault/credvault/ent/tenant"
	"github.com/credvault/credvault/ent/user"
	"github.com/credvault/credvault/internal/access"
	"github.com/credvault/credvault/internal/audit"
	"github.com/credvault/credvault/internal/identity"
	"github.com/credvault/credvault/internal/platform/apperr"
	"github.com/credvault/credvault/internal/platform/secret"
	"github.com/credvault/credvault/internal/platform/store"
	"github.com/credvault/credvault/internal/vault/dek"
	"github.com/credvault/credvault/internal/webhooks"
)

// StateTTL is how long a sign-in may take between start and callback.
const StateTTL = 10 * time.Minute

// scopes are asked of every provider: the ID token then carries the
// e-mail address and whether the provider verified it.
var scopes = []string{oidc.ScopeOpenID, "email", "profile"}

// Start begins a sign-in to the tenant of slug and returns the provider's
// authorization URL, where the browser goes next. redirect, when set, is
// where the session goes once the sign-in ends; its origin must be the
// server's own or one of RedirectOrigins.
func (s *Service) Start(ctx context.Context, slug, redirect string) (string, error) {
	redirect, err := s.checkRedirect(redirect)
	if err != nil {
		return "", err
	}
	ctx = store.Unrestricted(ctx)
	t, err := s.Client.Tenant.Query().Where(tenant.Slug(strings.ToLower(strings.TrimSpace(slug)))).Only(ctx)
	if ent.IsNotFound(err) {
		return "", apperr.NotFoundf("tenant")
	}
	if err != nil {
		return "", err
	}
	if t.Status != tenant.StatusActive {
		return "", refused("tenant_inactive", "the tenant is not active")
	}
	c, err := s.enabledConfig(ctx, t.ID)
	if err != nil {
		return "", err
	}
	provider, err := s.providers.get(s.oidcContext(), c.Issuer)
	if err != nil {
		return "", unreachable(c.Issuer, err)
	}
	state, err := randomToken()
	if err != nil {
		return "", err
	}
	nonce, err := randomToken()
	if err != nil {
		return "", err
	}
	verifier := oauth2.GenerateVerifier()
	now := store.Now()
	err = store.WithTx(ctx, s.Client, func(ctx context.Context, tx *ent.Client) error {
		// Sign-ins never finished are dropped as new ones begin.
		if _, err := tx.SSOLoginState.Delete().Where(ssologinstate.ExpiresAtLT(now)).Exec(ctx); err != nil {
			return err
		}
		return tx.SSOLoginState.Create().SetTenantID(t.ID).SetStateHash(secret.Hash(state)).SetNonce(nonce).
			SetCodeVerifier(verifier).SetRedirectURI(redirect).SetExpiresAt(now.Add(StateTTL)).Exec(ctx)
	})
	if err != nil {
		return "", err
	}
	conf := s.oauthConfig(c, provider, "")
	return conf.AuthCodeURL(state, oidc.Nonce(nonce), oauth2.S256ChallengeOption(verifier)), nil
}

// Result is a finished sign-in: the session, and where to send it when
// the sign-in was started with a redirect_uri.
type Result struct {
	Session  *identity.Session
	Redirect string
}

// RedirectURL is the redirect_uri with the session in its fragment, which
// browsers never send to a server; "" when the session is answered as JSON.
func (r *Result) RedirectURL() string {
	if r.Redirect == "" {
		return ""
	}
	v := url.Values{"access_token": {r.Session.AccessToken}, "refresh_token": {r.Session.RefreshToken},
		"token_type": {identity.TokenType}, "expires_in": {strconv.Itoa(r.Session.ExpiresIn)}}
	return r.Redirect + "#" + v.Encode()
}

// Callback finishes a sign-in: the state must name a sign-in begun here,
// unused and unexpired; the code is exchanged with its PKCE verifier; the
// ID token's signature, issuer, audience, expiry and nonce are verified;
// its e-mail must be verified and in an allowed domain. The user is found
// in the tenant, or created with the default role. Every refusal is
// audited as a failed auth.sso_login and says what went wrong.
func (s *Service) Callback(ctx context.Context, q url.Values) (*Result, error) {
	uctx := store.Unrestricted(ctx)
	st, err := s.takeState(uctx, q.Get("state"))
	if err != nil {
		return nil, err
	}
	fail := func(e *apperr.Error) error { return s.failed(uctx, st.TenantID, e) }
	if !store.Now().Before(st.ExpiresAt) {
		return nil, fail(apperr.New(apperr.Unauthorized, "the sign-in took too long: start it again").With("reason", "state_expired"))
	}
	if code := q.Get("error"); code != "" {
		e := apperr.New(apperr.Unauthorized, "the identity provider refused the sign-in").With("reason", "provider_error")
		if errorCode.MatchString(code) {
			e = e.With("provider_error", code)
		}
		return nil, fail(e)
	}
	code := q.Get("code")
	if code == "" {
		return nil, fail(apperr.Invalid("code", "required"))
	}
	t, err := s.Client.Tenant.Get(uctx, st.TenantID)
	if err != nil {
		return nil, err
	}
	if t.Status != tenant.StatusActive {
		return nil, fail(refused("tenant_inactive", "the tenant is not active"))
	}
	c, err := s.enabledConfig(uctx, st.TenantID)
	if err != nil {
		if e, ok := apperr.Known(err); ok {
			return nil, fail(e)
		}
		return nil, err
	}
	claims, err := s.verify(ctx, c, st, code)
	if err != nil {
		if e, ok := apperr.Known(err); ok {
			return nil, fail(e)
		}
		return nil, err
	}
	email, err := identity.NormalizeEmail(claims.Email)
	if err != nil {
		return nil, fail(refused("email_missing", "the identity provider gave no valid e-mail address"))
	}
	if !claims.verified() {
		return nil, fail(refused("email_not_verified", "the identity provider has not verified the e-mail address"))
	}
	domain := email[strings.LastIndexByte(email, '@')+1:]
	if len(c.AllowedDomains) > 0 && !slices.Contains(c.AllowedDomains, domain) {
		return nil, fail(refused("domain_not_allowed", "the e-mail domain is not allowed to sign in to this tenant").With("domain", domain))
	}
	// Two first sign-ins of one user at once (two tabs): the one that finds
	// the other's user taken signs in as that user instead.
	var sess *identity.Session
	err = store.RetryTaken(2, func() (err error) {
		sess, err = s.signIn(uctx, t, c, claims, email, fail)
		return err
	})
	if err != nil {
		return nil, err
	}
	return &Result{Session: sess.Detach(uctx), Redirect: st.RedirectURI}, nil
}

// signIn finds the user of email in t, or creates it with c's default
// role, and opens its session, in one transaction (whose reads see a user
// a concurrent sign-in created, on SQLite's shared write transaction too).
func (s *Service) signIn(uctx context.Context, t *ent.Tenant, c *ent.SSOConfig, claims *idClaims, email string,
	fail func(*apperr.Error) error) (*identity.Session, error) {
	disabled := refused("user_disabled", "the user is disabled in this tenant")
	var sess *identity.Session
	err := store.WithTx(uctx, s.Client, func(ctx context.Context, tx *ent.Client) error {
		// The session's tenant and user are read in its transaction, as
		// Session.Detach expects.
		t, err := tx.Tenant.Get(ctx, t.ID)
		if err != nil {
			return err
		}
		u, err := tx.User.Query().Where(user.TenantID(t.ID), user.Email(email)).Only(ctx)
		created := ent.IsNotFound(err)
		switch {
		case created:
			u, err = tx.User.Create().SetTenantID(t.ID).SetEmail(email).SetName(claims.name()).
				SetRole(user.Role(c.DefaultRole)).Save(ctx)
			if err != nil {
				return err
			}
		case err != nil:
			return err
		case u.Status != user.StatusActive:
			return disabled
		}
		actx := access.NewContext(ctx, &access.Principal{Kind: access.KindUser, ID: u.ID, UserID: u.ID,
			TenantID: t.ID, HomeTenantID: t.ID, Plan: t.Plan})
		if created {
			if err := audit.Record(actx, tx, audit.Entry{Action: "user.create", ResourceType: "user", ResourceID: u.ID.String(),
				Details: map[string]any{"email": email, "role": u.Role, "via": "sso"}}); err != nil {
				return err
			}
			if err := s.Events.Emit(actx, tx, t.ID, webhooks.UserCreated, u); err != nil {
				return err
			}
		}
		if err := audit.Record(actx, tx, audit.Entry{Action: "auth.sso_login", ResourceType: "user", ResourceID: u.ID.String(),
			Details: map[string]any{"issuer": c.Issuer, "subject": claims.Subject, "created": created}}); err != nil {
			return err
		}
		sess, err = s.Identity.SignIn(ctx, tx, u, t)
		return err
	})
	if errors.Is(err, disabled) {
		// Audited once the transaction has ended: on SQLite the audit
		// write would wait on the transaction's own lock.
		return nil, fail(disabled)
	}
	return sess, err
}

// errorCode is the shape of an OAuth error code, the only part of a
// provider's error repeated to the client.
var errorCode = regexp.MustCompile(`^[a-z_]{1,64}$`)

// takeState finds the sign-in of state and deletes it: a state works once.
// An unknown state is refused, audited in the platform tenant.
func (s *Service) takeState(ctx context.Context, state string) (*ent.SSOLoginState, error) {
	mismatch := apperr.New(apperr.Unauthorized, "the sign-in state matches no sign-in in progress: it was altered or already used").
		With("reason", "state_mismatch")
	if state == "" {
		return nil, s.failed(ctx, uuid.Nil, mismatch)
	}
	st, err := s.Client.SSOLoginState.Query().Where(ssologinstate.StateHash(secret.Hash(state))).Only(ctx)
	if ent.IsNotFound(err) {
		return nil, s.failed(ctx, uuid.Nil, mismatch)
	}
	if err != nil {
		return nil, err
	}
	n, err := s.Client.SSOLoginState.Delete().Where(ssologinstate.ID(st.ID)).Exec(ctx)
	if err != nil {
		return nil, err
	}
	if n == 0 { // a concurrent callback took it first
		return nil, s.failed(ctx, st.TenantID, mismatch)
	}
	return st, nil
}

// failed audits a refused sign-in in tenant (the platform tenant when it
// is unknown) and returns e.
func (s *Service) failed(ctx context.Context, tenantID uuid.UUID, e *apperr.Error) error {
	if tenantID == uuid.Nil {
		t, err := s.Client.Tenant.Query().Where(tenant.Platform(true)).First(ctx)
		if err != nil && !ent.IsNotFound(err) {
			return err
		}
		if t != nil {
			tenantID = t.ID
		}
	}
	if tenantID != uuid.Nil {
		if err := audit.Record(ctx, s.Client, audit.Entry{Action: "auth.sso_login", ResourceType: "user", Outcome: audit.Failure,
			TenantID: tenantID, Details: map[string]any{"reason": e.Details["reason"], "message": e.Message}}); err != nil {
			return err
		}
	}
	return e
}

// enabledConfig is the tenant's configuration when it is enabled.
func (s *Service) enabledConfig(ctx context.Context, tenantID uuid.UUID) (*ent.SSOConfig, error) {
	c, err := s.Client.SSOConfig.Query().Where(ssoconfig.TenantID(tenantID)).Only(ctx)
	if ent.IsNotFound(err) {
		return nil, apperr.New(apperr.NotFound, "single sign-on is not configured for this tenant").With("reason", "sso_not_configured")
	}
	if err != nil {
		return nil, err
	}
	if !c.Enabled {
		return nil, refused("sso_disabled", "single sign-on is disabled for this tenant")
	}
	return c, nil
}

// idClaims are the claims of an ID token that sign a user in.
type idClaims struct {
	Subject  string `json:"sub"`
	Email    string `json:"email"`
	Verified any    `json:"email_verified"`
	Name     string `json:"name"`
}

// verified reads email_verified, which some providers send as a string.
func (c *idClaims) verified() bool {
	switch v := c.Verified.(type) {
	case bool:
		return v
	case string:
		return v == "true"
	}
	return false
}

// name is the user's display name, bounded as the users table bounds it:
// 200 bytes (cut at 200 characters, a name of é's was refused).
func (c *idClaims) name() string { return store.Text(strings.TrimSpace(c.Name), 200) }

// verify exchanges the code and verifies the ID token it brings.
func (s *Service) verify(ctx context.Context, c *ent.SSOConfig, st *ent.SSOLoginState, code string) (*idClaims, error) {
	provider, err := s.providers.get(s.oidcContext(), c.Issuer)
	if err != nil {
		return nil, unreachable(c.Issuer, err)
	}
	clientSecret, err := dek.Reopen(c, func(c *ent.SSOConfig) (string, error) { return s.openSecret(ctx, c) },
		func() (*ent.SSOConfig, error) { return s.Client.SSOConfig.Get(ctx, c.ID) })
	if err != nil {
		return nil, err
	}
	octx := oidc.ClientContext(ctx, s.httpClient())
	tok, err := s.oauthConfig(c, provider, clientSecret).Exchange(octx, code, oauth2.VerifierOption(st.CodeVerifier))
	if err != nil {
		var re *oauth2.RetrieveError
		if !errors.As(err, &re) {
			return nil, unreachable(c.Issuer, err)
		}
		e := apperr.New(apperr.Unauthorized, "the identity provider did not accept the authorization code").With("reason", "code_exchange_failed")
		if errorCode.MatchString(re.ErrorCode) {
			e = e.With("provider_error", re.ErrorCode)
		}
		return nil, e
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return nil, apperr.New(apperr.Unauthorized, "the identity provider sent no ID token").With("reason", "id_token_missing")
	}
	idt, err := provider.Verifier(&oidc.Config{ClientID: c.ClientID}).Verify(octx, raw)
	if err != nil {
		return nil, tokenProblem(err)
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(st.Nonce)) != 1 {
		return nil, apperr.New(apperr.Unauthorized, "the ID token's nonce does not match the sign-in's").With("reason", "nonce_mismatch")
	}
	var claims idClaims
	if err := idt.Claims(&claims); err != nil {
		return nil, apperr.New(apperr.Unauthorized, "the ID token's claims are malformed").With("reason", "id_token_invalid")
	}
	return &claims, nil
}

// tokenProblem names what failed in an ID token's verification, without
// repeating the token.
func tokenProblem(err error) *apperr.Error {
	reason, msg := "id_token_invalid", "the ID token is invalid"
	var expired *oidc.TokenExpiredError
	switch m := err.Error(); {
	case errors.As(err, &expired):
		reason, msg = "id_token_expired", "the ID token has expired"
	case strings.Contains(m, "audience"):
		reason, msg = "audience_mismatch", "the ID token was issued to another client"
	case strings.Contains(m, "issued by a different provider"):
		reason, msg = "issuer_mismatch", "the ID token was issued by another issuer"
	case strings.Contains(m, "signature"):
		reason, msg = "signature_invalid", "the ID token's signature does not verify with the provider's keys"
	}
	return apperr.New(apperr.Unauthorized, msg).With("reason", reason)
}

// refused is a 403 with details.reason.
func refused(reason, msg string) *apperr.Error {
	return apperr.New(apperr.Forbidden, msg).With("reason", reason)
}

// unreachable is the 503 of a provider that did not answer as one.
func unreachable(issuer string, err error) *apperr.Error {
	return apperr.ServiceUnavailable("the identity provider's issuer is unreachable: "+issuerProblem(err)).
		With("reason", "issuer_unreachable").With("issuer", issuer)
}

// issuerProblem says why a provider's discovery failed, in words safe to
// show: a network failure, or an answer that is not a provider's.
func issuerProblem(err error) string {
	var ne net.Error
	var ue *url.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		return "it did not answer in time"
	case errors.As(err, &ue):
		return "it could not be reached"
	case strings.Contains(err.Error(), "issuer did not match"):
		return "its discovery document names another issuer"
	}
	return "its discovery document could not be read"
}

// oauthConfig is the OAuth client of c.
func (s *Service) oauthConfig(c *ent.SSOConfig, p *oidc.Provider, clientSecret string) *oauth2.Config {
	return &oauth2.Config{ClientID: c.ClientID, ClientSecret: clientSecret, Endpoint: p.Endpoint(),
		RedirectURL: s.CallbackURL(), Scopes: scopes}
}

// oidcContext is the context providers are discovered with: it outlives
// the request, as a cached provider fetches its keys later with it.
func (s *Service) oidcContext() context.Context {
	return oidc.ClientContext(context.Background(), s.httpClient())
}

// checkRedirect validates a redirect_uri: absolute http(s), no fragment,
// of the server's own origin or an allowed one.
func (s *Service) checkRedirect(raw string) (string, error) {
	if raw == "" {
		return "", nil
	}
	u, err := url.Parse(raw)
	if err != nil || !u.IsAbs() || u.Host == "" || u.User != nil || (u.Scheme != "https" && u.Scheme != "http") || len(raw) > 2048 {
		return "", apperr.Invalid("redirect_uri", "invalid")
	}
	if strings.Contains(raw, "#") {
		return "", apperr.Invalid("redirect_uri", "has_fragment")
	}
	origin := Origin(u)
	if own, err := url.Parse(s.PublicURL); err == nil && Origin(own) == origin {
		return raw, nil
	}
	if slices.Contains(s.RedirectOrigins, origin) {
		return raw, nil
	}
	return "", apperr.Invalid("redirect_uri", "origin_not_allowed").
		With("hint", "the origin must be the server's public URL or listed in CREDVAULT_SSO_REDIRECT_ORIGINS")
}

// Origin is u's scheme and host, lower case, as CREDVAULT_SSO_REDIRECT_ORIGINS
// lists origins.
func Origin(u *url.URL) string {
	return strings.ToLower(u.Scheme + "://" + u.Host)
}

// randomToken is 32 random bytes, base64url.
func randomToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// providerCache keeps each issuer's discovered provider for a while: its
// key set is then fetched once, not at every sign-in.
type providerCache struct {
	mu sync.Mutex
	m  map[string]cachedProvider
}

type cachedProvider struct {
	p  *oidc.Provider
	at time.Time
}

// providerTTL is how long a discovery document is trusted.
const providerTTL = 10 * time.Minute

func (c *providerCache) get(ctx context.Context, issuer string) (*oidc.Provider, error) {
	c.mu.Lock()
	cp, ok := c.m[issuer]
	c.mu.Unlock()
	if ok && time.Since(cp.at) < providerTTL {
		return cp.p, nil
	}
	p, err := oidc.NewProvider(ctx, issuer)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.m == nil {
		c.m = map[string]cachedProvider{}
	}
	c.m[issuer] = cachedProvider{p: p, at: time.Now()}
	c.mu.Unlock()
	return p, nil
}
