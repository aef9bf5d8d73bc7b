package apitest_test

// Identity over real HTTP, on SQLite and PostgreSQL: registration, login,
// the principal (me), refresh-token rotation, session-token failures, the
// JWT against the JWKS document, x-tenantid and login abuse limits.
//
// Secrets never reach a failure message: bodies are printed through the
// kit's redact, which hides secret fields and keeps only a prefix and the
// length of anything that looks like a token or a key.

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/ent/auditlog"
	"github.com/credvault/credvault/ent/refreshtoken"
	"github.com/credvault/credvault/ent/tenant"
	"github.com/credvault/credvault/ent/user"
	"github.com/credvault/credvault/internal/access"
	"github.com/credvault/credvault/internal/apitest"
	"github.com/credvault/credvault/internal/identity"
	"github.com/credvault/credvault/internal/identity/tokens"
	"github.com/credvault/credvault/internal/platform/config"
	"github.com/credvault/credvault/internal/platform/store"
	"github.com/credvault/credvault/internal/platform/store/storetest"
	"github.com/credvault/credvault/server"
)

// ---------------------------------------------------------------------------
// helpers shared by the identity, users and service-account tests

// dbUser reads a user row, or nil when it does not exist.
func dbUser(t *testing.T, e *apitest.Env, id uuid.UUID) *ent.User {
	t.Helper()
	u, err := e.Store.Client.User.Get(unrestricted(), id)
	if ent.IsNotFound(err) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// ownerScopes is what an owner of an ordinary tenant holds: every scope but platform:admin.
func ownerScopes() []string { return access.ForRole(access.Owner, false).List() }

// awayFromWindowEdge waits, when the clock is within margin of the next
// multiple of window, until that boundary has passed: the login limits count
// in clock-aligned windows, and a boundary crossed mid-test would weigh the
// earlier attempts down. Outside that margin it returns at once.
func awayFromWindowEdge(window, margin time.Duration) {
	now := time.Now().UTC()
	next := now.Truncate(window).Add(window)
	if d := next.Sub(now); d < margin {
		time.Sleep(d + 50*time.Millisecond)
	}
}

// keyedEnv is a server like apitest.New's that also keeps a keyring built
// with the server's master key on the same database: it signs tokens the
// server accepts, such as already expired ones.
type keyedEnv struct {
	*apitest.Env
	Keys *tokens.Keyring
}

// eachKeyed runs fn against a keyed server on every backend.
func eachKeyed(t *testing.T, fn func(t *testing.T, e *keyedEnv), opts ...func(*config.Config)) {
	t.Helper()
	for _, backend := range storetest.Backends() {
		t.Run(backend, func(t *testing.T) { keyed(t, storetest.Open(t, backend), fn, opts...) })
	}
}

// keyed starts a keyed server on st and runs fn against it.
func keyed(t *testing.T, st *store.Store, fn func(t *testing.T, e *keyedEnv), opts ...func(*config.Config)) {
	t.Helper()
	master := newMaster(t)
	e := apitest.Start(t, st, apitest.Config(t, opts...), server.Keys{Master: master})
	keys, err := tokens.NewKeyring(context.Background(), st.Client, master, e.Config.PublicURL)
	if err != nil {
		t.Fatal(err)
	}
	fn(t, &keyedEnv{Env: e, Keys: keys})
}

// sessionClaims are claims of a session of s, valid for 15 minutes from now.
func sessionClaims(iss string, s sessionJSON) identity.SessionClaims {
	now := time.Now()
	return identity.SessionClaims{
		RegisteredClaims: jwt.RegisteredClaims{
			Issuer: iss, Subject: s.User.ID, Audience: jwt.ClaimStrings{identity.Audience},
			IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(identity.SessionTTL)),
			ID: uuid.NewString(),
		},
		TenantID: s.User.TenantID, SessionID: uuid.NewString(),
	}
}

// jwtParts splits a JWT and decodes its header and claims.
func jwtParts(t *testing.T, token string) (header, claims map[string]any, signed string, sig []byte) {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("token %s has %d parts, want 3", short(token), len(parts))
	}
	decode := func(s string, v any) {
		raw, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil {
			t.Fatalf("token segment is not base64url: %v", err)
		}
		if v != nil {
			if err := json.Unmarshal(raw, v); err != nil {
				t.Fatalf("token segment is not JSON: %v", err)
			}
		}
	}
	decode(parts[0], &header)
	decode(parts[1], &claims)
	var err error
	if sig, err = base64.RawURLEncoding.DecodeString(parts[2]); err != nil {
		t.Fatalf("signature is not base64url: %v", err)
	}
	return header, claims, parts[0] + "." + parts[1], sig
}

// ---------------------------------------------------------------------------
// 1. register → login → me, over REST and GraphQL, with the same data

const gqlSession = `accessToken refreshToken tokenType expiresIn
	user { id tenantID email name role status } tenant { id name slug }`

const gqlMe = `query { me { principalType id tenant { id name slug } scopes user { id email name role } clientID apiKeyID } }`

type gqlSessionJSON struct {
	AccessToken  string `json:"accessToken"`
	RefreshToken string `json:"refreshToken"`
	TokenType    string `json:"tokenType"`
	ExpiresIn    int    `json:"expiresIn"`
	User         struct {
		ID       string `json:"id"`
		TenantID string `json:"tenantID"`
		Email    string `json:"email"`
		Name     string `json:"name"`
		Role     string `json:"role"`
		Status   string `json:"status"`
	} `json:"user"`
	Tenant tenantJSON `json:"tenant"`
}

type gqlMeJSON struct {
	PrincipalType string     `json:"principalType"`
	ID            string     `json:"id"`
	Tenant        tenantJSON `json:"tenant"`
	Scopes        []string   `json:"scopes"`
	User          *struct {
		ID    string `json:"id"`
		Email string `json:"email"`
		Name  string `json:"name"`
		Role  string `json:"role"`
	} `json:"user"`
	ClientID *string `json:"clientID"`
	APIKeyID *string `json:"apiKeyID"`
}

func gqlMeOf(t *testing.T, e *apitest.Env, bearer string) gqlMeJSON {
	t.Helper()
	var out struct {
		Me gqlMeJSON `json:"me"`
	}
	e.GraphQL(gqlMe, nil, bearer).Decode(t, &out)
	return out.Me
}

// sameMe fails unless the REST and GraphQL views of the principal agree.
func sameMe(t *testing.T, rest meJSON, gql gqlMeJSON) {
	t.Helper()
	if rest.PrincipalType != gql.PrincipalType || rest.ID != gql.ID || rest.Tenant != gql.Tenant ||
		!slices.Equal(rest.Scopes, gql.Scopes) || rest.User == nil || gql.User == nil || *rest.User != *gql.User {
		t.Fatalf("REST me %+v differs from GraphQL me %+v", rest, gql)
	}
	if gql.ClientID != nil || gql.APIKeyID != nil || rest.ClientID != nil || rest.APIKeyID != nil {
		t.Fatalf("a user principal shows a client or key id: REST %+v GraphQL %+v", rest, gql)
	}
}

