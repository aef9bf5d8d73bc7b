package apitest_test

// The OAuth 2.0 authorization server over real HTTP, on SQLite and
// PostgreSQL: the token endpoint (RFC 6749), JWT access tokens (RFC 9068)
// authenticating API calls, introspection (RFC 7662), revocation (RFC 7009),
// metadata (RFC 8414), the effect of disabling and deleting a client, and
// the metrics.

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/ent/revokedtoken"
	"github.com/credvault/credvault/internal/apitest"
	"github.com/credvault/credvault/internal/platform/config"
	"github.com/credvault/credvault/internal/platform/store"
)

// parsedJWT is a decoded compact JWS.
type parsedJWT struct {
	raw     string
	header  map[string]any
	claims  map[string]any
	signed  []byte
	sig     []byte
	payload []byte
}

func parseJWT(t testing.TB, tok string) parsedJWT {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("access token has %d parts, want 3", len(parts))
	}
	var j parsedJWT
	j.raw = tok
	dec := func(i int) []byte {
		b, err := base64.RawURLEncoding.DecodeString(parts[i])
		if err != nil {
			t.Fatalf("access token part %d is not base64url: %v", i, err)
		}
		return b
	}
	if err := json.Unmarshal(dec(0), &j.header); err != nil {
		t.Fatalf("header: %v", err)
	}
	j.payload = dec(1)
	d := json.NewDecoder(bytes.NewReader(j.payload))
	d.UseNumber()
	if err := d.Decode(&j.claims); err != nil {
		t.Fatalf("claims: %v", err)
	}
	j.signed = []byte(parts[0] + "." + parts[1])
	j.sig = dec(2)
	return j
}

func (j parsedJWT) num(t testing.TB, name string) int64 {
	t.Helper()
	n, ok := j.claims[name].(json.Number)
	if !ok {
		t.Fatalf("claim %s is not a number: %T", name, j.claims[name])
	}
	v, err := n.Int64()
	if err != nil {
		t.Fatalf("claim %s: %v", name, err)
	}
	return v
}

// jwks fetches the public keys by kid.
func jwks(t testing.TB, e *apitest.Env) map[string]ed25519.PublicKey {
	t.Helper()
	resp := e.Get("/.well-known/jwks.json", "")
	if resp.Status != http.StatusOK {
		t.Fatalf("jwks: %d", resp.Status)
	}
	var doc struct {
		Keys []struct {
			Kty, Crv, X, Kid, Use, Alg string
		} `json:"keys"`
	}
	if err := json.Unmarshal(resp.Body, &doc); err != nil {
		t.Fatalf("jwks: %v", err)
	}
	out := map[string]ed25519.PublicKey{}
	for _, k := range doc.Keys {
		if k.Kty != "OKP" || k.Crv != "Ed25519" || k.Alg != "EdDSA" || k.Use != "sig" || k.Kid == "" {
			t.Errorf("jwks key %+v: want OKP Ed25519 EdDSA sig with a kid", k)
		}
		x, err := base64.RawURLEncoding.DecodeString(k.X)
		if err != nil || len(x) != ed25519.PublicKeySize {
			t.Fatalf("jwks key %s: bad x", k.Kid)
		}
		out[k.Kid] = ed25519.PublicKey(x)
	}
	if len(out) == 0 {
		t.Fatal("jwks has no keys")
	}
	return out
}

func TestOAuthTokenEndpoint(t *testing.T) {
	t.Parallel()
	apitest.Each(t, func(t *testing.T, e *apitest.Env) {
		tn := register(t, e, "Token Co")
		c := tn.createClient(t, map[string]any{"name": "svc", "scopes": []string{"oauth_clients:read", "api_keys:read"}, "access_token_ttl_seconds": 900})

		check := func(t *testing.T, resp *apitest.Response, wantScope string) tokenJSON {
			t.Helper()
			if resp.Status != http.StatusOK {
				t.Fatalf("token: %d %s", resp.Status, redact(resp.Body))
			}
			if got := resp.Header.Get("Cache-Control"); got != "no-store" {
				t.Errorf("Cache-Control %q, want no-store", got)
			}
			if got := resp.Header.Get("Pragma"); got != "no-cache" {
				t.Errorf("Pragma %q, want no-cache", got)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type %q", ct)
			}
			var raw map[string]any
			if err := json.Unmarshal(resp.Body, &raw); err != nil {
				t.Fatal(err)
			}
			for _, k := range []string{"access_token", "token_type", "expires_in", "scope"} {
				if _, ok := raw[k]; !ok {
					t.Errorf("token response lacks %s", k)
				}
			}
			if _, ok := raw["refresh_token"]; ok {
				t.Error("client_credentials must not issue a refresh token (RFC 6749 §4.4.3)")
			}
			tok := decodeToken(t, resp)
			if tok.TokenType != "Bearer" || tok.ExpiresIn != 900 || tok.Scope != wantScope || tok.AccessToken == "" {
				t.Errorf("token_type %q expires_in %d scope %q; want Bearer 900 %q", tok.TokenType, tok.ExpiresIn, tok.Scope, wantScope)
			}
			return tok
		}
		all := "api_keys:read oauth_clients:read"

		t.Run("client_secret_basic", func(t *testing.T) {
			check(t, clientCredentials(e, c.ClientID, c.ClientSecret, ""), all)
		})
		t.Run("client_secret_post", func(t *testing.T) {
			resp := postForm(e, "/oauth/token", url.Values{"grant_type": {"client_credentials"},
				"client_id": {c.ClientID}, "client_secret": {c.ClientSecret}}, formAuth{})
			check(t, resp, all)
		})
		t.Run("basic with the same client_id in the body", func(t *testing.T) {
			resp := postForm(e, "/oauth/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {c.ClientID}},
				basicAuth(c.ClientID, c.ClientSecret))
			check(t, resp, all)
		})
		t.Run("charset in the content type", func(t *testing.T) {
			resp := postForm(e, "/oauth/token", url.Values{"grant_type": {"client_credentials"}}, formAuth{header: map[string]string{
				"Content-Type": "application/x-www-form-urlencoded; charset=utf-8", "Authorization": basicHeader(c.ClientID, c.ClientSecret)}})
			check(t, resp, all)
		})
		t.Run("scope down-selection", func(t *testing.T) {
			tok := check(t, clientCredentials(e, c.ClientID, c.ClientSecret, "api_keys:read"), "api_keys:read")
			if got := parseJWT(t, tok.AccessToken).claims["scope"]; got != "api_keys:read" {
				t.Errorf("JWT scope %v", got)
			}
			// Order and duplicates in the request do not matter.
			check(t, clientCredentials(e, c.ClientID, c.ClientSecret, "oauth_clients:read api_keys:read oauth_clients:read"), all)
		})
		t.Run("each token is new", func(t *testing.T) {
			a := issueToken(t, e, c, "")
			b := issueToken(t, e, c, "")
			if a.AccessToken == b.AccessToken || parseJWT(t, a.AccessToken).claims["jti"] == parseJWT(t, b.AccessToken).claims["jti"] {
				t.Error("two token requests got the same token or jti")
			}
		})
		t.Run("audited", func(t *testing.T) {
			awaitAudit(t, e, tn.TenantID, "oauth.token", func(a *ent.AuditLog) bool {
				return a.ResourceID == c.ClientID && a.Outcome == "success" && a.Details["scope"] == "api_keys:read"
			})
		})
	})
}

