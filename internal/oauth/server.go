package oauth

import (
	"context"
	"database/sql"
	"encoding/base64"
	"encoding/json"
	"errors"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/ent/revokedtoken"
	"github.com/credvault/credvault/internal/access"
	"github.com/credvault/credvault/internal/audit"
	"github.com/credvault/credvault/internal/identity/tokens"
	"github.com/credvault/credvault/internal/platform/apperr"
	"github.com/credvault/credvault/internal/platform/inputs"
	"github.com/credvault/credvault/internal/platform/invalidate"
	"github.com/credvault/credvault/internal/platform/ipallow"
	"github.com/credvault/credvault/internal/platform/metrics"
	"github.com/credvault/credvault/internal/platform/ratelimit"
	"github.com/credvault/credvault/internal/platform/reqinfo"
	"github.com/credvault/credvault/internal/platform/secret"
	"github.com/credvault/credvault/internal/platform/store"
)

// AccessClaims are the claims of an access token (RFC 9068), plus tid.
type AccessClaims struct {
	jwt.RegisteredClaims
	ClientID string `json:"client_id"`
	Scope    string `json:"scope"`
	TenantID string `json:"tid"`
	// IssuedAtMicros is when, to the microsecond, the client state the
	// token was issued under was read (at most iat): a token issued on a
	// state read before its client was disabled must be told from one
	// issued after, however briefly the cache held the old state.
	IssuedAtMicros int64 `json:"iat_us,omitempty"`
	// SecretVersion is the version of the client secret that obtained the
	// token: the token ends when that secret does.
	SecretVersion int `json:"sv"`
}

// Server is the authorization server.
type Server struct {
	db      *ent.Client
	keys    *tokens.Keyring
	bus     *invalidate.Bus
	metrics *metrics.Metrics
	audit   *audit.Batcher
	// authenticate finds an API-key principal for introspection and
	// revocation by a key rather than a client.
	authenticate func(context.Context, *http.Request) (*access.Principal, error)
	// perIP limits token requests per client address; nil limits nothing.
	perIP   *ratelimit.Limiter
	clients *clientCache
	revoked *revokedSet
}

// Config wires a Server.
type Config struct {
	DB           *ent.Client
	Keys         *tokens.Keyring
	Bus          *invalidate.Bus
	Metrics      *metrics.Metrics
	Audit        *audit.Batcher
	Authenticate func(context.Context, *http.Request) (*access.Principal, error)
	PerIP        *ratelimit.Limiter
}

// New returns the authorization server, with the unexpired revoked tokens
// loaded into memory.
func New(ctx context.Context, c Config) (*Server, error) {
	s := &Server{db: c.DB, keys: c.Keys, bus: c.Bus, metrics: c.Metrics, audit: c.Audit,
		authenticate: c.Authenticate, perIP: c.PerIP,
		clients: newClientCache(c.DB, c.Bus), revoked: &revokedSet{db: c.DB}}
	if err := s.revoked.reload(ctx); err != nil {
		return nil, err
	}
	c.Bus.Subscribe(s.revoked.invalidate)
	return s, nil
}

// Audience is the aud of access tokens: the API they are for.
func (s *Server) Audience() string { return s.keys.Issuer() + "/api" }

// oauthError is an RFC 6749 §5.2 error response.
type oauthError struct {
	status      int
	Code        string `json:"error"`
	Description string `json:"error_description,omitempty"`
	basic       bool
}

func (e *oauthError) Error() string { return e.Code + ": " + e.Description }

func failure(status int, code, desc string) *oauthError {
	return &oauthError{status: status, Code: code, Description: desc}
}