func TestRegisterLoginMeRESTAndGraphQL(t *testing.T) {
	t.Parallel()
	apitest.Each(t, func(t *testing.T, e *apitest.Env) {
		// REST register: 201 with tenant, user and a session.
		r := do(e, http.MethodPost, "/api/v1/auth/register", "", map[string]any{
			"tenant_name": "Acme Corp", "email": "Ada@Acme.test", "password": testPassword, "name": "Ada"})

		wantStatus(t, r, http.StatusCreated)
		if !r.Envelope.Success || r.Envelope.Meta.RequestID == "" {
			t.Fatalf("register envelope: %s", redact(r.Body))
		}
		var reg sessionJSON
		r.Data(t, &reg)
		if reg.Tenant == nil || reg.Tenant.Name != "Acme Corp" || reg.Tenant.Slug != "acme-corp" || uid(t, reg.Tenant.ID) == uuid.Nil {
			t.Fatalf("register tenant = %+v, want Acme Corp / acme-corp", reg.Tenant)
		}
		if reg.User.Email != "ada@acme.test" || reg.User.Role != "owner" || reg.User.Status != "active" ||
			reg.User.Name != "Ada" || reg.User.TenantID != reg.Tenant.ID {
			t.Fatalf("register user = %+v", reg.User)
		}
		if reg.TokenType != "Bearer" || reg.ExpiresIn != 900 || reg.AccessToken == "" || reg.RefreshToken == "" ||
			reg.AccessToken == reg.RefreshToken {
			t.Fatalf("register session: token_type %q expires_in %d access %s refresh %s",
				reg.TokenType, reg.ExpiresIn, short(reg.AccessToken), short(reg.RefreshToken))
		}
		tid, userID := uid(t, reg.Tenant.ID), uid(t, reg.User.ID)

		// The database holds the tenant, on the default plan, and its owner with an argon2id hash.
		tn, err := e.Store.Client.Tenant.Get(unrestricted(), tid)
		if err != nil {
			t.Fatal(err)
		}
		if tn.Slug != "acme-corp" || tn.Plan != e.Config.DefaultPlan || tn.Platform || tn.Status != tenant.StatusActive {
			t.Fatalf("tenant row = slug %q plan %q platform %v status %s", tn.Slug, tn.Plan, tn.Platform, tn.Status)
		}
		u := dbUser(t, e, userID)
		if u == nil || u.TenantID != tid || u.Role != user.RoleOwner || !strings.HasPrefix(u.PasswordHash, "$argon2id$") ||
			strings.Contains(u.PasswordHash, testPassword) {
			t.Fatalf("user row missing or without an argon2id hash")
		}
		reg1 := oneAudit(t, e, tid, "auth.register", auditlog.OutcomeSuccess, "")
		if reg1.ActorID != reg.User.ID || reg1.ResourceID != reg.Tenant.ID {
			t.Fatalf("auth.register audit actor %q resource %q", reg1.ActorID, reg1.ResourceID)
		}

		// REST login (email in another case) and me.
		lg := login(t, e, "ADA@acme.test", testPassword, "")
		if lg.User.ID != reg.User.ID || lg.TokenType != "Bearer" || lg.ExpiresIn != 900 || lg.AccessToken == reg.AccessToken {
			t.Fatalf("login session: user %s token_type %q expires_in %d", lg.User.ID, lg.TokenType, lg.ExpiresIn)
		}
		restMe := me(t, e, lg.AccessToken)
		if restMe.PrincipalType != "user" || restMe.ID != reg.User.ID || restMe.Tenant != *reg.Tenant ||
			restMe.User == nil || restMe.User.Email != "ada@acme.test" || restMe.User.Role != "owner" || restMe.User.Name != "Ada" {
			t.Fatalf("REST me = %+v", restMe)
		}
		if !slices.Equal(sorted(restMe.Scopes), sorted(ownerScopes())) {
			t.Fatalf("owner scopes = %v, want %v", restMe.Scopes, ownerScopes())
		}
		// The register token is a session as good as the login one.
		if m := me(t, e, reg.AccessToken); m.ID != reg.User.ID {
			t.Fatalf("me with the register token = %s", m.ID)
		}

		// GraphQL login of the same user, and me, agree with REST.
		var gl struct {
			Login gqlSessionJSON `json:"login"`
		}
		e.GraphQL(`mutation($in: LoginInput!) { login(input: $in) { `+gqlSession+` } }`,
			map[string]any{"in": map[string]any{"email": "ada@acme.test", "password": testPassword, "tenant": "acme-corp"}}, "").Decode(t, &gl)
		if gl.Login.User.ID != reg.User.ID || gl.Login.User.Email != reg.User.Email || gl.Login.User.Role != "owner" ||
			gl.Login.Tenant != *reg.Tenant || gl.Login.TokenType != "Bearer" || gl.Login.ExpiresIn != 900 {
			t.Fatalf("GraphQL login user %+v tenant %+v", gl.Login.User, gl.Login.Tenant)
		}
		sameMe(t, restMe, gqlMeOf(t, e, gl.Login.AccessToken))
		sameMe(t, me(t, e, gl.Login.AccessToken), gqlMeOf(t, e, lg.AccessToken))

		// GraphQL register of a second tenant; REST login and me agree with it.
		var gr struct {
			Register gqlSessionJSON `json:"register"`
		}
		e.GraphQL(`mutation($in: RegisterInput!) { register(input: $in) { `+gqlSession+` } }`,
			map[string]any{"in": map[string]any{"tenantName": "Globex", "email": "hank@globex.test", "password": testPassword, "name": "Hank"}}, "").Decode(t, &gr)
		g := gr.Register
		if g.Tenant.Slug != "globex" || g.User.Role != "owner" || g.User.TenantID != g.Tenant.ID || g.TokenType != "Bearer" ||
			g.ExpiresIn != 900 || g.AccessToken == "" || g.RefreshToken == "" {
			t.Fatalf("GraphQL register = user %+v tenant %+v", g.User, g.Tenant)
		}
		rl := login(t, e, "hank@globex.test", testPassword, "")
		if rl.User.ID != g.User.ID || rl.User.TenantID != g.Tenant.ID {
			t.Fatalf("REST login of the GraphQL-registered user: %+v", rl.User)
		}
		restMe2 := me(t, e, rl.AccessToken)
		gqlMe2 := gqlMeOf(t, e, g.AccessToken)
		sameMe(t, restMe2, gqlMe2)
		if gqlMe2.Tenant != g.Tenant || gqlMe2.ID != g.User.ID {
			t.Fatalf("GraphQL me %+v, want the registered user and tenant", gqlMe2)
		}
		if oneAudit(t, e, uid(t, g.Tenant.ID), "auth.register", auditlog.OutcomeSuccess, "").ActorID != g.User.ID {
			t.Fatal("GraphQL register: audit actor is not the new owner")
		}
	})
}

