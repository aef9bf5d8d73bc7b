package auth

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/google/uuid"

	"github.com/credvault/credvault/ent/tenant"
	"github.com/credvault/credvault/internal/access"
	"github.com/credvault/credvault/internal/platform/apperr"
	"github.com/credvault/credvault/internal/platform/reqinfo"
	"github.com/credvault/credvault/internal/platform/store"
	"github.com/credvault/credvault/internal/platform/store/storetest"
)

// fakeJWT builds a three-segment token whose header is header (JSON).
func fakeJWT(header string) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(header)) + "." + enc([]byte(`{"sub":"x"}`)) + ".c2ln"
}

const apiKey = "cvk_0123456789abcdefghijABCDEFGHIJ0123456789abc"

func TestCredentialHeaders(t *testing.T) {
	t.Parallel()
	session := fakeJWT(`{"alg":"EdDSA","typ":"JWT","kid":"k"}`)
	access := fakeJWT(`{"alg":"EdDSA","typ":"at+jwt","kid":"k"}`)
	accessUpper := fakeJWT(`{"alg":"EdDSA","typ":"AT+JWT"}`)
	noTyp := fakeJWT(`{"alg":"EdDSA"}`)
	cases := []struct {
		name    string
		header  map[string]string
		kind    string // "" with no error: no credential at all
		cred    string
		malform bool
	}{
		{name: "none", header: nil},
		{name: "X-API-Key", header: map[string]string{"X-API-Key": apiKey}, kind: "api_key", cred: apiKey},
		{name: "X-API-Key trimmed", header: map[string]string{"X-API-Key": "  " + apiKey + " "}, kind: "api_key", cred: apiKey},
		{name: "ApiKey scheme", header: map[string]string{"Authorization": "ApiKey " + apiKey}, kind: "api_key", cred: apiKey},
		{name: "apikey scheme, any case", header: map[string]string{"Authorization": "APIKEY " + apiKey}, kind: "api_key", cred: apiKey},
		{name: "Bearer api key", header: map[string]string{"Authorization": "Bearer " + apiKey}, kind: "api_key", cred: apiKey},
		{name: "Bearer session jwt", header: map[string]string{"Authorization": "Bearer " + session}, kind: "session", cred: session},
		{name: "bearer lower case", header: map[string]string{"Authorization": "bearer " + session}, kind: "session", cred: session},
		{name: "Bearer jwt without typ", header: map[string]string{"Authorization": "Bearer " + noTyp}, kind: "session", cred: noTyp},
		{name: "Bearer access token", header: map[string]string{"Authorization": "Bearer " + access}, kind: "access_token", cred: access},
		{name: "Bearer access token, typ upper case", header: map[string]string{"Authorization": "Bearer " + accessUpper}, kind: "access_token", cred: accessUpper},
		{name: "X-API-Key wins over Authorization", header: map[string]string{"X-API-Key": apiKey, "Authorization": "Bearer " + session}, kind: "api_key", cred: apiKey},
		{name: "Bearer two segments", header: map[string]string{"Authorization": "Bearer abc.def"}, malform: true},
		{name: "Bearer abc", header: map[string]string{"Authorization": "Bearer abc"}, malform: true},
		{name: "Bearer four segments", header: map[string]string{"Authorization": "Bearer a.b.c.d"}, malform: true},
		{name: "empty Bearer", header: map[string]string{"Authorization": "Bearer"}, malform: true},
		{name: "Bearer and spaces", header: map[string]string{"Authorization": "Bearer    "}, malform: true},
		{name: "empty ApiKey", header: map[string]string{"Authorization": "ApiKey "}, malform: true},
		{name: "Basic", header: map[string]string{"Authorization": "Basic dXNlcjpwYXNz"}, malform: true},
		{name: "a bare token", header: map[string]string{"Authorization": session}, malform: true},
		{name: "Digest", header: map[string]string{"Authorization": "Digest username=x"}, malform: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			for k, v := range c.header {
				r.Header.Set(k, v)
			}
			kind, cred, err := credential(r)
			switch {
			case c.malform:
				if !apperr.Is(err, apperr.Unauthorized) || apperr.From(err).Details["reason"] != "malformed" {
					t.Fatalf("err = %v, want UNAUTHORIZED malformed (kind %q)", err, kind)
				}
			case err != nil:
				t.Fatalf("err = %v", err)
			case kind != c.kind || cred != c.cred:
				t.Fatalf("kind %q, credential of %d chars; want %q, %d chars", kind, len(cred), c.kind, len(c.cred))
			}
		})
	}
}