func TestOAuthTokenErrors(t *testing.T) {
	t.Parallel()
	apitest.Each(t, func(t *testing.T, e *apitest.Env) {
		tn := register(t, e, "Errors Co")
		c := tn.createClient(t, map[string]any{"name": "svc", "scopes": []string{"api_keys:read", "oauth_clients:read"}})
		other := tn.createClient(t, map[string]any{"name": "other", "scopes": []string{"api_keys:read"}})
		cc := url.Values{"grant_type": {"client_credentials"}}
		basicHdr := func(v string) formAuth {
			return formAuth{header: map[string]string{"Authorization": v}}
		}
		cases := []struct {
			name    string
			form    url.Values
			auth    formAuth
			ctype   string // overrides the form content type when set
			status  int
			code    string
			wwwAuth bool
			rawBody string
		}{
			{name: "wrong secret (basic)", form: cc, auth: basicAuth(c.ClientID, "cvcs_wrong"), status: 401, code: "invalid_client", wwwAuth: true},
			{name: "another client's secret", form: cc, auth: basicAuth(c.ClientID, other.ClientSecret), status: 401, code: "invalid_client", wwwAuth: true},
			{name: "wrong secret (post)", form: url.Values{"grant_type": {"client_credentials"}, "client_id": {c.ClientID}, "client_secret": {"cvcs_wrong"}}, status: 401, code: "invalid_client"},
			{name: "unknown client", form: cc, auth: basicAuth("cvc_nosuchclient", c.ClientSecret), status: 401, code: "invalid_client", wwwAuth: true},
			{name: "no credentials", form: cc, status: 401, code: "invalid_client"},
			{name: "client_id without secret", form: url.Values{"grant_type": {"client_credentials"}, "client_id": {c.ClientID}}, status: 401, code: "invalid_client"},
			{name: "empty secret (basic)", form: cc, auth: basicAuth(c.ClientID, ""), status: 401, code: "invalid_client", wwwAuth: true},
			{name: "malformed basic", form: cc, auth: basicHdr("Basic !!!not-base64"), status: 401, code: "invalid_client", wwwAuth: true},
			{name: "basic without colon", form: cc, auth: basicHdr("Basic " + base64.StdEncoding.EncodeToString([]byte(c.ClientID))), status: 401, code: "invalid_client", wwwAuth: true},
			{name: "scope not granted", form: url.Values{"grant_type": {"client_credentials"}, "scope": {"api_keys:read credentials:read"}}, auth: basicAuth(c.ClientID, c.ClientSecret), status: 400, code: "invalid_scope"},
			{name: "unknown scope", form: url.Values{"grant_type": {"client_credentials"}, "scope": {"everything"}}, auth: basicAuth(c.ClientID, c.ClientSecret), status: 400, code: "invalid_scope"},
			{name: "grant password", form: url.Values{"grant_type": {"password"}, "username": {"u"}, "password": {"p"}}, auth: basicAuth(c.ClientID, c.ClientSecret), status: 400, code: "unsupported_grant_type"},
			{name: "grant authorization_code", form: url.Values{"grant_type": {"authorization_code"}, "code": {"x"}}, auth: basicAuth(c.ClientID, c.ClientSecret), status: 400, code: "unsupported_grant_type"},
			{name: "grant refresh_token", form: url.Values{"grant_type": {"refresh_token"}, "refresh_token": {"x"}}, auth: basicAuth(c.ClientID, c.ClientSecret), status: 400, code: "unsupported_grant_type"},
			{name: "missing grant_type", form: url.Values{"scope": {"api_keys:read"}}, auth: basicAuth(c.ClientID, c.ClientSecret), status: 400, code: "invalid_request"},
			{name: "JSON body", rawBody: `{"grant_type":"client_credentials"}`, ctype: "application/json", auth: basicAuth(c.ClientID, c.ClientSecret), status: 400, code: "invalid_request"},
			{name: "no content type", rawBody: "grant_type=client_credentials", ctype: "-", auth: basicAuth(c.ClientID, c.ClientSecret), status: 400, code: "invalid_request"},
			{name: "text/plain", rawBody: "grant_type=client_credentials", ctype: "text/plain", auth: basicAuth(c.ClientID, c.ClientSecret), status: 400, code: "invalid_request"},
			{name: "basic and body secret", form: url.Values{"grant_type": {"client_credentials"}, "client_id": {c.ClientID}, "client_secret": {c.ClientSecret}},
				auth: basicAuth(c.ClientID, c.ClientSecret), status: 400, code: "invalid_request"},
			{name: "basic and another body client_id", form: url.Values{"grant_type": {"client_credentials"}, "client_id": {other.ClientID}},
				auth: basicAuth(c.ClientID, c.ClientSecret), status: 400, code: "invalid_request"},
			{name: "repeated parameter", rawBody: "grant_type=client_credentials&scope=api_keys:read&scope=oauth_clients:read", auth: basicAuth(c.ClientID, c.ClientSecret), status: 400, code: "invalid_request"},
		}
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				var resp *apitest.Response
				if tc.rawBody != "" {
					h := map[string]string{"Content-Type": "application/x-www-form-urlencoded"}
					switch tc.ctype {
					case "":
					case "-":
						delete(h, "Content-Type")
					default:
						h["Content-Type"] = tc.ctype
					}
					if tc.auth.basicID != "" {
						h["Authorization"] = basicHeader(tc.auth.basicID, tc.auth.basicSecret)
					}
					resp = e.Do(apitest.Request{Method: http.MethodPost, Path: "/oauth/token", Body: tc.rawBody, Header: h, NoCType: tc.ctype == "-"})
				} else {
					resp = postForm(e, "/oauth/token", tc.form, tc.auth)
				}
				out := wantOAuthError(t, resp, tc.status, tc.code)
				if out.ErrorDescription == "" {
					t.Error("no error_description")
				}
				if strings.Contains(string(resp.Body), strings.TrimPrefix(c.ClientSecret, "cvcs_")) {
					t.Fatal("the error answer echoes the secret")
				}
				if got := resp.Header.Get("Cache-Control"); got != "no-store" {
					t.Errorf("Cache-Control %q, want no-store", got)
				}
				www := resp.Header.Get("WWW-Authenticate")
				if tc.wwwAuth && (!strings.HasPrefix(www, "Basic") || !strings.Contains(www, `error="invalid_client"`)) {
					t.Errorf("WWW-Authenticate %q, want a Basic challenge naming invalid_client", www)
				}
				if tc.status != 401 && www != "" {
					t.Errorf("WWW-Authenticate %q on a %d", www, tc.status)
				}
			})
		}
		// Wrong secrets are audited as failed client authentications, without the secret.
		a := awaitAudit(t, e, tn.TenantID, "oauth.client_auth", func(a *ent.AuditLog) bool {
			return a.ResourceID == c.ClientID && a.Outcome == "failure" && a.Details["reason"] == "invalid_secret"
		})
		if a.IP == "" {
			t.Error("client_auth entry without the client address")
		}
		// The client still works after all that.
		issueToken(t, e, c, "")
		// Only POST.
		if resp := e.Get("/oauth/token", ""); resp.Status != http.StatusMethodNotAllowed {
			t.Errorf("GET /oauth/token: %d, want 405", resp.Status)
		}
	})
}