func TestRegisterSameTenantNameGetsDistinctSlugs(t *testing.T) {
	t.Parallel()
	apitest.Each(t, func(t *testing.T, e *apitest.Env) {
		a := register(t, e, "Initech", ownedBy("one@initech.test"))
		b := register(t, e, "Initech", ownedBy("two@initech.test"))
		if a.Tenant.Slug != "initech" {
			t.Fatalf("first slug %q, want initech", a.Tenant.Slug)
		}
		if b.Tenant.Slug == a.Tenant.Slug || !strings.HasPrefix(b.Tenant.Slug, "initech-") || b.Tenant.ID == a.Tenant.ID {
			t.Fatalf("second slug %q (tenant %s), want a distinct initech-… in a new tenant", b.Tenant.Slug, b.Tenant.ID)
		}
		// A name with nothing sluggable still gets a slug; the platform slug is never handed out.
		c := register(t, e, "Platform", ownedBy("plat@platform.test"))
		if c.Tenant.Slug == server.PlatformSlug || !strings.HasPrefix(c.Tenant.Slug, "platform-") {
			t.Fatalf("a tenant named Platform got slug %q", c.Tenant.Slug)
		}
		d := register(t, e, "!!! ???", ownedBy("four@x.test"))
		if d.Tenant.Slug != "tenant" {
			t.Fatalf("slug of a name without letters = %q, want tenant", d.Tenant.Slug)
		}
		c3 := register(t, e, "Initech", ownedBy("three@initech.test"))
		if c3.Tenant.Slug == a.Tenant.Slug || c3.Tenant.Slug == b.Tenant.Slug || !strings.HasPrefix(c3.Tenant.Slug, "initech-") {
			t.Fatalf("third slug %q collides with %q or %q", c3.Tenant.Slug, a.Tenant.Slug, b.Tenant.Slug)
		}
		n, err := e.Store.Client.Tenant.Query().Where(tenant.SlugHasPrefix("initech")).Count(unrestricted())
		if err != nil || n != 3 {
			t.Fatalf("%d initech tenants (%v), want 3", n, err)
		}
	})
}

// TestRegisterSameNameAtOnce: registrations of one tenant name arriving
// together all succeed with distinct slugs. On PostgreSQL they saw the slug
// free at once and all but the first failed on its uniqueness (409).
func TestRegisterSameNameAtOnce(t *testing.T) {
	t.Parallel()
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		const n = 12
		name := "Same Time " + randTag()
		answers := atOnce(n, func(i int) *apitest.Response {
			return do(e, http.MethodPost, "/api/v1/auth/register", "", map[string]any{"tenant_name": name,
				"email": fmt.Sprintf("owner%d@same-time.test", i), "password": "correct horse battery"})
		})
		slugs := make([]string, n)
		for i, r := range answers {
			var out struct {
				Tenant struct{ Slug string } `json:"tenant"`
			}
			wantOK(t, r, http.StatusCreated, &out)
			slugs[i] = out.Tenant.Slug
		}
		if got := len(slices.Compact(slices.Sorted(slices.Values(slugs)))); got != n {
			t.Fatalf("slugs %v: %d distinct, want %d", slugs, got, n)
		}
		count, err := e.Store.Client.Tenant.Query().Where(tenant.Name(name)).Count(unrestricted())
		if err != nil || count != n {
			t.Fatalf("%d tenants named %q (%v), want %d", count, name, err, n)
		}
	})
}

func TestRegisterValidation(t *testing.T) {
	t.Parallel()
	long := strings.Repeat("p", 257)
	cases := []struct {
		name   string
		body   any
		field  string
		reason string
	}{
		{"missing tenant_name", map[string]any{"email": "a@b.test", "password": testPassword}, "tenant_name", "required"},
		{"blank tenant_name", map[string]any{"tenant_name": "   ", "email": "a@b.test", "password": testPassword}, "tenant_name", "required"},
		{"missing email", map[string]any{"tenant_name": "T", "password": testPassword}, "email", "required"},
		{"bad email", map[string]any{"tenant_name": "T", "email": "not-an-email", "password": testPassword}, "email", "invalid"},
		{"email with a display name", map[string]any{"tenant_name": "T", "email": "Ann <a@b.test>", "password": testPassword}, "email", "invalid"},
		{"missing password", map[string]any{"tenant_name": "T", "email": "a@b.test"}, "password", "required"},
		{"short password", map[string]any{"tenant_name": "T", "email": "a@b.test", "password": "short"}, "password", "too_short"},
		{"long password", map[string]any{"tenant_name": "T", "email": "a@b.test", "password": long}, "password", "too_long"},
		{"unknown field", map[string]any{"tenant_name": "T", "email": "a@b.test", "password": testPassword, "plan": "pro"}, "plan", "unknown"},
		{"wrong type", map[string]any{"tenant_name": "T", "email": 42, "password": testPassword}, "email", "must be a string"},
	}
	apitest.Each(t, func(t *testing.T, e *apitest.Env) {
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				r := do(e, http.MethodPost, "/api/v1/auth/register", "", c.body)
				wantError(t, r, http.StatusUnprocessableEntity, "VALIDATION_ERROR", "field", c.field, "reason", c.reason)
				if c.reason == "too_short" {
					if got := r.Envelope.Error.Details["min_length"]; fmt.Sprint(got) != "10" {
						t.Fatalf("details.min_length = %v, want 10", got)
					}
				}
			})
		}
		// A tenant name over 200 characters is refused; the error should name tenant_name.
		r := do(e, http.MethodPost, "/api/v1/auth/register", "", map[string]any{"tenant_name": strings.Repeat("n", 201), "email": "a@b.test", "password": testPassword})
		wantError(t, r, http.StatusUnprocessableEntity, "VALIDATION_ERROR")
		t.Run("long tenant_name names its field", func(t *testing.T) {
			wantError(t, r, http.StatusUnprocessableEntity, "VALIDATION_ERROR", "field", "tenant_name")
		})
		// The GraphQL field refuses the same way.
		g := e.GraphQL(`mutation { register(input: {tenantName: "T", email: "a@b.test", password: "short"}) { accessToken } }`, nil, "")
		wantGQLError(t, g, "VALIDATION_ERROR", "field", "password", "reason", "too_short")
		// Nothing was created: only the platform tenant exists.
		n, err := e.Store.Client.Tenant.Query().Count(unrestricted())
		if err != nil || n != 1 {
			t.Fatalf("%d tenants after refused registrations (%v), want only the platform tenant", n, err)
		}
	})
}

