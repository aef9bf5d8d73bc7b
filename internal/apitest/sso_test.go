package apitest_test

// Single sign-on over OpenID Connect (SPEC §15), against a real provider
// run in-process: mockoidc serves discovery, JWKS, an authorization
// endpoint that signs the next queued user in at once (it has no login
// form) and a token endpoint that checks the client secret and the PKCE
// verifier, and signs RS256 ID tokens carrying the nonce it was given.

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/oauth2-proxy/mockoidc"

	"github.com/credvault/credvault/ent/auditlog"
	"github.com/credvault/credvault/ent/datakey"
	"github.com/credvault/credvault/ent/ssoconfig"
	"github.com/credvault/credvault/ent/user"
	"github.com/credvault/credvault/internal/apitest"
	"github.com/credvault/credvault/internal/platform/config"
)

// ssoConfigJSON is GET and PUT /admin/sso's data.
type ssoConfigJSON struct {
	ID             uuid.UUID `json:"id"`
	TenantID       uuid.UUID `json:"tenant_id"`
	Issuer         string    `json:"issuer"`
	ClientID       string    `json:"client_id"`
	AllowedDomains []string  `json:"allowed_domains"`
	DefaultRole    string    `json:"default_role"`
	Enabled        bool      `json:"enabled"`
	RedirectURI    string    `json:"redirect_uri"`
}

// newIdP starts a provider for one test.
func newIdP(t *testing.T) *mockoidc.MockOIDC {
	t.Helper()
	m, err := mockoidc.Run()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { m.Shutdown() })
	return m
}

// idpUser is a user the provider signs in.
func idpUser(email string, verified bool) *mockoidc.MockUser {
	return &mockoidc.MockUser{Subject: "sub-" + randTag(), Email: email, EmailVerified: verified,
		PreferredUsername: strings.Split(email, "@")[0]}
}

// ssoBody is a PUT /admin/sso body for m, with extra fields.
func ssoBody(m *mockoidc.MockOIDC, extra map[string]any) map[string]any {
	body := map[string]any{"issuer": m.Issuer(), "client_id": m.ClientID, "client_secret": m.ClientSecret}
	for k, v := range extra {
		body[k] = v
	}
	return body
}

// ssoConfigure configures the tenant of cred with m and checks that the
// answer never holds the client secret.
func ssoConfigure(t *testing.T, e *apitest.Env, cred string, m *mockoidc.MockOIDC, extra map[string]any) ssoConfigJSON {
	t.Helper()
	r := do(e, http.MethodPut, "/api/v1/admin/sso", cred, ssoBody(m, extra))
	var c ssoConfigJSON
	wantOK(t, r, http.StatusOK, &c)
	if bytes.Contains(r.Body, []byte(m.ClientSecret)) || bytes.Contains(r.Body, []byte("client_secret")) {
		t.Fatal("PUT /admin/sso answered the client secret")
	}
	return c
}