func TestOAuthAccessTokenIsJWT(t *testing.T) {
	t.Parallel()
	apitest.Each(t, func(t *testing.T, e *apitest.Env) {
		tn := register(t, e, "JWT Co")
		c := tn.createClient(t, map[string]any{"name": "svc", "scopes": []string{"api_keys:read", "oauth_clients:read"}, "access_token_ttl_seconds": 600})
		before := time.Now().Add(-2 * time.Second).Unix()
		tok := issueToken(t, e, c, "")
		after := time.Now().Add(2 * time.Second).Unix()
		j := parseJWT(t, tok.AccessToken)

		if j.header["typ"] != "at+jwt" || j.header["alg"] != "EdDSA" {
			t.Errorf("header typ %v alg %v, want at+jwt EdDSA", j.header["typ"], j.header["alg"])
		}
		kid, _ := j.header["kid"].(string)
		keys := jwks(t, e)
		pub, ok := keys[kid]
		if !ok {
			t.Fatalf("kid %q is not in /.well-known/jwks.json", kid)
		}
		if !ed25519.Verify(pub, j.signed, j.sig) {
			t.Fatal("the Ed25519 signature does not verify with the JWKS key")
		}

		var meta map[string]any
		if err := json.Unmarshal(e.Get("/.well-known/oauth-authorization-server", "").Body, &meta); err != nil {
			t.Fatal(err)
		}
		for name, want := range map[string]any{"iss": meta["issuer"], "sub": c.ClientID, "client_id": c.ClientID,
			"scope": "api_keys:read oauth_clients:read", "tid": tn.TenantID.String()} {
			if j.claims[name] != want {
				t.Errorf("claim %s = %v, want %v", name, j.claims[name], want)
			}
		}
		var aud []string
		switch a := j.claims["aud"].(type) {
		case string:
			aud = []string{a}
		case []any:
			for _, v := range a {
				s, _ := v.(string)
				aud = append(aud, s)
			}
		}
		if len(aud) == 0 || aud[0] == "" {
			t.Errorf("aud %v: want the API", j.claims["aud"])
		}
		if jti, _ := j.claims["jti"].(string); len(jti) < 16 {
			t.Errorf("jti %v", j.claims["jti"])
		}
		iat, exp := j.num(t, "iat"), j.num(t, "exp")
		if iat < before || iat > after {
			t.Errorf("iat %d not now (%d..%d)", iat, before, after)
		}
		if exp-iat != 600 {
			t.Errorf("exp - iat = %d, want the client's ttl 600", exp-iat)
		}
		if tok.ExpiresIn != 600 {
			t.Errorf("expires_in %d", tok.ExpiresIn)
		}

		// The server checks the signature: any change is refused.
		parts := strings.Split(tok.AccessToken, ".")
		var claims map[string]any
		_ = json.Unmarshal(j.payload, &claims)
		claims["scope"] = "api_keys:read oauth_clients:read oauth_clients:write"
		forged, _ := json.Marshal(claims)
		tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString(forged) + "." + parts[2]
		wantUnauthorized(t, whoami(e, tampered), "invalid")
		none, _ := json.Marshal(map[string]any{"typ": "at+jwt", "alg": "none", "kid": kid})
		wantUnauthorized(t, whoami(e, base64.RawURLEncoding.EncodeToString(none)+"."+parts[1]+"."), "invalid")
		badSig := parts[0] + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString(make([]byte, 64))
		wantUnauthorized(t, whoami(e, badSig), "invalid")
		// A session token is not an access token and vice versa: the typ header decides.
		sess := parseJWT(t, tn.AccessToken)
		if sess.header["typ"] == "at+jwt" {
			t.Error("a session token has typ at+jwt")
		}
		asSession, _ := json.Marshal(map[string]any{"typ": "JWT", "alg": "EdDSA", "kid": kid})
		wantUnauthorized(t, whoami(e, base64.RawURLEncoding.EncodeToString(asSession)+"."+parts[1]+"."+parts[2]), "invalid")
	})
}