func TestRegisterSignupDisabled(t *testing.T) {
	t.Parallel()
	apitest.Each(t, func(t *testing.T, e *apitest.Env) {
		r := do(e, http.MethodPost, "/api/v1/auth/register", "", map[string]any{"tenant_name": "Nope", "email": "a@nope.test", "password": testPassword})
		wantError(t, r, http.StatusForbidden, "FORBIDDEN")
		g := e.GraphQL(`mutation { register(input: {tenantName: "Nope", email: "a@nope.test", password: "`+testPassword+`"}) { accessToken } }`, nil, "")
		wantGQLError(t, g, "FORBIDDEN")
		n, err := e.Store.Client.Tenant.Query().Where(tenant.Platform(false)).Count(unrestricted())
		if err != nil || n != 0 {
			t.Fatalf("%d tenants created with signup disabled (%v)", n, err)
		}
		n, err = e.Store.Client.User.Query().Where(user.Email("a@nope.test")).Count(unrestricted())
		if err != nil || n != 0 {
			t.Fatalf("%d users created with signup disabled (%v)", n, err)
		}
	}, func(c *config.Config) { c.AllowSignup = false })
}

// ---------------------------------------------------------------------------
// 2. login: failures, audit, tenant selection

func TestLoginWrongPasswordAndAudit(t *testing.T) {
	t.Parallel()
	apitest.Each(t, func(t *testing.T, e *apitest.Env) {
		reg := register(t, e, "Hooli", ownedBy("gavin@hooli.test"))
		tid := uid(t, reg.Tenant.ID)
		before := dbUser(t, e, uid(t, reg.User.ID)).LastLoginAt

		r := do(e, http.MethodPost, "/api/v1/auth/login", "", map[string]any{"email": "gavin@hooli.test", "password": "wrong-password-1"})
		wantUnauthorized(t, r, "invalid")
		bad := r.Envelope.Error.Message
		fail := oneAudit(t, e, tid, "auth.login", auditlog.OutcomeFailure, "")
		if fail.ResourceID != reg.User.ID || fail.ActorType != "anonymous" || fail.Details["reason"] != "invalid_credentials" ||
			fail.RequestID != r.Envelope.Meta.RequestID {
			t.Fatalf("failed-login audit: resource %q actor %q details %v request %q", fail.ResourceID, fail.ActorType, fail.Details, fail.RequestID)
		}
		if strings.Contains(fmt.Sprint(fail.Details), "wrong-password-1") {
			t.Fatal("the failed-login audit entry holds the password")
		}
		if len(auditEntries(t, e, tid, "auth.login", "")) != 1 {
			t.Fatal("a failed login wrote a success entry")
		}

		// An unknown email fails the same way: nothing tells which of the two was wrong.
		r = do(e, http.MethodPost, "/api/v1/auth/login", "", map[string]any{"email": "nobody@hooli.test", "password": testPassword, "tenant": reg.Tenant.Slug})
		wantUnauthorized(t, r, "invalid")
		if r.Envelope.Error.Message != bad {
			t.Fatalf("unknown email message %q differs from wrong password %q", r.Envelope.Error.Message, bad)
		}
		if n := len(auditEntries(t, e, tid, "auth.login", "")); n != 2 {
			t.Fatalf("%d auth.login entries after a failure for an unknown email in the named tenant, want 2", n)
		}

		// GraphQL login refuses with the same code and reason.
		g := e.GraphQL(`mutation { login(input: {email: "gavin@hooli.test", password: "wrong-password-1"}) { accessToken } }`, nil, "")
		wantGQLError(t, g, "UNAUTHORIZED", "reason", "invalid")

		// A successful login is audited as the user, and stamps last_login_at.
		ok := login(t, e, "gavin@hooli.test", testPassword, "")
		succ := oneAudit(t, e, tid, "auth.login", auditlog.OutcomeSuccess, "")
		if succ.ActorType != "user" || succ.ActorID != reg.User.ID || succ.ResourceID != reg.User.ID {
			t.Fatalf("login audit actor %s:%s resource %s", succ.ActorType, succ.ActorID, succ.ResourceID)
		}
		after := dbUser(t, e, uid(t, reg.User.ID)).LastLoginAt
		if after == nil || before == nil || !after.After(*before) || ok.User.LastLoginAt == nil {
			t.Fatalf("last_login_at %v → %v, want it to move forward", before, after)
		}
	})
}

func TestLoginTenantSelection(t *testing.T) {
	t.Parallel()
	apitest.Each(t, func(t *testing.T, e *apitest.Env) {
		// The same email owns two tenants.
		a := register(t, e, "Alpha", ownedBy("sam@shared.test"))
		b := register(t, e, "Beta", ownedBy("sam@shared.test"))

		r := do(e, http.MethodPost, "/api/v1/auth/login", "", map[string]any{"email": "sam@shared.test", "password": testPassword})
		wantError(t, r, http.StatusUnprocessableEntity, "VALIDATION_ERROR", "field", "tenant")

		// The body's tenant picks one; so does the realmname header.
		if s := login(t, e, "sam@shared.test", testPassword, b.Tenant.Slug); s.User.ID != b.User.ID || s.User.TenantID != b.Tenant.ID {
			t.Fatalf("login with tenant %s signed in user %s of tenant %s", b.Tenant.Slug, s.User.ID, s.User.TenantID)
		}
		r = do(e, http.MethodPost, "/api/v1/auth/login", "", map[string]any{"email": "sam@shared.test", "password": testPassword},
			map[string]string{"realmname": a.Tenant.Slug})

		wantStatus(t, r, http.StatusOK)
		var s sessionJSON
		r.Data(t, &s)
		if s.User.ID != a.User.ID {
			t.Fatalf("login with realmname %s signed in user %s, want %s", a.Tenant.Slug, s.User.ID, a.User.ID)
		}
		if m := me(t, e, s.AccessToken); m.Tenant.ID != a.Tenant.ID {
			t.Fatalf("me after a realmname login: tenant %s, want %s", m.Tenant.ID, a.Tenant.ID)
		}
		// The body wins over the header.
		r = do(e, http.MethodPost, "/api/v1/auth/login", "", map[string]any{"email": "sam@shared.test", "password": testPassword, "tenant": b.Tenant.Slug},
			map[string]string{"realmname": a.Tenant.Slug})

		wantStatus(t, r, http.StatusOK)
		r.Data(t, &s)
		if s.User.ID != b.User.ID {
			t.Fatal("the realmname header overrode the body's tenant")
		}
		// A tenant the user is not in: 401, not a hint.
		r = do(e, http.MethodPost, "/api/v1/auth/login", "", map[string]any{"email": "sam@shared.test", "password": testPassword, "tenant": "no-such-tenant"})
		wantUnauthorized(t, r, "invalid")
		// GraphQL asks for the tenant the same way.
		g := e.GraphQL(`mutation { login(input: {email: "sam@shared.test", password: "`+testPassword+`"}) { accessToken } }`, nil, "")
		wantGQLError(t, g, "VALIDATION_ERROR", "field", "tenant")
		// Login validation names the field.
		r = do(e, http.MethodPost, "/api/v1/auth/login", "", map[string]any{"password": testPassword})
		wantError(t, r, http.StatusUnprocessableEntity, "VALIDATION_ERROR", "field", "email", "reason", "required")
		r = do(e, http.MethodPost, "/api/v1/auth/login", "", map[string]any{"email": "sam@shared.test"})
		wantError(t, r, http.StatusUnprocessableEntity, "VALIDATION_ERROR", "field", "password", "reason", "required")
		r = do(e, http.MethodPost, "/api/v1/auth/login", "", map[string]any{"email": "sam@shared.test", "password": testPassword, "realm": "x"})
		wantError(t, r, http.StatusUnprocessableEntity, "VALIDATION_ERROR", "field", "realm", "reason", "unknown")
	})
}