// writeJSON writes an RFC response; token answers are never cached.
func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Pragma", "no-cache")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// writeError answers err as RFC 6749 §5.2 does. An unavailable database is
// 503 temporarily_unavailable with Retry-After (the code §4.1.2.1 gives the
// authorization endpoint): the client should retry, not give up.
func writeError(w http.ResponseWriter, r *http.Request, err error) {
	var oe *oauthError
	if !errors.As(err, &oe) {
		e := apperr.From(err)
		switch e.Code {
		case apperr.RateLimited:
			w.Header().Set("Retry-After", toString(e.Details["retry_after"]))
			oe = failure(http.StatusTooManyRequests, "slow_down", e.Message)
		case apperr.Unavailable:
			apperr.LogUnavailable(r.Context(), e)
			w.Header().Set("Retry-After", toString(e.Details["retry_after"]))
			oe = failure(http.StatusServiceUnavailable, "temporarily_unavailable", e.Message)
		default:
			slog.ErrorContext(r.Context(), "internal error", "err", err,
				"request_id", reqinfo.FromContext(r.Context()).RequestID)
			oe = failure(http.StatusInternalServerError, "server_error", "internal server error")
		}
	}
	if oe.status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="credvault", error="`+oe.Code+`"`)
	}
	writeJSON(w, oe.status, oe)
}

func toString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// parseForm reads an application/x-www-form-urlencoded POST body.
func parseForm(r *http.Request) error {
	if r.Method != http.MethodPost {
		return failure(http.StatusMethodNotAllowed, "invalid_request", "use POST")
	}
	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "application/x-www-form-urlencoded" {
		return failure(http.StatusBadRequest, "invalid_request", "the body must be application/x-www-form-urlencoded")
	}
	if err := r.ParseForm(); err != nil {
		return failure(http.StatusBadRequest, "invalid_request", "the body is not a valid form")
	}
	for k, v := range r.PostForm {
		if len(v) > 1 {
			return failure(http.StatusBadRequest, "invalid_request", "parameter "+k+" is repeated")
		}
		// The inputs rules: what is not UTF-8 names no client or token,
		// and the database would refuse to look it up.
		if inputs.String(k, k) != nil || inputs.String(k, v[0]) != nil {
			return failure(http.StatusBadRequest, "invalid_request", "parameters must be UTF-8 without NUL characters")
		}
	}
	return nil
}

// clientCredentials reads client_secret_basic or client_secret_post; using
// both is an invalid_request. basic reports which one was used.
func clientCredentials(r *http.Request) (id, sec string, basic bool, err error) {
	h := r.Header.Get("Authorization")
	if scheme, value, ok := strings.Cut(h, " "); ok && strings.EqualFold(scheme, "basic") {
		raw, derr := base64.StdEncoding.DecodeString(strings.TrimSpace(value))
		user, pass, found := strings.Cut(string(raw), ":")
		if derr != nil || !found {
			return "", "", true, &oauthError{status: http.StatusUnauthorized, Code: "invalid_client", Description: "malformed Basic credentials", basic: true}
		}
		// RFC 6749 §2.3.1: both parts are form-encoded before base64.
		id, err1 := url.QueryUnescape(user)
		sec, err2 := url.QueryUnescape(pass)
		if err1 != nil || err2 != nil || inputs.String("client_id", id) != nil || inputs.String("client_secret", sec) != nil {
			return "", "", true, &oauthError{status: http.StatusUnauthorized, Code: "invalid_client", Description: "malformed Basic credentials", basic: true}
		}
		if r.PostForm.Get("client_secret") != "" {
			return "", "", true, failure(http.StatusBadRequest, "invalid_request", "use one client authentication method")
		}
		if bodyID := r.PostForm.Get("client_id"); bodyID != "" && bodyID != id {
			return "", "", true, failure(http.StatusBadRequest, "invalid_request", "client_id does not match the Basic credentials")
		}
		return id, sec, true, nil
	}
	return r.PostForm.Get("client_id"), r.PostForm.Get("client_secret"), false, nil
}

// authenticateClient checks a client's secret (or its rotated-out secret
// within the grace period) and that the client and its tenant are active,
// from the client cache. It returns the version of the secret presented.
func (s *Server) authenticateClient(ctx context.Context, id, sec string, basic bool) (*client, int, error) {
	invalid := &oauthError{status: http.StatusUnauthorized, Code: "invalid_client", Description: "client authentication failed", basic: basic}
	if id == "" || sec == "" {
		invalid.Description = "client credentials are required"
		return nil, 0, invalid
	}
	ctx = store.Unrestricted(ctx)
	c, err := s.clients.get(ctx, id)
	if err != nil {
		return nil, 0, err
	}
	if !c.found {
		return nil, 0, invalid
	}
	version, ok := c.secretVersionOf(secret.Hash(sec), time.Now())
	reason := ""
	switch {
	case !ok:
		reason = "invalid_secret"
	case !c.active:
		reason = "client_disabled"
	case !c.tenantActive:
		reason = "tenant_inactive"
	case !c.tenantAllow.Allows(ipallow.ClientIP(ctx)):
		reason = "ip_not_allowed"
	}
	if reason != "" {
		s.metrics.AuthAttempts.WithLabelValues("client_credentials", reason).Inc()
		s.audit.Tally(ctx, audit.Entry{Action: "oauth.client_auth", ResourceType: "oauth_client", ResourceID: c.clientID,
			Outcome: audit.Failure, TenantID: c.tenantID, Details: map[string]any{"reason": reason}})
		return nil, 0, invalid
	}
	s.metrics.AuthAttempts.WithLabelValues("client_credentials", "success").Inc()
	return c, version, nil
}

// Token is POST /oauth/token: the client_credentials grant.
func (s *Server) Token(w http.ResponseWriter, r *http.Request) {
	resp, err := s.token(r)
	if err != nil {
		result := "server_error"
		var oe *oauthError
		switch {
		case errors.As(err, &oe):
			result = oe.Code
		case apperr.Is(err, apperr.RateLimited):
			result = "slow_down"
		case apperr.IsUnavailable(err):
			result = "temporarily_unavailable"
		}
		s.metrics.TokensIssued.WithLabelValues(result).Inc()
		writeError(w, r, err)
		return
	}
	s.metrics.TokensIssued.WithLabelValues("issued").Inc()
	writeJSON(w, http.StatusOK, resp)
}

// tokenResponse is RFC 6749 §5.1.
type tokenResponse struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int    `json:"expires_in"`
	Scope       string `json:"scope"`
}

func (s *Server) token(r *http.Request) (*tokenResponse, error) {
	ctx := r.Context()
	if s.perIP != nil {
		if err := s.perIP.Allow(reqinfo.FromContext(ctx).IP); err != nil {
			return nil, err
		}
	}
	if err := parseForm(r); err != nil {
		return nil, err
	}
	grant := r.PostForm.Get("grant_type")
	switch {
	case grant == "":
		return nil, failure(http.StatusBadRequest, "invalid_request", "grant_type is required")
	case grant != GrantClientCredentials:
		return nil, failure(http.StatusBadRequest, "unsupported_grant_type", "only client_credentials is supported")
	}
	id, sec, basic, err := clientCredentials(r)
	if err != nil {
		return nil, err
	}
	now := store.Now()
	c, version, err := s.authenticateClient(ctx, id, sec, basic)
	if err != nil {
		return nil, err
	}
	if !slices.Contains(c.grantTypes, GrantClientCredentials) {
		return nil, failure(http.StatusBadRequest, "unauthorized_client", "the client may not use client_credentials")
	}
	granted := c.scopes.List()
	if requested := strings.Fields(r.PostForm.Get("scope")); len(requested) > 0 {
		for _, sc := range requested {
			if !c.scopes.Has(sc) {
				return nil, failure(http.StatusBadRequest, "invalid_scope", "scope "+sc+" is not granted to the client")
			}
		}
		granted = access.NewSet(requested...).List()
	}
	ttl := c.tokenTTL
	claims := AccessClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer: s.keys.Issuer(), Subject: c.clientID, Audience: jwt.ClaimStrings{s.Audience()},
			IssuedAt: jwt.NewNumericDate(now), NotBefore: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(ttl)),
			ID: uuid.NewString(),
		},
		ClientID: c.clientID, Scope: strings.Join(granted, " "), TenantID: c.tenantID.String(),
		IssuedAtMicros: c.loaded.UnixMicro(), SecretVersion: version,
	}
	at, err := s.keys.Sign(claims, tokens.TypeAccess)
	if err != nil {
		return nil, err
	}
	s.audit.Tally(store.Unrestricted(ctx), audit.Entry{Action: "oauth.token", ResourceType: "oauth_client", ResourceID: c.clientID,
		TenantID: c.tenantID, Details: map[string]any{"grant_type": GrantClientCredentials, "scope": claims.Scope}})
	return &tokenResponse{AccessToken: at, TokenType: "Bearer", ExpiresIn: int(ttl.Seconds()), Scope: claims.Scope}, nil
}

// inspect verifies an access token and tells whether it is active now:
// signed by us, unexpired, not revoked, its client active and its secret
// and status unchanged since the token was issued.
func (s *Server) inspect(ctx context.Context, token string) (*AccessClaims, *client, string, error) {
	var c AccessClaims
	if err := s.keys.Parse(ctx, token, &c, tokens.TypeAccess, s.Audience()); err != nil {
		switch {
		case errors.Is(err, tokens.ErrExpired):
			return nil, nil, "expired", nil
		case errors.Is(err, tokens.ErrMalformed):
			return nil, nil, "malformed", nil
		}
		return nil, nil, "invalid", nil
	}
	if s.revoked.has(c.ID) {
		return &c, nil, "revoked", nil
	}
	cl, err := s.clients.get(ctx, c.ClientID)
	switch {
	case err != nil:
		// The database did not answer: no verdict on the token.
		return &c, nil, "", err
	case !cl.found || !cl.active || !cl.tenantActive || cl.ended(&c, time.Now()):
		return &c, cl, "revoked", nil
	case cl.tenantID.String() != c.TenantID:
		return &c, cl, "invalid", nil
	case !cl.tenantAllow.Allows(ipallow.ClientIP(ctx)):
		return &c, cl, "ip_not_allowed", nil
	}
	return &c, cl, "", nil
}

// VerifyAccessToken authenticates an API call made with an access token:
// the principal is the client, with the token's scopes that the client
// still holds.
func (s *Server) VerifyAccessToken(ctx context.Context, token string) (*access.Principal, error) {
	c, cl, reason, err := s.inspect(ctx, token)
	if err != nil {
		s.metrics.AuthAttempts.WithLabelValues("access_token", "error").Inc()
		return nil, err
	}
	s.metrics.AuthAttempts.WithLabelValues("access_token", metrics.Result(reason)).Inc()
	if reason != "" {
		return nil, apperr.Unauthenticated(reason)
	}
	return &access.Principal{Kind: access.KindOAuthClient, ID: cl.id, ClientID: c.ClientID,
		TenantID: cl.tenantID, HomeTenantID: cl.tenantID, Scopes: cl.current(c.Scope), Plan: cl.plan}, nil
}

// caller authenticates an introspection or revocation request: a client by
// its credentials, or an API key (or token) holding need.
func (s *Server) caller(r *http.Request, need access.Scope) (*access.Principal, error) {
	ctx := r.Context()
	if scheme, _, _ := strings.Cut(r.Header.Get("Authorization"), " "); strings.EqualFold(scheme, "basic") || r.PostForm.Get("client_secret") != "" {
		id, sec, basic, err := clientCredentials(r)
		if err != nil {
			return nil, err
		}
		c, _, err := s.authenticateClient(ctx, id, sec, basic)
		if err != nil {
			return nil, err
		}
		return &access.Principal{Kind: access.KindOAuthClient, ID: c.id, ClientID: c.clientID,
			TenantID: c.tenantID, HomeTenantID: c.tenantID, Scopes: c.scopes}, nil
	}
	p, err := s.authenticate(ctx, r)
	if apperr.IsUnavailable(err) {
		return nil, err
	}
	if err != nil || p == nil {
		return nil, &oauthError{status: http.StatusUnauthorized, Code: "invalid_client", Description: "authenticate with client credentials or an API key"}
	}
	if !p.Scopes.Has(need) {
		return nil, failure(http.StatusForbidden, "insufficient_scope", "the API key needs "+need)
	}
	return p, nil
}

// tokenRequest reads an introspection or revocation request: the form, the
// caller (holding need when it is not a client) and the token.
func (s *Server) tokenRequest(r *http.Request, need access.Scope) (*access.Principal, string, error) {
	if err := parseForm(r); err != nil {
		return nil, "", err
	}
	p, err := s.caller(r, need)
	if err != nil {
		return nil, "", err
	}
	token := r.PostForm.Get("token")
	if token == "" {
		return nil, "", failure(http.StatusBadRequest, "invalid_request", "token is required")
	}
	return p, token, nil
}

// Introspect is POST /oauth/introspect (RFC 7662).
func (s *Server) Introspect(w http.ResponseWriter, r *http.Request) {
	caller, token, err := s.tokenRequest(r, access.OAuthClientsRead)
	if err != nil {
		writeError(w, r, err)
		return
	}
	c, cl, reason, err := s.inspect(r.Context(), token)
	if err != nil {
		writeError(w, r, err)
		return
	}
	if reason != "" || !sees(caller, c) {
		writeJSON(w, http.StatusOK, map[string]any{"active": false})
		return
	}
	writeJSON(w, http.StatusOK, introspection{
		Active: true, Scope: strings.Join(cl.current(c.Scope).List(), " "), ClientID: c.ClientID, TokenType: "Bearer",
		Exp: c.ExpiresAt.Unix(), Iat: c.IssuedAt.Unix(), Nbf: c.IssuedAt.Unix(),
		Sub: c.Subject, Aud: c.Audience, Iss: c.Issuer, Jti: c.ID, Tid: c.TenantID,
	})
}

// introspection is the answer for an active token (RFC 7662 §2.2), its
// members in the order a map would write them.
type introspection struct {
	Active    bool             `json:"active"`
	Aud       jwt.ClaimStrings `json:"aud"`
	ClientID  string           `json:"client_id"`
	Exp       int64            `json:"exp"`
	Iat       int64            `json:"iat"`
	Iss       string           `json:"iss"`
	Jti       string           `json:"jti"`
	Nbf       int64            `json:"nbf"`
	Scope     string           `json:"scope"`
	Sub       string           `json:"sub"`
	Tid       string           `json:"tid"`
	TokenType string           `json:"token_type"`
}

// Revoke is POST /oauth/revoke (RFC 7009): the token stops at once on every
// instance. An unknown, invalid or foreign token is answered 200 all the same.
func (s *Server) Revoke(w http.ResponseWriter, r *http.Request) {
	caller, token, err := s.tokenRequest(r, access.OAuthClientsWrite)
	if err == nil {
		err = s.revoke(r.Context(), token, caller)
	}
	if err != nil {
		writeError(w, r, err)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
}

// sees tells whether caller may learn anything of, or revoke, the token of
// claims c: a client, by its credentials or its token, only its own tokens
// (RFC 7662 §2.2: nothing about tokens it may not see); an API key or a
// user holding the endpoint's scope any token of its tenant. A token the
// caller does not see is answered as an unknown one.
func sees(caller *access.Principal, c *AccessClaims) bool {
	return c.TenantID == caller.TenantID.String() && (caller.ClientID == "" || c.ClientID == caller.ClientID)
}

// revoke revokes token for caller, if caller sees it. The entry is
// recorded under the caller.
func (s *Server) revoke(ctx context.Context, token string, caller *access.Principal) error {
	var c AccessClaims
	if err := s.keys.Parse(ctx, token, &c, tokens.TypeAccess, s.Audience()); err != nil {
		return nil
	}
	tid := caller.TenantID
	if !sees(caller, &c) || s.revoked.has(c.ID) {
		return nil
	}
	ctx = access.NewContext(store.Unrestricted(ctx), caller)
	return store.WithTx(ctx, s.db, func(ctx context.Context, tx *ent.Client) error {
		err := tx.RevokedToken.Create().SetTenantID(tid).SetJti(c.ID).SetClientID(c.ClientID).
			SetExpiresAt(c.ExpiresAt.Time.UTC()).OnConflictColumns(revokedtoken.FieldJti).DoNothing().Exec(ctx)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return err
		}
		if err := audit.Record(ctx, tx, audit.Entry{Action: "oauth.revoke", ResourceType: "oauth_token", ResourceID: c.ID,
			TenantID: tid, Details: map[string]any{"client_id": c.ClientID}}); err != nil {
			return err
		}
		return s.bus.Publish(ctx, tx, invalidate.For(invalidate.Token, c.ID))
	})
}

// Metadata is GET /.well-known/oauth-authorization-server (RFC 8414).
func (s *Server) Metadata(w http.ResponseWriter, _ *http.Request) {
	iss := s.keys.Issuer()
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=300")
	_ = json.NewEncoder(w).Encode(map[string]any{
		"issuer":                                iss,
		"token_endpoint":                        iss + "/oauth/token",
		"introspection_endpoint":                iss + "/oauth/introspect",
		"revocation_endpoint":                   iss + "/oauth/revoke",
		"jwks_uri":                              iss + "/.well-known/jwks.json",
		"grant_types_supported":                 []string{GrantClientCredentials},
		"response_types_supported":              []string{},
		"token_endpoint_auth_methods_supported": []string{"client_secret_basic", "client_secret_post"},
		"introspection_endpoint_auth_methods_supported":    []string{"client_secret_basic", "client_secret_post"},
		"revocation_endpoint_auth_methods_supported":       []string{"client_secret_basic", "client_secret_post"},
		"token_endpoint_auth_signing_alg_values_supported": []string{"EdDSA"},
		"scopes_supported": access.All,
	})
}

// revokedSet holds the ids (jti) of revoked, unexpired access tokens.
type revokedSet struct {
	db *ent.Client
	mu sync.RWMutex
	m  map[string]time.Time
}

// maxTokenLifetime bounds how long a revoked id must be remembered when
// only the id is known (a notification from another instance).
const maxTokenLifetime = 24 * time.Hour

func (rs *revokedSet) has(jti string) bool {
	rs.mu.RLock()
	exp, ok := rs.m[jti]
	rs.mu.RUnlock()
	return ok && time.Now().Before(exp)
}

func (rs *revokedSet) reload(ctx context.Context) error {
	rows, err := rs.db.RevokedToken.Query().Where(revokedtoken.ExpiresAtGT(time.Now())).All(store.Unrestricted(ctx))
	if err != nil {
		return err
	}
	m := make(map[string]time.Time, len(rows))
	for _, r := range rows {
		m[r.Jti] = r.ExpiresAt
	}
	rs.mu.Lock()
	rs.m = m
	rs.mu.Unlock()
	return nil
}

func (rs *revokedSet) invalidate(t invalidate.Topic) {
	kind, jti := t.Split()
	switch kind {
	case invalidate.Token:
		now := time.Now()
		rs.mu.Lock()
		for k, exp := range rs.m {
			if now.After(exp) {
				delete(rs.m, k)
			}
		}
		rs.m[jti] = now.Add(maxTokenLifetime)
		rs.mu.Unlock()
	case invalidate.All:
		_ = rs.reload(context.Background())
	}
}