// ssoBegin GETs the start route and returns the authorization URL it
// redirects the browser to.
func ssoBegin(t *testing.T, e *apitest.Env, slug, redirect string) *url.URL {
	t.Helper()
	r := ssoStart(e, slug, redirect)
	if r.Status != http.StatusFound {
		t.Fatalf("start: %d, want 302: %s", r.Status, redact(r.Body))
	}
	u, err := url.Parse(r.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func ssoStart(e *apitest.Env, slug, redirect string) *apitest.Response {
	path := "/api/v1/auth/sso/" + slug + "/start"
	if redirect != "" {
		path += "?redirect_uri=" + url.QueryEscape(redirect)
	}
	return e.Do(apitest.Request{Method: http.MethodGet, Path: path, NoFollow: true})
}

// ssoAuthorize is the browser at the provider: it follows the
// authorization URL and returns the query the provider sends back to the
// server's callback, which must be the public URL's.
func ssoAuthorize(t *testing.T, e *apitest.Env, auth *url.URL) url.Values {
	t.Helper()
	browser := &http.Client{Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := browser.Get(auth.String())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("the provider answered %d, want 302 back to the callback", resp.StatusCode)
	}
	back, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	if got := back.Scheme + "://" + back.Host + back.Path; got != e.Config.PublicURL+"/api/v1/auth/sso/callback" {
		t.Fatalf("the provider sent the browser to %s, want the callback under the public URL", got)
	}
	return back.Query()
}

// ssoCallback sends the provider's answer to the server's callback.
func ssoCallback(e *apitest.Env, q url.Values) *apitest.Response {
	return e.Do(apitest.Request{Method: http.MethodGet, Path: "/api/v1/auth/sso/callback?" + q.Encode(), NoFollow: true})
}

// ssoSignIn signs u in to the tenant of slug, end to end.
func ssoSignIn(t *testing.T, e *apitest.Env, m *mockoidc.MockOIDC, slug string, u *mockoidc.MockUser) *apitest.Response {
	t.Helper()
	m.QueueUser(u)
	return ssoCallback(e, ssoAuthorize(t, e, ssoBegin(t, e, slug, "")))
}

// closedURL is an http URL on which nothing listens.
func closedURL(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return "http://" + addr + "/oidc"
}

// TestSSOSignIn: a sign-in end to end — the redirect to the provider with
// PKCE S256, state and nonce, the callback's session, the user created
// just in time with the default role, audited; a second sign-in finds the
// same user; the state works once.
func TestSSOSignIn(t *testing.T) {
	t.Parallel()
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		tn := register(t, e, "SSO Corp")
		m := newIdP(t)
		c := ssoConfigure(t, e, tn.AccessToken, m, map[string]any{"allowed_domains": []string{"Example.com", "@corp.example"},
			"default_role": "viewer"})
		if c.Issuer != m.Issuer() || c.ClientID != m.ClientID || !c.Enabled || c.DefaultRole != "viewer" ||
			strings.Join(c.AllowedDomains, ",") != "example.com,corp.example" || c.TenantID != tn.TenantID ||
			c.RedirectURI != e.Config.PublicURL+"/api/v1/auth/sso/callback" {
			t.Fatalf("PUT /admin/sso answered %+v", c)
		}
		r := do(e, http.MethodGet, "/api/v1/admin/sso", tn.AccessToken, nil)
		var got ssoConfigJSON
		wantOK(t, r, http.StatusOK, &got)
		if got.ID != c.ID || got.Issuer != c.Issuer || got.ClientID != c.ClientID || got.DefaultRole != c.DefaultRole ||
			!slices.Equal(got.AllowedDomains, c.AllowedDomains) || got.RedirectURI != c.RedirectURI {
			t.Fatalf("GET /admin/sso answered %+v, want %+v", got, c)
		}
		if bytes.Contains(r.Body, []byte(m.ClientSecret)) || bytes.Contains(r.Body, []byte("client_secret")) {
			t.Fatal("GET /admin/sso answered the client secret")
		}

		auth := ssoBegin(t, e, tn.Slug, "")
		q := auth.Query()
		if auth.Scheme+"://"+auth.Host+auth.Path != m.Issuer()+mockoidc.AuthorizationEndpoint[len("/oidc"):] {
			t.Fatalf("start redirected to %s://%s%s, want the provider's authorization endpoint", auth.Scheme, auth.Host, auth.Path)
		}
		for k, want := range map[string]string{"response_type": "code", "client_id": m.ClientID, "code_challenge_method": "S256",
			"redirect_uri": e.Config.PublicURL + "/api/v1/auth/sso/callback"} {
			if q.Get(k) != want {
				t.Fatalf("authorization request %s = %q, want %q", k, q.Get(k), want)
			}
		}
		if len(q.Get("state")) < 43 || len(q.Get("nonce")) < 43 || len(q.Get("code_challenge")) != 43 ||
			!strings.Contains(" "+q.Get("scope")+" ", " openid ") {
			t.Fatalf("authorization request without a strong state, nonce, S256 challenge or openid scope: %v", ssoKeys(q))
		}

		jane := idpUser("jane."+randTag()+"@example.com", true)
		jane.PreferredUsername = "jane"
		m.QueueUser(jane)
		back := ssoAuthorize(t, e, auth)
		r = ssoCallback(e, back)
		var s sessionJSON
		wantOK(t, r, http.StatusOK, &s)
		wantNoStore(t, "GET /auth/sso/callback", r.Header)
		if s.AccessToken == "" || s.RefreshToken == "" || s.TokenType != "Bearer" || s.ExpiresIn != 900 ||
			s.User.Email != jane.Email || s.User.Role != "viewer" || s.User.TenantID != tn.TenantID.String() {
			t.Fatalf("callback answered %s", redact(r.Body))
		}
		who := me(t, e, s.AccessToken)
		if who.PrincipalType != "user" || who.User == nil || who.User.Email != jane.Email || who.User.Role != "viewer" ||
			who.Tenant.ID != tn.TenantID.String() {
			t.Fatalf("the SSO session is %+v", who)
		}
		var again sessionJSON
		wantOK(t, do(e, http.MethodPost, "/api/v1/auth/refresh", "", map[string]any{"refresh_token": s.RefreshToken}), http.StatusOK, &again)

		login := oneAudit(t, e, tn.TenantID, "auth.sso_login", auditlog.OutcomeSuccess, s.User.ID)
		if login.ActorID != s.User.ID || login.Details["created"] != true || login.Details["issuer"] != m.Issuer() ||
			login.Details["subject"] != jane.Subject {
			t.Fatalf("auth.sso_login entry: actor %v, details %v", login.ActorID, login.Details)
		}
		if created := oneAudit(t, e, tn.TenantID, "user.create", "", s.User.ID); created.Details["via"] != "sso" {
			t.Fatalf("user.create entry details %v", created.Details)
		}

		// The state was used: the same callback again is refused.
		wantUnauthorized(t, ssoCallback(e, back), "state_mismatch")

		// Signing in again finds the user, whatever role it has since.
		wantOK(t, do(e, http.MethodPatch, "/api/v1/admin/users/"+s.User.ID, tn.AccessToken, map[string]any{"role": "admin"}), http.StatusOK, nil)
		var s2 sessionJSON
		wantOK(t, ssoSignIn(t, e, m, tn.Slug, jane), http.StatusOK, &s2)
		if s2.User.ID != s.User.ID || s2.User.Role != "admin" || s2.AccessToken == s.AccessToken {
			t.Fatalf("second sign-in: user %s role %s, want %s admin", s2.User.ID, s2.User.Role, s.User.ID)
		}
		n, err := e.Store.Client.User.Query().Where(user.TenantID(tn.TenantID), user.Email(jane.Email)).Count(unrestricted())
		if err != nil || n != 1 {
			t.Fatalf("%d users %s (%v), want 1", n, jane.Email, err)
		}
		if logins := auditEntries(t, e, tn.TenantID, "auth.sso_login", s.User.ID); len(logins) != 2 || logins[1].Details["created"] != false {
			t.Fatalf("%d auth.sso_login entries, want 2, the second not creating the user", len(logins))
		}
		// An existing password user of the domain signs in as itself.
		owner := idpUser(tn.Email, true)
		wantOK(t, do(e, http.MethodPut, "/api/v1/admin/sso", tn.AccessToken, ssoBody(m, map[string]any{
			"allowed_domains": []string{tn.Email[strings.IndexByte(tn.Email, '@')+1:]}})), http.StatusOK, nil)
		var s3 sessionJSON
		wantOK(t, ssoSignIn(t, e, m, tn.Slug, owner), http.StatusOK, &s3)
		if s3.User.ID != tn.UserID.String() || s3.User.Role != "owner" {
			t.Fatalf("the owner signed in as %s (%s), want %s", s3.User.ID, s3.User.Role, tn.UserID)
		}
	})
}