func TestOAuthTokenAuthenticatesAsClient(t *testing.T) {
	t.Parallel()
	apitest.Each(t, func(t *testing.T, e *apitest.Env) {
		tn := register(t, e, "Principal Co")
		other := register(t, e, "Principal Other")
		c := tn.createClient(t, map[string]any{"name": "svc", "scopes": []string{"oauth_clients:read", "api_keys:read"}})
		tok := issueToken(t, e, c, "oauth_clients:read")

		me := me(t, e, tok.AccessToken)
		if me.PrincipalType != "oauth_client" || me.ClientID == nil || *me.ClientID != c.ClientID || me.ID != c.ID.String() ||
			me.Tenant.ID != tn.TenantID.String() || me.User != nil {
			t.Errorf("/auth/me: %+v", me)
		}
		if !slices.Equal(me.Scopes, []string{"oauth_clients:read"}) {
			t.Errorf("scopes %v, want the token's [oauth_clients:read]", me.Scopes)
		}
		// A route within the token's scopes.
		resp := e.Get("/api/v1/oauth-clients/"+c.ClientID, tok.AccessToken)
		if resp.Status != http.StatusOK {
			t.Errorf("GET own client with oauth_clients:read: %d", resp.Status)
		}
		// A scope the client has but the token does not.
		resp = e.Get("/api/v1/api-keys", tok.AccessToken)
		wantError(t, resp, http.StatusForbidden, "FORBIDDEN")
		if got := resp.Envelope.Error.Details["required_scope"]; got != "api_keys:read" {
			t.Errorf("required_scope %v", got)
		}
		// A write scope nobody gave it.
		resp = e.Do(apitest.Request{Method: http.MethodPost, Path: "/api/v1/oauth-clients", Bearer: tok.AccessToken,
			Body: map[string]any{"name": "x", "scopes": []string{"api_keys:read"}}})
		wantError(t, resp, http.StatusForbidden, "FORBIDDEN")
		// The full token reaches both.
		full := issueToken(t, e, c, "")
		if resp := e.Get("/api/v1/api-keys", full.AccessToken); resp.Status != http.StatusOK {
			t.Errorf("GET /api-keys with api_keys:read: %d", resp.Status)
		}
		// The same principal through GraphQL.
		var g struct {
			Me struct {
				PrincipalType string   `json:"principalType"`
				Scopes        []string `json:"scopes"`
				ClientID      *string  `json:"clientID"`
			} `json:"me"`
		}
		e.GraphQL(`{ me { principalType scopes clientID } }`, nil, tok.AccessToken).Decode(t, &g)
		if g.Me.PrincipalType != "oauth_client" || g.Me.ClientID == nil || *g.Me.ClientID != c.ClientID {
			t.Errorf("GraphQL me: %+v", g.Me)
		}
		// x-tenantid of another tenant: refused.
		resp = e.Do(apitest.Request{Method: http.MethodGet, Path: "/api/v1/auth/me", Bearer: tok.AccessToken,
			Header: map[string]string{"x-tenantid": other.TenantID.String()}})
		wantError(t, resp, http.StatusForbidden, "TENANT_MISMATCH")
		// The client sees only its tenant's clients.
		other.createClient(t, map[string]any{"name": "theirs", "scopes": []string{"api_keys:read"}})
		var list []clientJSON
		e.Get("/api/v1/oauth-clients", tok.AccessToken).Data(t, &list)
		if len(list) != 1 || list[0].ClientID != c.ClientID {
			t.Errorf("the client lists %d clients", len(list))
		}
		// Malformed bearer values.
		wantUnauthorized(t, whoami(e, "not-a-jwt"), "malformed")
	})
}