func TestIsAccessToken(t *testing.T) {
	t.Parallel()
	for tok, want := range map[string]bool{
		fakeJWT(`{"typ":"at+jwt"}`):   true,
		fakeJWT(`{"typ":"At+Jwt"}`):   true,
		fakeJWT(`{"typ":"JWT"}`):      false,
		fakeJWT(`{"typ":"at+jwt2"}`):  false,
		fakeJWT(`{"typ":["at+jwt"]}`): false,
		fakeJWT(`not json`):           false,
		"!!!.e30.sig":                 false,
		"":                            false,
	} {
		if got := isAccessToken(tok); got != want {
			t.Errorf("isAccessToken(%.20q…) = %v, want %v", tok, got, want)
		}
	}
}

// recorder is a verifier that remembers what it was asked and answers p or err.
type recorder struct {
	got []string
	p   *access.Principal
	err error
}

func (v *recorder) Verify(_ context.Context, cred string) (*access.Principal, error) {
	v.got = append(v.got, cred)
	return v.p, v.err
}

func userPrincipal(tenantID uuid.UUID, role string, platform bool) *access.Principal {
	id := uuid.New()
	return &access.Principal{Kind: access.KindUser, ID: id, UserID: id, TenantID: tenantID, HomeTenantID: tenantID,
		Scopes: access.ForRole(role, platform)}
}

func TestAuthenticateRoutesEachKindToItsVerifier(t *testing.T) {
	t.Parallel()
	home := uuid.New()
	p := userPrincipal(home, access.Owner, false)
	keys, sessions, access := &recorder{p: p}, &recorder{p: p}, &recorder{p: p}
	a := &Authenticator{APIKeys: keys, Sessions: sessions, AccessTokens: access}
	session := fakeJWT(`{"typ":"JWT"}`)
	at := fakeJWT(`{"typ":"at+jwt"}`)
	for _, h := range []map[string]string{
		{"X-API-Key": apiKey}, {"Authorization": "ApiKey " + apiKey}, {"Authorization": "Bearer " + apiKey},
		{"Authorization": "Bearer " + session}, {"Authorization": "Bearer " + at},
	} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		for k, v := range h {
			r.Header.Set(k, v)
		}
		got, err := a.Authenticate(context.Background(), r)
		if err != nil || got != p {
			t.Fatalf("%v: principal %v, err %v", h, got, err)
		}
	}
	if len(keys.got) != 3 || len(sessions.got) != 1 || len(access.got) != 1 ||
		sessions.got[0] != session || access.got[0] != at || keys.got[0] != apiKey {
		t.Fatalf("verifier calls: keys %d, sessions %d, access %d", len(keys.got), len(sessions.got), len(access.got))
	}

	// No credential: no principal, no error, no verifier call.
	got, err := a.Authenticate(context.Background(), httptest.NewRequest(http.MethodGet, "/", nil))
	if got != nil || err != nil || len(keys.got)+len(sessions.got)+len(access.got) != 5 {
		t.Fatalf("anonymous request: principal %v err %v", got, err)
	}

	// A kind without a verifier is refused as invalid.
	none := &Authenticator{Sessions: sessions}
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.Header.Set("X-API-Key", apiKey)
	if _, err := none.Authenticate(context.Background(), r); apperr.From(err).Details["reason"] != "invalid" {
		t.Fatalf("a kind without verifier: %v, want invalid", err)
	}
	r.Header.Del("X-API-Key")
	r.Header.Set("Authorization", "Bearer "+at)
	if _, err := none.Authenticate(context.Background(), r); apperr.From(err).Details["reason"] != "invalid" {
		t.Fatalf("an access token without verifier: %v, want invalid", err)
	}

	// A verifier's refusal is passed on as it is.
	refuse := &Authenticator{Sessions: &recorder{err: apperr.Unauthenticated("expired")}}
	r.Header.Set("Authorization", "Bearer "+session)
	if _, err := refuse.Authenticate(context.Background(), r); apperr.From(err).Details["reason"] != "expired" {
		t.Fatalf("verifier error: %v, want expired", err)
	}
}

func TestTenantHeaderForOrdinaryPrincipals(t *testing.T) {
	t.Parallel()
	home := uuid.New()
	p := userPrincipal(home, access.Owner, false)
	a := &Authenticator{Sessions: &recorder{p: p}}
	req := func(tenantHeader string) *http.Request {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("Authorization", "Bearer "+fakeJWT(`{"typ":"JWT"}`))
		if tenantHeader != "" {
			r.Header.Set("x-tenantid", tenantHeader)
		}
		return r
	}
	for _, h := range []string{"", home.String(), " " + home.String() + " ", "{" + home.String() + "}"} {
		got, err := a.Authenticate(context.Background(), req(h))
		if err != nil || got.TenantID != home {
			t.Fatalf("x-tenantid %q: tenant %v, err %v", h, got, err)
		}
	}
	for _, h := range []string{uuid.NewString(), "not-a-uuid", "00000000-0000-0000-0000-000000000000"} {
		_, err := a.Authenticate(context.Background(), req(h))
		if !apperr.Is(err, apperr.TenantMismatch) {
			t.Fatalf("x-tenantid %q: %v, want TENANT_MISMATCH", h, err)
		}
	}
}