// TestSSOAtOnce: a tenant's first SSO configurations sent together all
// succeed, leaving one; one new user's first sign-ins completed together
// (two tabs) all sign in the one user they create. Both answered 409 on both
// databases: each saw no row and inserted its own.
func TestSSOAtOnce(t *testing.T) {
	t.Parallel()
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		m := newIdP(t)
		for round := range 4 {
			tn := register(t, e, "SSO At Once")
			puts := atOnce(6, func(int) *apitest.Response {
				return do(e, http.MethodPut, "/api/v1/admin/sso", tn.AccessToken, ssoBody(m, nil))
			})
			for _, r := range puts {
				wantStatus(t, r, http.StatusOK)
			}
			if n, err := e.Store.Client.SSOConfig.Query().Where(ssoconfig.TenantID(tn.TenantID)).Count(unrestricted()); err != nil || n != 1 {
				t.Fatalf("%d SSO configurations (%v), want 1", n, err)
			}

			email := fmt.Sprintf("tabs%d-%s@example.com", round, randTag())
			var backs []url.Values
			for range 4 {
				m.QueueUser(idpUser(email, true))
				backs = append(backs, ssoAuthorize(t, e, ssoBegin(t, e, tn.Slug, "")))
			}
			users := map[string]bool{}
			for _, r := range atOnce(len(backs), func(i int) *apitest.Response { return ssoCallback(e, backs[i]) }) {
				var s sessionJSON
				wantOK(t, r, http.StatusOK, &s)
				users[s.User.ID] = true
			}
			if len(users) != 1 {
				t.Fatalf("the sign-ins answered %d users, want the one", len(users))
			}
			if n := len(auditEntries(t, e, tn.TenantID, "user.create", "")); n != 1 {
				t.Fatalf("%d user.create entries, want 1", n)
			}
			if n := len(auditEntries(t, e, tn.TenantID, "auth.sso_login", "")); n != len(backs) {
				t.Fatalf("%d auth.sso_login entries, want %d", n, len(backs))
			}
		}
	})
}