func TestOAuthIntrospection(t *testing.T) {
	t.Parallel()
	apitest.Each(t, func(t *testing.T, e *apitest.Env) {
		tn := register(t, e, "Intro Co")
		other := register(t, e, "Intro Other")
		c := tn.createClient(t, map[string]any{"name": "svc", "scopes": []string{"api_keys:read", "oauth_clients:read"}})
		resource := tn.createClient(t, map[string]any{"name": "resource server", "scopes": []string{"api_keys:read"}})
		oc := other.createClient(t, map[string]any{"name": "foreign", "scopes": []string{"api_keys:read"}})
		tok := issueToken(t, e, c, "api_keys:read")
		j := parseJWT(t, tok.AccessToken)

		active := func(t *testing.T, got map[string]any) {
			t.Helper()
			if got["active"] != true {
				t.Fatalf("active %v, want true", got["active"])
			}
			for k, want := range map[string]any{"scope": "api_keys:read", "client_id": c.ClientID, "sub": c.ClientID,
				"iss": j.claims["iss"], "jti": j.claims["jti"], "token_type": "Bearer"} {
				if got[k] != want {
					t.Errorf("%s = %v, want %v", k, got[k], want)
				}
			}
			iat, _ := got["iat"].(float64)
			exp, _ := got["exp"].(float64)
			if int64(iat) != j.num(t, "iat") || int64(exp) != j.num(t, "exp") {
				t.Errorf("iat %v exp %v differ from the token's", got["iat"], got["exp"])
			}
		}
		inactive := func(t *testing.T, got map[string]any) {
			t.Helper()
			if got["active"] != false || len(got) != 1 {
				t.Errorf("want exactly {active:false}, got %d members, active %v", len(got), got["active"])
			}
		}

		t.Run("by the client itself (basic)", func(t *testing.T) {
			active(t, introspect(t, e, tok.AccessToken, basicAuth(c.ClientID, c.ClientSecret)))
		})
		t.Run("by another client of the tenant", func(t *testing.T) {
			// RFC 7662 §2.2: a client learns nothing of another client's tokens.
			inactive(t, introspect(t, e, tok.AccessToken, basicAuth(resource.ClientID, resource.ClientSecret)))
		})
		t.Run("client_secret_post", func(t *testing.T) {
			resp := postForm(e, "/oauth/introspect", url.Values{"token": {tok.AccessToken}, "client_id": {c.ClientID}, "client_secret": {c.ClientSecret}}, formAuth{})
			if resp.Status != http.StatusOK {
				t.Fatalf("%d %s", resp.Status, redact(resp.Body))
			}
			var got map[string]any
			_ = json.Unmarshal(resp.Body, &got)
			active(t, got)
			if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
				t.Errorf("Cache-Control %q", cc)
			}
		})
		t.Run("API key with oauth_clients:read", func(t *testing.T) {
			key := tn.key(t, "oauth_clients:read").Key
			active(t, introspect(t, e, tok.AccessToken, formAuth{header: map[string]string{"X-API-Key": key}}))
			active(t, introspect(t, e, tok.AccessToken, formAuth{header: map[string]string{"Authorization": "ApiKey " + key}}))
			active(t, introspect(t, e, tok.AccessToken, formAuth{header: map[string]string{"Authorization": "Bearer " + key}}))
		})
		t.Run("API key without oauth_clients:read", func(t *testing.T) {
			key := tn.key(t, "api_keys:read").Key
			resp := postForm(e, "/oauth/introspect", url.Values{"token": {tok.AccessToken}}, formAuth{header: map[string]string{"X-API-Key": key}})
			wantOAuthError(t, resp, http.StatusForbidden, "insufficient_scope")
			if bytes.Contains(resp.Body, []byte(`"active"`)) {
				t.Error("a refused introspection tells whether the token is active")
			}
		})
		t.Run("no credentials", func(t *testing.T) {
			resp := postForm(e, "/oauth/introspect", url.Values{"token": {tok.AccessToken}}, formAuth{})
			wantOAuthError(t, resp, http.StatusUnauthorized, "invalid_client")
			if resp.Header.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
		})
		t.Run("wrong client secret", func(t *testing.T) {
			resp := postForm(e, "/oauth/introspect", url.Values{"token": {tok.AccessToken}}, basicAuth(c.ClientID, "cvcs_wrong"))
			wantOAuthError(t, resp, http.StatusUnauthorized, "invalid_client")
		})
		t.Run("invalid API key", func(t *testing.T) {
			resp := postForm(e, "/oauth/introspect", url.Values{"token": {tok.AccessToken}}, formAuth{header: map[string]string{"X-API-Key": "cvk_nosuchkey0000000000000000000000000000"}})
			wantOAuthError(t, resp, http.StatusUnauthorized, "invalid_client")
		})
		t.Run("missing token", func(t *testing.T) {
			resp := postForm(e, "/oauth/introspect", url.Values{}, basicAuth(c.ClientID, c.ClientSecret))
			wantOAuthError(t, resp, http.StatusBadRequest, "invalid_request")
		})
		t.Run("not a form", func(t *testing.T) {
			resp := e.Do(apitest.Request{Method: http.MethodPost, Path: "/oauth/introspect", Body: map[string]string{"token": tok.AccessToken},
				Header: map[string]string{"Authorization": basicHeader(c.ClientID, c.ClientSecret)}})
			wantOAuthError(t, resp, http.StatusBadRequest, "invalid_request")
		})
		t.Run("garbage token", func(t *testing.T) {
			for _, garbage := range []string{"garbage", "a.b.c", tn.AccessToken, strings.TrimSuffix(tok.AccessToken, tok.AccessToken[len(tok.AccessToken)-4:]) + "AAAA"} {
				inactive(t, introspect(t, e, garbage, basicAuth(c.ClientID, c.ClientSecret)))
			}
		})
		t.Run("another tenant's token", func(t *testing.T) {
			foreign := issueToken(t, e, oc, "").AccessToken
			inactive(t, introspect(t, e, foreign, basicAuth(c.ClientID, c.ClientSecret)))
			key := tn.key(t, "oauth_clients:read").Key
			inactive(t, introspect(t, e, foreign, formAuth{header: map[string]string{"X-API-Key": key}}))
			// Its own tenant sees it active.
			if got := introspect(t, e, foreign, basicAuth(oc.ClientID, oc.ClientSecret)); got["active"] != true {
				t.Error("the token's own tenant sees it inactive")
			}
		})
		t.Run("revoked token", func(t *testing.T) {
			victim := issueToken(t, e, c, "").AccessToken
			resp := postForm(e, "/oauth/revoke", url.Values{"token": {victim}}, basicAuth(c.ClientID, c.ClientSecret))
			if resp.Status != http.StatusOK {
				t.Fatalf("revoke: %d", resp.Status)
			}
			inactive(t, introspect(t, e, victim, basicAuth(c.ClientID, c.ClientSecret)))
			// Others are unaffected.
			active(t, introspect(t, e, tok.AccessToken, basicAuth(c.ClientID, c.ClientSecret)))
		})
	})
}