// ---------------------------------------------------------------------------
// 3. refresh-token rotation and reuse detection

func TestRefreshRotationAndReuse(t *testing.T) {
	t.Parallel()
	apitest.Each(t, func(t *testing.T, e *apitest.Env) {
		reg := register(t, e, "Rotor", ownedBy("rita@rotor.test"))
		tid, userID := uid(t, reg.Tenant.ID), uid(t, reg.User.ID)
		// A second, independent session of the same user.
		other := login(t, e, "rita@rotor.test", testPassword, "")

		r := do(e, http.MethodPost, "/api/v1/auth/refresh", "", map[string]any{"refresh_token": reg.RefreshToken})
		wantStatus(t, r, http.StatusOK)
		var s1 sessionJSON
		r.Data(t, &s1)
		if s1.AccessToken == "" || s1.RefreshToken == "" || s1.AccessToken == reg.AccessToken || s1.RefreshToken == reg.RefreshToken ||
			s1.TokenType != "Bearer" || s1.ExpiresIn != 900 || s1.User.ID != reg.User.ID {
			t.Fatalf("refresh gave access %s refresh %s type %q expires %d user %s",
				short(s1.AccessToken), short(s1.RefreshToken), s1.TokenType, s1.ExpiresIn, s1.User.ID)
		}
		if m := me(t, e, s1.AccessToken); m.ID != reg.User.ID {
			t.Fatalf("me with the refreshed token: %s", m.ID)
		}
		oneAudit(t, e, tid, "auth.refresh", auditlog.OutcomeSuccess, "")

		// The database: the used token is marked, the new one shares its family; only hashes are stored.
		rows, err := e.Store.Client.RefreshToken.Query().Where(refreshtoken.UserID(userID)).
			Order(ent.Asc(refreshtoken.FieldCreatedAt)).All(unrestricted())
		if err != nil || len(rows) != 3 {
			t.Fatalf("%d refresh tokens (%v), want 3 (register, login, refresh)", len(rows), err)
		}
		family := map[uuid.UUID]int{}
		used := 0
		for _, row := range rows {
			family[row.FamilyID]++
			if row.UsedAt != nil {
				used++
			}
			for _, tok := range []string{reg.RefreshToken, s1.RefreshToken, other.RefreshToken} {
				if strings.Contains(string(row.TokenHash), tok) {
					t.Fatal("a refresh token is stored in plaintext")
				}
			}
		}
		if len(family) != 2 || used != 1 {
			t.Fatalf("families %v, used %d: want the register family of 2 and the login family of 1, one used", family, used)
		}

		// A second chain step works.
		r = do(e, http.MethodPost, "/api/v1/auth/refresh", "", map[string]any{"refresh_token": s1.RefreshToken})
		wantStatus(t, r, http.StatusOK)
		var s2 sessionJSON
		r.Data(t, &s2)

		// Reusing the first, already used token: 401 and the whole family is revoked.
		r = do(e, http.MethodPost, "/api/v1/auth/refresh", "", map[string]any{"refresh_token": reg.RefreshToken})
		wantUnauthorized(t, r, "revoked")
		r = do(e, http.MethodPost, "/api/v1/auth/refresh", "", map[string]any{"refresh_token": s2.RefreshToken})
		wantUnauthorized(t, r, "revoked")
		reuse := oneAudit(t, e, tid, "auth.refresh_reuse", auditlog.OutcomeDenied, "")
		if reuse.ResourceID != reg.User.ID || reuse.Details["session_id"] == nil {
			t.Fatalf("refresh_reuse audit resource %q details %v", reuse.ResourceID, reuse.Details)
		}
		famRows, err := e.Store.Client.RefreshToken.Query().Where(refreshtoken.FamilyID(rows[0].FamilyID)).All(unrestricted())
		if err != nil {
			t.Fatal(err)
		}
		for _, row := range famRows {
			if row.RevokedAt == nil {
				t.Fatalf("refresh token %s of the reused family is not revoked", row.ID)
			}
		}
		// The other session's family is untouched.
		r = do(e, http.MethodPost, "/api/v1/auth/refresh", "", map[string]any{"refresh_token": other.RefreshToken})
		wantStatus(t, r, http.StatusOK)

		// Bad input.
		r = do(e, http.MethodPost, "/api/v1/auth/refresh", "", map[string]any{"refresh_token": "cvr_doesnotexist"})
		wantUnauthorized(t, r, "invalid")
		r = do(e, http.MethodPost, "/api/v1/auth/refresh", "", map[string]any{})
		wantError(t, r, http.StatusUnprocessableEntity, "VALIDATION_ERROR", "field", "refresh_token", "reason", "required")
		// An access token is not a refresh token.
		r = do(e, http.MethodPost, "/api/v1/auth/refresh", "", map[string]any{"refresh_token": s2.AccessToken})
		wantUnauthorized(t, r, "invalid")
	})
}

func TestRefreshSessionGraphQL(t *testing.T) {
	t.Parallel()
	const refresh = `mutation($t: String!) { refreshSession(input: {refreshToken: $t}) { ` + gqlSession + ` } }`
	apitest.Each(t, func(t *testing.T, e *apitest.Env) {
		reg := register(t, e, "Graph Rotor", ownedBy("gus@rotor.test"))
		var out struct {
			RefreshSession gqlSessionJSON `json:"refreshSession"`
		}
		e.GraphQL(refresh, map[string]any{"t": reg.RefreshToken}, "").Decode(t, &out)
		s1 := out.RefreshSession
		if s1.RefreshToken == "" || s1.RefreshToken == reg.RefreshToken || s1.User.ID != reg.User.ID ||
			s1.Tenant.ID != reg.Tenant.ID || s1.TokenType != "Bearer" || s1.ExpiresIn != 900 {
			t.Fatalf("refreshSession: refresh %s user %s tenant %+v", short(s1.RefreshToken), s1.User.ID, s1.Tenant)
		}
		if m := gqlMeOf(t, e, s1.AccessToken); m.ID != reg.User.ID {
			t.Fatalf("me with the refreshed token: %s", m.ID)
		}
		// Reuse revokes the family: the new token is refused too.
		wantGQLError(t, e.GraphQL(refresh, map[string]any{"t": reg.RefreshToken}, ""), "UNAUTHORIZED", "reason", "revoked")
		wantGQLError(t, e.GraphQL(refresh, map[string]any{"t": s1.RefreshToken}, ""), "UNAUTHORIZED", "reason", "revoked")
		oneAudit(t, e, uid(t, reg.Tenant.ID), "auth.refresh_reuse", auditlog.OutcomeDenied, "")
		// REST agrees.
		wantUnauthorized(t, do(e, http.MethodPost, "/api/v1/auth/refresh", "", map[string]any{"refresh_token": s1.RefreshToken}), "revoked")
	})
}