func TestTenantHeaderForPlatformAdmins(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := store.Unrestricted(context.Background())
		platform, err := st.Client.Tenant.Create().SetName("Platform").SetSlug("platform").SetPlatform(true).Save(ctx)
		if err != nil {
			t.Fatal(err)
		}
		other, err := st.Client.Tenant.Create().SetName("Other").SetSlug("other").Save(ctx)
		if err != nil {
			t.Fatal(err)
		}
		gone, err := st.Client.Tenant.Create().SetName("Gone").SetSlug("gone").SetStatus(tenant.StatusDeleted).Save(ctx)
		if err != nil {
			t.Fatal(err)
		}
		admin := userPrincipal(platform.ID, access.Owner, true)
		a := &Authenticator{Client: st.Client, Sessions: &recorder{p: admin}}
		req := func(h string) *http.Request {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.Header.Set("Authorization", "Bearer "+fakeJWT(`{"typ":"JWT"}`))
			r.Header.Set("x-tenantid", h)
			return r
		}
		got, err := a.Authenticate(context.Background(), req(other.ID.String()))
		if err != nil {
			t.Fatal(err)
		}
		if got.TenantID != other.ID || got.HomeTenantID != platform.ID || got.ID != admin.ID || !got.Scopes.Has(access.PlatformAdmin) {
			t.Fatalf("platform admin in another tenant: %+v", got)
		}
		if admin.TenantID != platform.ID {
			t.Fatal("selecting a tenant changed the verifier's principal")
		}
		for _, id := range []uuid.UUID{gone.ID, uuid.New()} {
			if _, err := a.Authenticate(context.Background(), req(id.String())); !apperr.Is(err, apperr.NotFound) {
				t.Fatalf("platform admin in a deleted or missing tenant: %v, want NOT_FOUND", err)
			}
		}
		if _, err := a.Authenticate(context.Background(), req("nope")); !apperr.Is(err, apperr.TenantMismatch) {
			t.Fatalf("malformed x-tenantid for a platform admin: %v", err)
		}
		// A member of the platform tenant holds no platform:admin and cannot switch.
		member := &Authenticator{Client: st.Client, Sessions: &recorder{p: userPrincipal(platform.ID, access.Member, true)}}
		if _, err := member.Authenticate(context.Background(), req(other.ID.String())); !apperr.Is(err, apperr.TenantMismatch) {
			t.Fatalf("platform member switching tenants: %v, want TENANT_MISMATCH", err)
		}
	})
}

func TestMiddleware(t *testing.T) {
	t.Parallel()
	home := uuid.New()
	p := userPrincipal(home, access.Viewer, false)
	a := &Authenticator{Sessions: &recorder{p: p}}
	type result struct {
		reached bool
		p       *access.Principal
		failed  error
	}
	run := func(optional bool, header string) (result, *reqinfo.Info) {
		var res result
		h := a.Middleware(optional, func(_ http.ResponseWriter, _ *http.Request, err error) { res.failed = err })(
			http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
				res.reached = true
				res.p, _ = access.FromContext(r.Context())
			}))
		info := &reqinfo.Info{}
		r := httptest.NewRequest(http.MethodGet, "/", nil).WithContext(reqinfo.NewContext(context.Background(), info))
		if header != "" {
			r.Header.Set("Authorization", header)
		}
		h.ServeHTTP(httptest.NewRecorder(), r)
		return res, info
	}
	bearer := "Bearer " + fakeJWT(`{"typ":"JWT"}`)

	res, info := run(false, bearer)
	if !res.reached || res.p != p || res.failed != nil || info.Principal != "user:"+p.ID.String() {
		t.Fatalf("authenticated: %+v, log principal %q", res, info.Principal)
	}
	res, _ = run(false, "")
	if res.reached || apperr.From(res.failed).Details["reason"] != "missing" {
		t.Fatalf("required, anonymous: %+v", res)
	}
	res, info = run(true, "")
	if !res.reached || res.p != nil || res.failed != nil || info.Principal != "" {
		t.Fatalf("optional, anonymous: %+v", res)
	}
	for _, optional := range []bool{false, true} {
		res, _ = run(optional, "Bearer abc")
		if res.reached || apperr.From(res.failed).Details["reason"] != "malformed" {
			t.Fatalf("optional=%v, malformed: %+v", optional, res)
		}
	}
	// A failing verifier stops the request even where credentials are optional.
	a.Sessions = &recorder{err: apperr.Unauthenticated("revoked")}
	res, _ = run(true, bearer)
	if res.reached || apperr.From(res.failed).Details["reason"] != "revoked" {
		t.Fatalf("optional, revoked: %+v", res)
	}
}