func TestOAuthRevocation(t *testing.T) {
	t.Parallel()
	apitest.Each(t, func(t *testing.T, e *apitest.Env) {
		tn := register(t, e, "Revoke Co")
		other := register(t, e, "Revoke Other")
		c := tn.createClient(t, map[string]any{"name": "svc", "scopes": []string{"api_keys:read"}})
		sibling := tn.createClient(t, map[string]any{"name": "sibling", "scopes": []string{"api_keys:read"}})
		oc := other.createClient(t, map[string]any{"name": "foreign", "scopes": []string{"api_keys:read"}})
		ctx := store.Unrestricted(context.Background())
		rows := func(jti string) []*ent.RevokedToken {
			t.Helper()
			r, err := e.Store.Client.RevokedToken.Query().Where(revokedtoken.Jti(jti)).All(ctx)
			if err != nil {
				t.Fatal(err)
			}
			return r
		}
		revoke := func(token string, a formAuth) *apitest.Response {
			t.Helper()
			return postForm(e, "/oauth/revoke", url.Values{"token": {token}, "token_type_hint": {"access_token"}}, a)
		}
		want200 := func(resp *apitest.Response) {
			t.Helper()
			if resp.Status != http.StatusOK {
				t.Fatalf("revoke: %d %s", resp.Status, redact(resp.Body))
			}
		}

		tok := issueToken(t, e, c, "")
		keep := issueToken(t, e, c, "")
		j := parseJWT(t, tok.AccessToken)
		jti := j.claims["jti"].(string)
		me(t, e, tok.AccessToken)

		resp := revoke(tok.AccessToken, basicAuth(c.ClientID, c.ClientSecret))
		want200(resp)
		if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("Cache-Control %q", cc)
		}
		// At once: the very next call is refused.
		wantUnauthorized(t, whoami(e, tok.AccessToken), "revoked")
		if got := introspect(t, e, tok.AccessToken, basicAuth(c.ClientID, c.ClientSecret)); got["active"] != false {
			t.Error("a revoked token introspects active")
		}
		g := e.GraphQL(`{ me { principalType } }`, nil, tok.AccessToken)
		if g.Status != http.StatusUnauthorized || g.Code() != "UNAUTHORIZED" {
			t.Errorf("GraphQL with a revoked token: %d %q", g.Status, g.Code())
		}
		// Other tokens of the client are not affected.
		me(t, e, keep.AccessToken)

		r := rows(jti)
		if len(r) != 1 {
			t.Fatalf("%d revoked_tokens rows for the jti, want 1", len(r))
		}
		if r[0].ClientID != c.ClientID || r[0].TenantID != tn.TenantID || r[0].ExpiresAt.Unix() != j.num(t, "exp") {
			t.Errorf("revoked_tokens row: client %s tenant %s expires %v", r[0].ClientID, r[0].TenantID, r[0].ExpiresAt)
		}
		a := auditEntries(t, e, tn.TenantID, "oauth.revoke", "")
		if len(a) != 1 || a[0].ResourceID != jti || a[0].ResourceType != "oauth_token" || a[0].Details["client_id"] != c.ClientID || a[0].Outcome != "success" {
			t.Fatalf("oauth.revoke entries: %+v", a)
		}
		if strings.Contains(a[0].String(), tok.AccessToken) {
			t.Fatal("the audit entry holds the token")
		}

		// Revoking again, or garbage, or an unknown token: 200 and nothing more.
		want200(revoke(tok.AccessToken, basicAuth(c.ClientID, c.ClientSecret)))
		want200(revoke("garbage", basicAuth(c.ClientID, c.ClientSecret)))
		want200(postForm(e, "/oauth/revoke", url.Values{"token": {"a.b.c"}}, basicAuth(c.ClientID, c.ClientSecret)))
		if n := len(rows(jti)); n != 1 {
			t.Errorf("%d rows after revoking twice", n)
		}
		if n := len(auditEntries(t, e, tn.TenantID, "oauth.revoke", "")); n != 1 {
			t.Errorf("%d oauth.revoke entries after revoking twice and garbage", n)
		}

		// Another tenant's token: 200, but it keeps working.
		foreign := issueToken(t, e, oc, "").AccessToken
		want200(revoke(foreign, basicAuth(c.ClientID, c.ClientSecret)))
		me(t, e, foreign)
		// Another client's token in the same tenant: not revoked either.
		sib := issueToken(t, e, sibling, "").AccessToken
		want200(revoke(sib, basicAuth(c.ClientID, c.ClientSecret)))
		me(t, e, sib)

		// An API key with oauth_clients:write revokes any token of its tenant.
		writer := tn.key(t, "oauth_clients:write").Key
		want200(revoke(sib, formAuth{header: map[string]string{"X-API-Key": writer}}))
		wantUnauthorized(t, whoami(e, sib), "revoked")
		// ...but not another tenant's.
		want200(revoke(foreign, formAuth{header: map[string]string{"X-API-Key": writer}}))
		me(t, e, foreign)
		// A key with only oauth_clients:read may not revoke.
		reader := tn.key(t, "oauth_clients:read").Key
		wantOAuthError(t, revoke(keep.AccessToken, formAuth{header: map[string]string{"X-API-Key": reader}}), http.StatusForbidden, "insufficient_scope")
		me(t, e, keep.AccessToken)
		// No or wrong credentials.
		wantOAuthError(t, revoke(keep.AccessToken, formAuth{}), http.StatusUnauthorized, "invalid_client")
		wantOAuthError(t, revoke(keep.AccessToken, basicAuth(c.ClientID, "cvcs_wrong")), http.StatusUnauthorized, "invalid_client")
		wantOAuthError(t, postForm(e, "/oauth/revoke", url.Values{}, basicAuth(c.ClientID, c.ClientSecret)), http.StatusBadRequest, "invalid_request")
		me(t, e, keep.AccessToken)
		if n := len(auditEntries(t, e, tn.TenantID, "oauth.revoke", "")); n != 2 {
			t.Errorf("%d oauth.revoke entries, want 2", n)
		}
		if n := len(auditEntries(t, e, other.TenantID, "oauth.revoke", "")); n != 0 {
			t.Errorf("%d oauth.revoke entries in the other tenant, want 0", n)
		}

		t.Run("audit names the revoker", func(t *testing.T) {
			// oauth/server.go revoke() records the entry under a principal
			// built from the token (Kind oauth_client, no ID): actor_id is
			// empty, and a revocation by an API key is attributed to the
			// token's client instead of the key.
			entries := auditEntries(t, e, tn.TenantID, "oauth.revoke", "")
			if entries[0].ActorType != "oauth_client" || entries[0].ActorID != c.ID.String() {
				t.Errorf("revocation by the client: actor %s/%q, want oauth_client/%s", entries[0].ActorType, entries[0].ActorID, c.ID)
			}
			if entries[1].ActorType != "api_key" || entries[1].ActorID == "" {
				t.Errorf("revocation by an API key: actor %s/%q, want api_key/<key id>", entries[1].ActorType, entries[1].ActorID)
			}
		})
	})
}