// ---------------------------------------------------------------------------
// 4. session-token failures: expired, malformed, foreign key, missing

func TestSessionTokenFailures(t *testing.T) {
	t.Parallel()
	eachKeyed(t, func(t *testing.T, e *keyedEnv) {
		reg := register(t, e.Env, "Expiry", ownedBy("eve@expiry.test"))
		iss := e.Config.PublicURL
		getMe := func(bearer string) *apitest.Response { return e.Get("/api/v1/auth/me", bearer) }

		// A token our keyring signs with the server's key is accepted: the
		// failures below are about the claims, not the signature.
		good, err := e.Keys.Sign(sessionClaims(iss, reg.sessionJSON), tokens.TypeSession)
		if err != nil {
			t.Fatal(err)
		}
		if m := me(t, e.Env, good); m.ID != reg.User.ID {
			t.Fatalf("me with a token signed by the keyring: %s", m.ID)
		}

		sign := func(mut func(c *identity.SessionClaims), typ string) string {
			t.Helper()
			c := sessionClaims(iss, reg.sessionJSON)
			mut(&c)
			tok, err := e.Keys.Sign(c, typ)
			if err != nil {
				t.Fatal(err)
			}
			return tok
		}
		past := time.Now().Add(-time.Hour)
		expired := sign(func(c *identity.SessionClaims) {
			c.IssuedAt = jwt.NewNumericDate(past)
			c.ExpiresAt = jwt.NewNumericDate(past.Add(identity.SessionTTL))
		}, tokens.TypeSession)
		wantUnauthorized(t, getMe(expired), "expired")
		g := e.GraphQL(gqlMe, nil, expired)
		if g.Status != http.StatusUnauthorized {
			t.Fatalf("GraphQL with an expired token: HTTP %d, want 401", g.Status)
		}
		wantGQLError(t, g, "UNAUTHORIZED", "reason", "expired")

		cases := []struct {
			name, token, reason string
		}{
			{"wrong tenant claim", sign(func(c *identity.SessionClaims) { c.TenantID = uuid.NewString() }, tokens.TypeSession), "invalid"},
			{"wrong audience", sign(func(c *identity.SessionClaims) { c.Audience = jwt.ClaimStrings{"someone-else"} }, tokens.TypeSession), "invalid"},
			{"wrong issuer", sign(func(c *identity.SessionClaims) { c.Issuer = "https://evil.test" }, tokens.TypeSession), "invalid"},
			{"no expiry", sign(func(c *identity.SessionClaims) { c.ExpiresAt = nil }, tokens.TypeSession), "invalid"},
			{"subject not a uuid", sign(func(c *identity.SessionClaims) { c.Subject = "root" }, tokens.TypeSession), "invalid"},
			{"unknown user", sign(func(c *identity.SessionClaims) { c.Subject = uuid.NewString() }, tokens.TypeSession), "revoked"},
			// An access-token typed JWT never passes as a session.
			{"at+jwt typ", sign(func(*identity.SessionClaims) {}, tokens.TypeAccess), "invalid"},
			{"malformed", "abc", "malformed"},
			{"three garbage segments", "a.b.c", "malformed"},
		}
		// Signed by a key the server does not hold, with its kid and with an unknown one.
		_, foreign, err := ed25519.GenerateKey(rand.Reader)
		if err != nil {
			t.Fatal(err)
		}
		header, _, _, _ := jwtParts(t, reg.AccessToken)
		for _, kid := range []string{header["kid"].(string), uuid.NewString()} {
			tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, sessionClaims(iss, reg.sessionJSON))
			tok.Header["kid"], tok.Header["typ"] = kid, tokens.TypeSession
			s, err := tok.SignedString(foreign)
			if err != nil {
				t.Fatal(err)
			}
			cases = append(cases, struct{ name, token, reason string }{"foreign key, kid " + kid[:8], s, "invalid"})
		}
		// alg none.
		none := jwt.NewWithClaims(jwt.SigningMethodNone, sessionClaims(iss, reg.sessionJSON))
		none.Header["kid"], none.Header["typ"] = header["kid"], tokens.TypeSession
		noneTok, err := none.SignedString(jwt.UnsafeAllowNoneSignatureType)
		if err != nil {
			t.Fatal(err)
		}
		cases = append(cases, struct{ name, token, reason string }{"alg none", noneTok, "invalid"})
		// A real token with its payload swapped for another user's claims.
		parts := strings.Split(reg.AccessToken, ".")
		forged := sessionClaims(iss, reg.sessionJSON)
		forged.Subject = uuid.NewString()
		raw, _ := json.Marshal(forged)
		cases = append(cases, struct{ name, token, reason string }{"tampered payload",
			parts[0] + "." + base64.RawURLEncoding.EncodeToString(raw) + "." + parts[2], "invalid"})

		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				wantUnauthorized(t, getMe(c.token), c.reason)
			})
		}

		// Malformed and missing headers.
		r := e.Do(apitest.Request{Method: http.MethodGet, Path: "/api/v1/auth/me", Header: map[string]string{"Authorization": "Bearer abc"}})
		wantUnauthorized(t, r, "malformed")
		r = e.Do(apitest.Request{Method: http.MethodGet, Path: "/api/v1/auth/me", Header: map[string]string{"Authorization": "Basic dXNlcjpwYXNz"}})
		wantUnauthorized(t, r, "malformed")
		r = e.Do(apitest.Request{Method: http.MethodGet, Path: "/api/v1/auth/me", Header: map[string]string{"Authorization": "Bearer "}})
		wantUnauthorized(t, r, "malformed")
		wantUnauthorized(t, getMe(""), "missing")
		wantUnauthorized(t, e.Get("/api/v1/admin/users", ""), "missing")
		// GraphQL: no credential is anonymous, and me then says missing.
		wantGQLError(t, e.GraphQL(gqlMe, nil, ""), "UNAUTHORIZED", "reason", "missing")
		// And the user's own token still works after all this.
		if m := me(t, e.Env, reg.AccessToken); m.ID != reg.User.ID {
			t.Fatal("the real session stopped working")
		}
	})
}