// TestSSORedirect: a sign-in started with a redirect_uri ends there, the
// session in the fragment; only the public URL's origin and the listed
// ones are allowed.
func TestSSORedirect(t *testing.T) {
	t.Parallel()
	const app = "https://console.example.test"
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		tn := register(t, e, "SSO Redirect")
		m := newIdP(t)
		ssoConfigure(t, e, tn.AccessToken, m, nil)
		for _, redirect := range []string{app + "/signed-in?from=sso", e.Config.PublicURL + "/console/"} {
			m.QueueUser(idpUser("r-"+randTag()+"@example.com", true))
			r := ssoCallback(e, ssoAuthorize(t, e, ssoBegin(t, e, tn.Slug, redirect)))
			if r.Status != http.StatusFound {
				t.Fatalf("callback with redirect_uri: %d, want 302: %s", r.Status, redact(r.Body))
			}
			wantNoStore(t, "callback redirect", r.Header)
			to, err := url.Parse(r.Header.Get("Location"))
			if err != nil {
				t.Fatal(err)
			}
			frag, err := url.ParseQuery(to.Fragment)
			if err != nil {
				t.Fatal(err)
			}
			to.Fragment = ""
			if to.String() != redirect || frag.Get("token_type") != "Bearer" || frag.Get("expires_in") != "900" ||
				frag.Get("refresh_token") == "" || to.RawQuery != strings.SplitN(redirect+"?", "?", 3)[1] {
				t.Fatalf("redirected to %s with fragment keys %v, want %s", to, ssoKeys(frag), redirect)
			}
			if who := me(t, e, frag.Get("access_token")); who.Tenant.ID != tn.TenantID.String() {
				t.Fatalf("the fragment's session is of tenant %s", who.Tenant.ID)
			}
		}
		for redirect, reason := range map[string]string{
			"https://evil.example/steal":  "origin_not_allowed",
			app + ".evil.example/":        "origin_not_allowed",
			app + "/done#frag":            "has_fragment",
			"javascript:alert(1)":         "invalid",
			"//console.example.test/path": "invalid",
		} {
			wantError(t, ssoStart(e, tn.Slug, redirect), http.StatusUnprocessableEntity, "VALIDATION_ERROR",
				"field", "redirect_uri", "reason", reason)
		}
	}, func(c *config.Config) { c.SSORedirectOrigins = []string{app} })
}