// Disabling a client stops its tokens and its token requests at once;
// enabling it restores both. Deleting it stops them for good.
func TestOAuthDisableAndDelete(t *testing.T) {
	t.Parallel()
	apitest.Each(t, func(t *testing.T, e *apitest.Env) {
		tn := register(t, e, "Disable Co")
		c := tn.createClient(t, map[string]any{"name": "svc", "scopes": []string{"api_keys:read"}})
		bystander := tn.createClient(t, map[string]any{"name": "bystander", "scopes": []string{"api_keys:read"}})
		bt := issueToken(t, e, bystander, "").AccessToken
		patch := func(status string) {
			t.Helper()
			resp := e.Do(apitest.Request{Method: http.MethodPatch, Path: "/api/v1/oauth-clients/" + c.ClientID, Bearer: tn.AccessToken,
				Body: map[string]any{"status": status}})
			if resp.Status != http.StatusOK {
				t.Fatalf("PATCH status %s: %d %s", status, resp.Status, redact(resp.Body))
			}
		}

		tok := issueToken(t, e, c, "").AccessToken
		me(t, e, tok) // warm the client cache

		patch("disabled")
		wantUnauthorized(t, whoami(e, tok), "revoked")
		wantOAuthError(t, clientCredentials(e, c.ClientID, c.ClientSecret, ""), http.StatusUnauthorized, "invalid_client")
		if got := introspect(t, e, tok, basicAuth(bystander.ClientID, bystander.ClientSecret)); got["active"] != false {
			t.Error("a disabled client's token introspects active")
		}
		// A disabled client cannot introspect or revoke either.
		wantOAuthError(t, postForm(e, "/oauth/introspect", url.Values{"token": {bt}}, basicAuth(c.ClientID, c.ClientSecret)), http.StatusUnauthorized, "invalid_client")
		me(t, e, bt)
		awaitAudit(t, e, tn.TenantID, "oauth.client_auth", func(a *ent.AuditLog) bool {
			return a.ResourceID == c.ClientID && a.Details["reason"] == "client_disabled"
		})

		patch("active")
		// Enabled again, the client needs new tokens: the old one stays ended
		// (token_end_test.go).
		wantUnauthorized(t, whoami(e, tok), "revoked")
		fresh := issueToken(t, e, c, "").AccessToken
		me(t, e, fresh)

		resp := e.Do(apitest.Request{Method: http.MethodDelete, Path: "/api/v1/oauth-clients/" + c.ClientID, Bearer: tn.AccessToken})
		if resp.Status != http.StatusOK {
			t.Fatalf("DELETE: %d", resp.Status)
		}
		wantUnauthorized(t, whoami(e, tok), "revoked")
		wantUnauthorized(t, whoami(e, fresh), "revoked")
		wantOAuthError(t, clientCredentials(e, c.ClientID, c.ClientSecret, ""), http.StatusUnauthorized, "invalid_client")
		if got := introspect(t, e, fresh, basicAuth(bystander.ClientID, bystander.ClientSecret)); got["active"] != false {
			t.Error("a deleted client's token introspects active")
		}
		me(t, e, bt)
	})
}

func TestOAuthMetadata(t *testing.T) {
	t.Parallel()
	apitest.Each(t, func(t *testing.T, e *apitest.Env) {
		resp := e.Get("/.well-known/oauth-authorization-server", "")
		if resp.Status != http.StatusOK || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
			t.Fatalf("metadata: %d %s", resp.Status, resp.Header.Get("Content-Type"))
		}
		var m struct {
			Issuer                    string   `json:"issuer"`
			TokenEndpoint             string   `json:"token_endpoint"`
			IntrospectionEndpoint     string   `json:"introspection_endpoint"`
			RevocationEndpoint        string   `json:"revocation_endpoint"`
			JWKSURI                   string   `json:"jwks_uri"`
			GrantTypesSupported       []string `json:"grant_types_supported"`
			TokenEndpointAuthMethods  []string `json:"token_endpoint_auth_methods_supported"`
			ScopesSupported           []string `json:"scopes_supported"`
			ResponseTypesSupported    []string `json:"response_types_supported"`
			IntrospectionAuthMethods  []string `json:"introspection_endpoint_auth_methods_supported"`
			RevocationAuthMethods     []string `json:"revocation_endpoint_auth_methods_supported"`
			TokenEndpointSigningAlgos []string `json:"token_endpoint_auth_signing_alg_values_supported"`
		}
		if err := json.Unmarshal(resp.Body, &m); err != nil {
			t.Fatal(err)
		}
		if m.Issuer != e.Config.PublicURL {
			t.Errorf("issuer %q, want the public URL %q", m.Issuer, e.Config.PublicURL)
		}
		u, err := url.Parse(m.Issuer)
		if err != nil || u.Scheme == "" || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			t.Errorf("issuer %q is not an absolute URL without query or fragment (RFC 8414 §2)", m.Issuer)
		}
		for name, got := range map[string]string{"/oauth/token": m.TokenEndpoint, "/oauth/introspect": m.IntrospectionEndpoint,
			"/oauth/revoke": m.RevocationEndpoint, "/.well-known/jwks.json": m.JWKSURI} {
			if got != m.Issuer+name {
				t.Errorf("endpoint %q, want %q", got, m.Issuer+name)
			}
			// The advertised paths are served here (the issuer is the public URL).
			path := strings.TrimPrefix(got, m.Issuer)
			method := http.MethodPost
			if strings.HasPrefix(path, "/.well-known") {
				method = http.MethodGet
			}
			if r := e.Do(apitest.Request{Method: method, Path: path}); r.Status == http.StatusNotFound {
				t.Errorf("%s %s is not served", method, path)
			}
		}
		if !slices.Contains(m.GrantTypesSupported, "client_credentials") {
			t.Errorf("grant_types_supported %v", m.GrantTypesSupported)
		}
		for _, method := range []string{"client_secret_basic", "client_secret_post"} {
			if !slices.Contains(m.TokenEndpointAuthMethods, method) {
				t.Errorf("token_endpoint_auth_methods_supported %v lacks %s", m.TokenEndpointAuthMethods, method)
			}
		}
		if !slices.Contains(m.ScopesSupported, "oauth_clients:read") || slices.Contains(m.ScopesSupported, "") {
			t.Errorf("scopes_supported %v", m.ScopesSupported)
		}
		if m.ResponseTypesSupported == nil {
			t.Error("response_types_supported is required by RFC 8414 §2")
		}
	})
}