// ---------------------------------------------------------------------------
// 5. the access token verifies against the JWKS document

func TestSessionTokenVerifiesAgainstJWKS(t *testing.T) {
	t.Parallel()
	apitest.Each(t, func(t *testing.T, e *apitest.Env) {
		reg := register(t, e, "Jwks", ownedBy("jo@jwks.test"))
		r := e.Get("/.well-known/jwks.json", "")
		wantStatus(t, r, http.StatusOK)
		var doc struct {
			Keys []map[string]any `json:"keys"`
		}
		if err := json.Unmarshal(r.Body, &doc); err != nil || len(doc.Keys) == 0 {
			t.Fatalf("JWKS document %s: %v", r.Body, err)
		}
		for _, k := range doc.Keys {
			if _, ok := k["d"]; ok {
				t.Fatal("the JWKS document publishes a private key")
			}
		}

		header, claims, signed, sig := jwtParts(t, reg.AccessToken)
		if header["alg"] != "EdDSA" || header["typ"] != "JWT" {
			t.Fatalf("token header %v, want alg EdDSA typ JWT", header)
		}
		kid, _ := header["kid"].(string)
		var jwk map[string]any
		for _, k := range doc.Keys {
			if k["kid"] == kid {
				jwk = k
			}
		}
		if kid == "" || jwk == nil {
			t.Fatalf("kid %q is not in the JWKS document", kid)
		}
		if jwk["kty"] != "OKP" || jwk["crv"] != "Ed25519" || jwk["alg"] != "EdDSA" || jwk["use"] != "sig" {
			t.Fatalf("JWK %v, want OKP Ed25519 EdDSA sig", jwk)
		}
		x, err := base64.RawURLEncoding.DecodeString(fmt.Sprint(jwk["x"]))
		if err != nil || len(x) != ed25519.PublicKeySize {
			t.Fatalf("JWK x is not a 32-byte base64url key (%d bytes, %v)", len(x), err)
		}
		pub := ed25519.PublicKey(x)
		if !ed25519.Verify(pub, []byte(signed), sig) {
			t.Fatal("the access token's signature does not verify with the JWKS key")
		}
		// The check can fail: a changed payload does not verify.
		if ed25519.Verify(pub, []byte(signed+"x"), sig) {
			t.Fatal("a changed payload verifies")
		}

		if claims["iss"] != e.Config.PublicURL || claims["sub"] != reg.User.ID || claims["tid"] != reg.Tenant.ID {
			t.Fatalf("claims iss %v sub %v tid %v, want %s %s %s", claims["iss"], claims["sub"], claims["tid"],
				e.Config.PublicURL, reg.User.ID, reg.Tenant.ID)
		}
		iat, _ := claims["iat"].(float64)
		exp, _ := claims["exp"].(float64)
		if exp-iat != 900 {
			t.Fatalf("exp - iat = %v, want 900", exp-iat)
		}
		if d := time.Since(time.Unix(int64(iat), 0)); d < -time.Minute || d > time.Minute {
			t.Fatalf("iat is %v away from now", d)
		}
		if aud := fmt.Sprint(claims["aud"]); !strings.Contains(aud, identity.Audience) {
			t.Fatalf("aud %v, want %s", claims["aud"], identity.Audience)
		}
		if claims["jti"] == nil || claims["sid"] == nil {
			t.Fatalf("claims lack jti or sid: %v", claims)
		}
		// Every session gets its own jti, and the refresh family id as sid.
		_, c2, _, _ := jwtParts(t, login(t, e, "jo@jwks.test", testPassword, "").AccessToken)
		if c2["jti"] == claims["jti"] || c2["sid"] == claims["sid"] {
			t.Fatal("two sessions share a jti or a sid")
		}
		fam, err := e.Store.Client.RefreshToken.Query().Where(refreshtoken.UserID(uid(t, reg.User.ID))).All(unrestricted())
		if err != nil {
			t.Fatal(err)
		}
		sids := map[string]bool{}
		for _, f := range fam {
			sids[f.FamilyID.String()] = true
		}
		if !sids[fmt.Sprint(claims["sid"])] || !sids[fmt.Sprint(c2["sid"])] {
			t.Fatalf("sid claims are not the refresh families %v", sids)
		}
	})
}

// ---------------------------------------------------------------------------
// 7. x-tenantid, and a platform admin acting in another tenant