// TestSSORefusals: each way a sign-in is refused says what went wrong, is
// audited, and signs nobody in.
func TestSSORefusals(t *testing.T) {
	t.Parallel()
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		tn := register(t, e, "SSO Refusals")
		m := newIdP(t)
		ssoConfigure(t, e, tn.AccessToken, m, map[string]any{"allowed_domains": []string{"example.com"}})
		users := func() int {
			n, err := e.Store.Client.User.Query().Where(user.TenantID(tn.TenantID)).Count(unrestricted())
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		before := users()
		failures := func(reason string) int {
			n := 0
			for _, a := range auditEntries(t, e, tn.TenantID, "auth.sso_login", "") {
				if a.Outcome == auditlog.OutcomeFailure && a.Details["reason"] == reason {
					n++
				}
			}
			return n
		}

		// A domain not allowed, a subdomain included.
		for _, email := range []string{"mallory@other.example", "mallory@sub.example.com"} {
			r := ssoSignIn(t, e, m, tn.Slug, idpUser(email, true))
			wantError(t, r, http.StatusForbidden, "FORBIDDEN", "reason", "domain_not_allowed", "domain", email[strings.IndexByte(email, '@')+1:])
		}
		if n := failures("domain_not_allowed"); n != 2 {
			t.Fatalf("%d audited domain refusals, want 2", n)
		}
		// An address the provider has not verified.
		wantError(t, ssoSignIn(t, e, m, tn.Slug, idpUser("unverified@example.com", false)), http.StatusForbidden, "FORBIDDEN",
			"reason", "email_not_verified")

		// A tampered state: refused, and the real one still works once.
		m.QueueUser(idpUser("tamper@example.com", true))
		back := ssoAuthorize(t, e, ssoBegin(t, e, tn.Slug, ""))
		bad := url.Values{"code": {back.Get("code")}, "state": {back.Get("state") + "x"}}
		wantUnauthorized(t, ssoCallback(e, bad), "state_mismatch")
		wantUnauthorized(t, ssoCallback(e, url.Values{"code": {back.Get("code")}}), "state_mismatch")
		wantOK(t, ssoCallback(e, back), http.StatusOK, nil)

		// A nonce changed on its way to the provider: the ID token carries
		// the changed one, which matches no sign-in.
		auth := ssoBegin(t, e, tn.Slug, "")
		q := auth.Query()
		q.Set("nonce", q.Get("nonce")[1:]+"A")
		auth.RawQuery = q.Encode()
		m.QueueUser(idpUser("nonce@example.com", true))
		wantUnauthorized(t, ssoCallback(e, ssoAuthorize(t, e, auth)), "nonce_mismatch")
		if n := failures("nonce_mismatch"); n != 1 {
			t.Fatalf("%d audited nonce refusals, want 1", n)
		}

		// A code whose PKCE verifier is not the challenge's: the provider
		// refuses the exchange.
		m.QueueUser(idpUser("pkce@example.com", true))
		auth = ssoBegin(t, e, tn.Slug, "")
		q = auth.Query()
		q.Set("code_challenge", strings.Repeat("A", 43))
		auth.RawQuery = q.Encode()
		wantUnauthorized(t, ssoCallback(e, ssoAuthorize(t, e, auth)), "code_exchange_failed")

		// The provider's own refusal.
		back = ssoAuthorize(t, e, ssoBegin(t, e, tn.Slug, ""))
		wantUnauthorized(t, ssoCallback(e, url.Values{"state": {back.Get("state")}, "error": {"access_denied"}}), "provider_error")

		// An expired state.
		m.QueueUser(idpUser("slow@example.com", true))
		back = ssoAuthorize(t, e, ssoBegin(t, e, tn.Slug, ""))
		if _, err := e.Store.DB.ExecContext(context.Background(), "UPDATE sso_login_states SET expires_at = created_at"); err != nil {
			t.Fatal(err)
		}
		wantUnauthorized(t, ssoCallback(e, back), "state_expired")

		// A configuration disabled between start and callback, then at start.
		m.QueueUser(idpUser("late@example.com", true))
		back = ssoAuthorize(t, e, ssoBegin(t, e, tn.Slug, ""))
		wantOK(t, do(e, http.MethodPut, "/api/v1/admin/sso", tn.AccessToken, map[string]any{"issuer": m.Issuer(),
			"client_id": m.ClientID, "enabled": false}), http.StatusOK, nil)
		wantError(t, ssoCallback(e, back), http.StatusForbidden, "FORBIDDEN", "reason", "sso_disabled")
		wantError(t, ssoStart(e, tn.Slug, ""), http.StatusForbidden, "FORBIDDEN", "reason", "sso_disabled")
		if n := failures("sso_disabled"); n != 1 {
			t.Fatalf("%d audited refusals of the disabled configuration, want 1", n)
		}

		// A disabled user.
		ssoConfigure(t, e, tn.AccessToken, m, map[string]any{"allowed_domains": []string{"example.com"}})
		var off sessionJSON
		wantOK(t, ssoSignIn(t, e, m, tn.Slug, idpUser("off@example.com", true)), http.StatusOK, &off)
		wantOK(t, do(e, http.MethodPatch, "/api/v1/admin/users/"+off.User.ID, tn.AccessToken, map[string]any{"status": "disabled"}), http.StatusOK, nil)
		wantError(t, ssoSignIn(t, e, m, tn.Slug, idpUser(off.User.Email, true)), http.StatusForbidden, "FORBIDDEN", "reason", "user_disabled")

		// An issuer that stopped answering.
		if err := e.Store.Client.SSOConfig.Update().Where(ssoconfig.TenantID(tn.TenantID)).SetIssuer(closedURL(t)).
			Exec(unrestricted()); err != nil {
			t.Fatal(err)
		}
		r := ssoStart(e, tn.Slug, "")
		wantError(t, r, http.StatusServiceUnavailable, "SERVICE_UNAVAILABLE", "reason", "issuer_unreachable")
		if !strings.Contains(r.Envelope.Error.Message, "unreachable") {
			t.Fatalf("message %q does not say the issuer is unreachable", r.Envelope.Error.Message)
		}

		// Unknown and unconfigured tenants.
		wantError(t, ssoStart(e, "no-such-tenant-"+randTag(), ""), http.StatusNotFound, "NOT_FOUND")
		other := register(t, e, "SSO None")
		wantError(t, ssoStart(e, other.Slug, ""), http.StatusNotFound, "NOT_FOUND", "reason", "sso_not_configured")

		// Only off@ was signed in; none of the refused was created.
		if got := users(); got != before+2 {
			t.Fatalf("%d users, want %d: a refused sign-in created one", got, before+2)
		}
	})
}