// counterSum returns the value of the counter name with the given labels
// (a subset of its labels), summed over the matching series.
func counterSum(t testing.TB, e *apitest.Env, name string, labels map[string]string) float64 {
	t.Helper()
	fam, ok := scrapeMetrics(t, e)[name]
	if !ok {
		return 0
	}
	var sum float64
	for _, m := range fam.GetMetric() {
		have := map[string]string{}
		for _, lp := range m.GetLabel() {
			have[lp.GetName()] = lp.GetValue()
		}
		match := true
		for k, v := range labels {
			if have[k] != v {
				match = false
			}
		}
		if match {
			sum += m.GetCounter().GetValue()
		}
	}
	return sum
}

func TestOAuthMetrics(t *testing.T) {
	t.Parallel()
	apitest.Each(t, func(t *testing.T, e *apitest.Env) {
		tn := register(t, e, "Metrics Co")
		c := tn.createClient(t, map[string]any{"name": "svc", "scopes": []string{"api_keys:read"}})
		const tokens = "credvault_oauth_token_requests_total"
		const auth = "credvault_auth_attempts_total"
		if got := counterSum(t, e, tokens, map[string]string{"result": "issued"}); got != 0 {
			t.Fatalf("issued before any request: %v", got)
		}

		tok := issueToken(t, e, c, "").AccessToken
		wantOAuthError(t, clientCredentials(e, c.ClientID, "cvcs_wrong", ""), http.StatusUnauthorized, "invalid_client")
		wantOAuthError(t, clientCredentials(e, c.ClientID, c.ClientSecret, "audit:read"), http.StatusBadRequest, "invalid_scope")
		wantOAuthError(t, postForm(e, "/oauth/token", url.Values{"grant_type": {"password"}}, basicAuth(c.ClientID, c.ClientSecret)), http.StatusBadRequest, "unsupported_grant_type")
		me(t, e, tok)
		me(t, e, tok)
		if resp := postForm(e, "/oauth/revoke", url.Values{"token": {tok}}, basicAuth(c.ClientID, c.ClientSecret)); resp.Status != http.StatusOK {
			t.Fatalf("revoke: %d", resp.Status)
		}
		wantUnauthorized(t, whoami(e, tok), "revoked")

		for _, w := range []struct {
			name   string
			labels map[string]string
			want   float64
		}{
			{tokens, map[string]string{"result": "issued"}, 1},
			{tokens, map[string]string{"result": "invalid_client"}, 1},
			{tokens, map[string]string{"result": "invalid_scope"}, 1},
			{tokens, map[string]string{"result": "unsupported_grant_type"}, 1},
			{auth, map[string]string{"method": "access_token", "result": "success"}, 2},
			{auth, map[string]string{"method": "access_token", "result": "revoked"}, 1},
			{auth, map[string]string{"method": "client_credentials", "result": "invalid_secret"}, 1},
		} {
			if got := counterSum(t, e, w.name, w.labels); got != w.want {
				t.Errorf("%s%v = %v, want %v", w.name, w.labels, got, w.want)
			}
		}
		if got := counterSum(t, e, auth, map[string]string{"method": "client_credentials", "result": "success"}); got < 3 {
			t.Errorf("client_credentials successes %v, want at least 3 (token, invalid_scope, revoke)", got)
		}
	})
}

// The token endpoint is limited per client address (600 a minute, counted
// in minute windows by a sliding estimate): the first 600 requests pass, and
// a refusal comes before twice that. It answers 429 in the RFC format with
// Retry-After.
func TestOAuthTokenRateLimit(t *testing.T) {
	t.Parallel()
	apitest.Each(t, func(t *testing.T, e *apitest.Env) {
		tn := register(t, e, "Limit Co")
		c := tn.createClient(t, map[string]any{"name": "svc", "scopes": []string{"api_keys:read"}})
		const perMinute = 600
		limited := 0
		var resp *apitest.Response
		for i := 1; i <= 2*perMinute+1; i++ {
			// Wrong secrets are cheapest and count the same.
			resp = clientCredentials(e, c.ClientID, "cvcs_wrong", "")
			if resp.Status == http.StatusTooManyRequests {
				limited = i
				break
			}
			if resp.Status != http.StatusUnauthorized {
				t.Fatalf("request %d: %d %s", i, resp.Status, redact(resp.Body))
			}
		}
		if limited == 0 {
			t.Fatalf("no 429 within %d requests", 2*perMinute+1)
		}
		if limited <= perMinute {
			t.Fatalf("429 at request %d, within the limit of %d", limited, perMinute)
		}
		out := wantOAuthError(t, resp, http.StatusTooManyRequests, "slow_down")
		if out.ErrorDescription == "" {
			t.Error("no error_description")
		}
		if ra := resp.Header.Get("Retry-After"); ra == "" || strings.Trim(ra, "0123456789") != "" || ra == "0" {
			t.Errorf("Retry-After %q, want a positive number of seconds", ra)
		}
		// The correct secret is limited too: the limit is per address.
		wantOAuthError(t, clientCredentials(e, c.ClientID, c.ClientSecret, ""), http.StatusTooManyRequests, "slow_down")
		t.Run("counted as rate limited, not as server errors", func(t *testing.T) {
			// oauth/server.go Token labels every error that is not an
			// *oauthError "server_error", the per-IP limit's apperr included.
			if got := counterSum(t, e, "credvault_oauth_token_requests_total", map[string]string{"result": "server_error"}); got != 0 {
				t.Errorf("result=server_error = %v after rate-limited requests, want 0", got)
			}
		})
	}, func(c *config.Config) { c.RateLimits = "free=100000/h" })
}