func TestTenantHeader(t *testing.T) {
	t.Parallel()
	apitest.Each(t, func(t *testing.T, e *apitest.Env) {
		a := register(t, e, "Tenant A", ownedBy("a@a.test"))
		b := register(t, e, "Tenant B", ownedBy("b@b.test"))
		bMember := createUser(t, e, b.AccessToken, "m@b.test", "member", "")
		hdr := func(v string) map[string]string { return map[string]string{"x-tenantid": v} }

		// A user: its own tenant id is fine, another's or a malformed one is refused.
		if m := me(t, e, a.AccessToken, hdr(a.Tenant.ID)); m.Tenant.ID != a.Tenant.ID {
			t.Fatalf("me with its own x-tenantid: tenant %s", m.Tenant.ID)
		}
		for _, v := range []string{b.Tenant.ID, "not-a-uuid", uuid.NewString()} {
			r := e.Do(apitest.Request{Method: http.MethodGet, Path: "/api/v1/admin/users", Bearer: a.AccessToken, Header: hdr(v)})
			wantError(t, r, http.StatusForbidden, "TENANT_MISMATCH")
		}
		g := e.GraphQL(gqlMe, nil, a.AccessToken, hdr(b.Tenant.ID))
		if g.Status != http.StatusForbidden {
			t.Fatalf("GraphQL with another tenant's x-tenantid: HTTP %d, want 403", g.Status)
		}
		wantGQLError(t, g, "TENANT_MISMATCH")

		// The platform admin signs in naming no tenant and holds platform:admin.
		adm := login(t, e, adminEmail, adminPass, "")
		am := me(t, e, adm.AccessToken)
		if am.Tenant.Slug != server.PlatformSlug || !slices.Contains(am.Scopes, access.PlatformAdmin) {
			t.Fatalf("platform admin me: tenant %s scopes %v", am.Tenant.Slug, am.Scopes)
		}
		// With x-tenantid it acts in tenant B: me shows B, users lists B's users only.
		bm := me(t, e, adm.AccessToken, hdr(b.Tenant.ID))
		if bm.Tenant != *b.Tenant || bm.ID != adm.User.ID || !slices.Contains(bm.Scopes, access.PlatformAdmin) {
			t.Fatalf("platform admin me in B: %+v", bm)
		}
		r := e.Do(apitest.Request{Method: http.MethodGet, Path: "/api/v1/admin/users", Bearer: adm.AccessToken, Header: hdr(b.Tenant.ID)})
		wantStatus(t, r, http.StatusOK)
		var users []userJSON
		r.Data(t, &users)
		got := map[string]bool{}
		for _, u := range users {
			got[u.ID] = true
			if u.TenantID != b.Tenant.ID {
				t.Fatalf("platform admin in B sees user %s of tenant %s", u.Email, u.TenantID)
			}
		}
		if len(users) != 2 || !got[b.User.ID] || !got[bMember.ID] {
			t.Fatalf("platform admin in B lists %d users, want B's owner and member", len(users))
		}
		// A change it makes there is recorded in B, with the admin as actor.
		r = e.Do(apitest.Request{Method: http.MethodPost, Path: "/api/v1/admin/users", Bearer: adm.AccessToken, Header: hdr(b.Tenant.ID),
			Body: map[string]any{"email": "new@b.test", "role": "viewer"}})
		wantStatus(t, r, http.StatusCreated)
		var created userJSON
		r.Data(t, &created)
		if created.TenantID != b.Tenant.ID {
			t.Fatalf("user created by the platform admin in B landed in tenant %s", created.TenantID)
		}
		var ae *ent.AuditLog
		for _, x := range auditEntries(t, e, uid(t, b.Tenant.ID), "user.create", "") {
			if x.ResourceID == created.ID {
				ae = x
			}
		}
		if ae == nil || ae.ActorID != adm.User.ID || ae.ActorType != "user" {
			t.Fatalf("user.create audit in B for the admin's user: %+v", ae)
		}
		// Without the header, it is in the platform tenant: B's users are not listed.
		r = e.Get("/api/v1/admin/users", adm.AccessToken)
		wantStatus(t, r, http.StatusOK)
		r.Data(t, &users)
		if len(users) != 1 || users[0].ID != adm.User.ID {
			t.Fatalf("platform admin without x-tenantid lists %d users, want itself only", len(users))
		}
		// A tenant that does not exist is 404; a malformed id is 403.
		r = e.Do(apitest.Request{Method: http.MethodGet, Path: "/api/v1/auth/me", Bearer: adm.AccessToken, Header: hdr(uuid.NewString())})
		wantError(t, r, http.StatusNotFound, "NOT_FOUND")
		r = e.Do(apitest.Request{Method: http.MethodGet, Path: "/api/v1/auth/me", Bearer: adm.AccessToken, Header: hdr("tenant-b")})
		wantError(t, r, http.StatusForbidden, "TENANT_MISMATCH")
		// GraphQL honours the header the same way.
		var out struct {
			Users struct {
				TotalCount int `json:"totalCount"`
			} `json:"users"`
			Me gqlMeJSON `json:"me"`
		}
		e.GraphQL(`query { users { totalCount } me { principalType id tenant { id name slug } scopes } }`, nil,
			adm.AccessToken, hdr(b.Tenant.ID)).Decode(t, &out)
		if out.Users.TotalCount != 3 || out.Me.Tenant.ID != b.Tenant.ID {
			t.Fatalf("GraphQL as the platform admin in B: %d users, tenant %s", out.Users.TotalCount, out.Me.Tenant.ID)
		}
	}, withAdmin)
}

// ---------------------------------------------------------------------------
// 11. login abuse limits

func TestLoginRateLimitPerAccount(t *testing.T) {
	t.Parallel()
	apitest.Each(t, func(t *testing.T, e *apitest.Env) {
		reg := register(t, e, "Brute", ownedBy("bob@brute.test"))
		tid := uid(t, reg.Tenant.ID)
		awayFromWindowEdge(15*time.Minute, 5*time.Second)
		for i := range 10 {
			r := do(e, http.MethodPost, "/api/v1/auth/login", "", map[string]any{"email": "bob@brute.test", "password": fmt.Sprintf("wrong-password-%d", i)})
			wantUnauthorized(t, r, "invalid")
		}
		// The 11th attempt is refused even with the right password.
		r := do(e, http.MethodPost, "/api/v1/auth/login", "", map[string]any{"email": "bob@brute.test", "password": testPassword})
		wantError(t, r, http.StatusTooManyRequests, "RATE_LIMIT_EXCEEDED")
		retry, ok := r.Envelope.Error.Details["retry_after"].(float64)
		if !ok || retry <= 0 || retry > 15*60 {
			t.Fatalf("details.retry_after = %v, want 1..900 seconds", r.Envelope.Error.Details["retry_after"])
		}
		if h := r.Header.Get("Retry-After"); h != fmt.Sprint(int(retry)) {
			t.Fatalf("Retry-After header %q, want %d", h, int(retry))
		}
		if n := len(auditEntries(t, e, tid, "auth.login", "")); n != 10 {
			t.Fatalf("%d auth.login entries, want the 10 failures and no success", n)
		}
		// GraphQL is limited by the same counter.
		g := e.GraphQL(`mutation { login(input: {email: "bob@brute.test", password: "`+testPassword+`"}) { accessToken } }`, nil, "")
		wantGQLError(t, g, "RATE_LIMIT_EXCEEDED")
		// Another account is not affected.
		register(t, e, "Other", ownedBy("olga@other.test"))
		login(t, e, "olga@other.test", testPassword, "")
	}, func(c *config.Config) { c.RateLimits = "free=100/h" })
}

func TestLoginRateLimitPerIP(t *testing.T) {
	t.Parallel()
	apitest.Each(t, func(t *testing.T, e *apitest.Env) {
		awayFromWindowEdge(15*time.Minute, 5*time.Second)
		// Attempts count before validation, so these cost no password hashing.
		for i := range 30 {
			r := do(e, http.MethodPost, "/api/v1/auth/login", "", map[string]any{"email": fmt.Sprintf("u%d@ip.test", i), "password": ""})
			wantError(t, r, http.StatusUnprocessableEntity, "VALIDATION_ERROR", "field", "password")
		}
		r := do(e, http.MethodPost, "/api/v1/auth/login", "", map[string]any{"email": "fresh@ip.test", "password": testPassword})
		wantError(t, r, http.StatusTooManyRequests, "RATE_LIMIT_EXCEEDED")
		if r.Header.Get("Retry-After") == "" {
			t.Fatal("429 without Retry-After")
		}
		if retry, _ := r.Envelope.Error.Details["retry_after"].(float64); retry <= 0 {
			t.Fatalf("details.retry_after = %v", r.Envelope.Error.Details["retry_after"])
		}
	}, func(c *config.Config) { c.RateLimits = "free=100/h" })
}

func TestLoginNotLimitedWhenRateLimitsOff(t *testing.T) {
	t.Parallel()
	apitest.Each(t, func(t *testing.T, e *apitest.Env) {
		// The harness default is "off": 31 attempts from one address all reach validation.
		for i := range 31 {
			r := do(e, http.MethodPost, "/api/v1/auth/login", "", map[string]any{"email": fmt.Sprintf("u%d@ip.test", i), "password": ""})
			wantError(t, r, http.StatusUnprocessableEntity, "VALIDATION_ERROR")
		}
	})
}