// TestSSOConfig: validation, the role ceiling, GraphQL, and the client
// secret: never answered, stored only sealed, kept when left out, and
// re-sealed by a DEK rotation after which sign-ins go on.
func TestSSOConfig(t *testing.T) {
	t.Parallel()
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		tn := register(t, e, "SSO Config")
		m := newIdP(t)
		wantError(t, do(e, http.MethodGet, "/api/v1/admin/sso", tn.AccessToken, nil), http.StatusNotFound, "NOT_FOUND")
		var none struct {
			SSOConfig *ssoConfigJSON `json:"ssoConfig"`
		}
		gql(t, e, tn.AccessToken, `{ ssoConfig { id } }`, nil, &none)
		if none.SSOConfig != nil {
			t.Fatal("ssoConfig is not null before any configuration")
		}
		for _, tc := range []struct {
			body          map[string]any
			field, reason string
		}{
			{map[string]any{"issuer": ""}, "issuer", "required"},
			{map[string]any{"issuer": "ftp://idp.example"}, "issuer", "must be an absolute http or https URL"},
			{map[string]any{"issuer": m.Issuer() + "?tenant=1"}, "issuer", "must have no query or fragment"},
			{map[string]any{"issuer": closedURL(t)}, "issuer", "unreachable"},
			{map[string]any{"client_id": " "}, "client_id", "required"},
			{map[string]any{"client_secret": ""}, "client_secret", "required"},
			{map[string]any{"allowed_domains": []string{"not a domain"}}, "allowed_domains", "invalid"},
			{map[string]any{"default_role": "root"}, "default_role", "invalid"},
		} {
			wantError(t, do(e, http.MethodPut, "/api/v1/admin/sso", tn.AccessToken, ssoBody(m, tc.body)),
				http.StatusUnprocessableEntity, "VALIDATION_ERROR", "field", tc.field, "reason", tc.reason)
		}
		// The first configuration needs its secret.
		wantError(t, do(e, http.MethodPut, "/api/v1/admin/sso", tn.AccessToken, map[string]any{"issuer": m.Issuer(), "client_id": m.ClientID}),
			http.StatusUnprocessableEntity, "VALIDATION_ERROR", "field", "client_secret", "reason", "required")
		// An admin may not make every newcomer an owner.
		admin := tn.user(t, "admin")
		wantError(t, do(e, http.MethodPut, "/api/v1/admin/sso", admin.AccessToken, ssoBody(m, map[string]any{"default_role": "owner"})),
			http.StatusForbidden, "FORBIDDEN")

		c := ssoConfigure(t, e, admin.AccessToken, m, nil)
		if c.DefaultRole != "member" || !c.Enabled || len(c.AllowedDomains) != 0 {
			t.Fatalf("defaults: %+v, want member, enabled, no domains", c)
		}
		found, _ := scanDB(t, e, []string{m.ClientSecret})
		if len(found[m.ClientSecret]) > 0 {
			t.Fatalf("the client secret is stored in clear in %v", found[m.ClientSecret])
		}
		row, err := e.Store.Client.SSOConfig.Get(unrestricted(), c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(row.ClientSecretSealed) < len(m.ClientSecret)+28 || row.DekVersion != 1 {
			t.Fatalf("sealed secret of %d bytes on DEK v%d", len(row.ClientSecretSealed), row.DekVersion)
		}
		upd := oneAudit(t, e, tn.TenantID, "sso.update", auditlog.OutcomeSuccess, c.ID.String())
		if upd.Details["issuer"] != m.Issuer() || upd.Details["new_client_credential"] != true {
			t.Fatalf("sso.update details %v", upd.Details)
		}

		// GraphQL reads and writes the same configuration; the secret left
		// out is kept.
		var out struct {
			UpdateSSOConfig struct {
				ID             string   `json:"id"`
				ClientID       string   `json:"clientID"`
				AllowedDomains []string `json:"allowedDomains"`
				DefaultRole    string   `json:"defaultRole"`
				RedirectURI    string   `json:"redirectURI"`
			} `json:"updateSSOConfig"`
		}
		gql(t, e, tn.AccessToken, `mutation($i: UpdateSSOConfigInput!) { updateSSOConfig(input: $i) { id clientID allowedDomains defaultRole redirectURI } }`,
			map[string]any{"i": map[string]any{"issuer": m.Issuer(), "clientID": m.ClientID, "allowedDomains": []string{"example.com"},
				"defaultRole": "viewer"}}, &out)
		if u := out.UpdateSSOConfig; u.ID != c.ID.String() || u.DefaultRole != "viewer" || len(u.AllowedDomains) != 1 ||
			u.RedirectURI != c.RedirectURI {
			t.Fatalf("updateSSOConfig answered %+v", u)
		}
		if after, _ := e.Store.Client.SSOConfig.Get(unrestricted(), c.ID); !bytes.Equal(after.ClientSecretSealed, row.ClientSecretSealed) {
			t.Fatal("an update without client_secret changed the sealed secret")
		}
		var read struct {
			SSOConfig struct {
				Issuer  string `json:"issuer"`
				Enabled bool   `json:"enabled"`
			} `json:"ssoConfig"`
		}
		gql(t, e, tn.AccessToken, `{ ssoConfig { issuer enabled } }`, nil, &read)
		if read.SSOConfig.Issuer != m.Issuer() || !read.SSOConfig.Enabled {
			t.Fatalf("ssoConfig answered %+v", read.SSOConfig)
		}
		if g := gqlDo(e, tn.AccessToken, `{ ssoConfig { clientSecret } }`, nil); len(g.Errors) == 0 {
			t.Fatal("the graph has a clientSecret field")
		}

		// A DEK rotation re-seals the secret under the new DEK, destroys
		// the old one, and sign-ins go on with the secret.
		rot := rotateDEK(t, e, tn.AccessToken, map[string]any{})
		waitJob(t, e, rot.JobID, 30*time.Second)
		rotated, err := e.Store.Client.SSOConfig.Get(unrestricted(), c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if rotated.DekVersion != 2 || bytes.Equal(rotated.ClientSecretSealed, row.ClientSecretSealed) {
			t.Fatalf("after the rotation the secret is on DEK v%d, re-sealed: %v", rotated.DekVersion,
				!bytes.Equal(rotated.ClientSecretSealed, row.ClientSecretSealed))
		}
		wantDEKs(t, e, tn.TenantID, map[int]datakey.Status{1: datakey.StatusDestroyed, 2: datakey.StatusActive})
		var s sessionJSON
		wantOK(t, ssoSignIn(t, e, m, tn.Slug, idpUser("after-rotation@example.com", true)), http.StatusOK, &s)
		if s.User.Role != "viewer" {
			t.Fatalf("signed in as %s, want viewer", s.User.Role)
		}
	})
}

// ssoKeys are the names of v, for failure messages that must not show
// the values (tokens, states).
func ssoKeys(v url.Values) []string {
	return sorted(slices.Collect(maps.Keys(v)))
}
