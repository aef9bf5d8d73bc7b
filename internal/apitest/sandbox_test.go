package apitest_test

// Sandbox tenants (SPEC §15) over real HTTP, on SQLite and PostgreSQL:
// registering one (REST and GraphQL), its cvk_test_ keys, the rule that a
// test key never opens a live tenant nor a live key a sandbox, no rate
// limit while a live tenant on the same settings gets 429, a plan that
// stays sandbox, and the daily reset job, which clears a sandbox's keys,
// clients, credentials, webhooks, service accounts and trail but keeps its
// users, and touches no live tenant.

import (
	"context"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/credvault/credvault/ent/apikey"
	"github.com/credvault/credvault/ent/auditlog"
	"github.com/credvault/credvault/ent/credential"
	"github.com/credvault/credvault/ent/job"
	"github.com/credvault/credvault/ent/oauthclient"
	"github.com/credvault/credvault/ent/serviceaccount"
	"github.com/credvault/credvault/ent/tenant"
	"github.com/credvault/credvault/ent/user"
	"github.com/credvault/credvault/ent/webhook"
	"github.com/credvault/credvault/ent/webhookdelivery"
	"github.com/credvault/credvault/ent/webhookevent"
	"github.com/credvault/credvault/internal/apitest"
	"github.com/credvault/credvault/internal/platform/secret"
)

// testKeyRE is the format of a sandbox's key: cvk_test_ and at least 43
// base62 characters (32 random bytes).
var testKeyRE = regexp.MustCompile(`^cvk_test_[0-9A-Za-z]{43,}$`)

// sbCheckTestKey checks a sandbox key as creation or rotation shows it:
// cvk_test_ + the random part, the prefix its 8 characters after cvk_test_.
func sbCheckTestKey(t testing.TB, k apiKeyJSON) {
	t.Helper()
	if !testKeyRE.MatchString(k.Key) {
		t.Fatalf("sandbox key (%d chars, starting %.9q) is not cvk_test_ + at least 43 base62 characters", len(k.Key), k.Key)
	}
	if k.Prefix != k.Key[9:17] {
		t.Fatalf("prefix %q is not the 8 characters after cvk_test_", k.Prefix)
	}
}

// sbCreateKey creates a key in a sandbox as cred and checks its format.
func sbCreateKey(t testing.TB, e *apitest.Env, cred string, body map[string]any) apiKeyJSON {
	t.Helper()
	var k apiKeyJSON
	wantOK(t, do(e, http.MethodPost, "/api/v1/api-keys", cred, body), http.StatusCreated, &k)
	sbCheckTestKey(t, k)
	return k
}

// sbSettled waits until the reset the scheduler enqueued at start-up (the
// day's run, due since 00:00 UTC) has run, so that it cannot clear what a
// test creates afterwards.
func sbSettled(t *testing.T, e *apitest.Env) {
	t.Helper()
	eventually(t, 20*time.Second, "the start-up reset_sandbox_tenants run completes", func() (bool, string) {
		s := dbJobCounts(t, e, "reset_sandbox_tenants")
		return s.Completed >= 1 && s.Pending+s.Running+s.Retrying == 0, "busy or not yet enqueued"
	})
}

// sbPlan is the tenant's plan as GET /admin/tenants/{id} shows it.
func sbPlan(t testing.TB, e *apitest.Env, cred string, id uuid.UUID) string {
	t.Helper()
	var out struct {
		Plan string `json:"plan"`
	}
	wantOK(t, do(e, http.MethodGet, "/api/v1/admin/tenants/"+id.String(), cred, nil), http.StatusOK, &out)
	return out.Plan
}

func TestSandboxRegisterAndKeys(t *testing.T) {
	t.Parallel()
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		sbSettled(t, e)
		sb := register(t, e, "Sandbox", asSandbox)
		live := register(t, e, "Live")
		if p := sbPlan(t, e, sb.AccessToken, sb.TenantID); p != "sandbox" {
			t.Fatalf("a sandbox registration's plan is %q", p)
		}
		if p := sbPlan(t, e, live.AccessToken, live.TenantID); p != "free" {
			t.Fatalf("a plain registration's plan is %q, want the default plan", p)
		}
		if d := oneAudit(t, e, sb.TenantID, "auth.register", auditlog.OutcomeSuccess, "").Details; d["plan"] != "sandbox" {
			t.Fatalf("auth.register details %v, want plan sandbox", d)
		}
		// "sandbox": false is a plain tenant; a non-boolean is refused.
		var s sessionJSON
		wantOK(t, do(e, http.MethodPost, "/api/v1/auth/register", "", map[string]any{"tenant_name": "Explicit " + randTag(),
			"email": "o-" + randTag() + "@explicit.test", "password": testPassword, "sandbox": false}), http.StatusCreated, &s)
		if p := sbPlan(t, e, s.AccessToken, uid(t, s.Tenant.ID)); p != "free" {
			t.Fatalf(`"sandbox": false registered plan %q`, p)
		}
		wantError(t, do(e, http.MethodPost, "/api/v1/auth/register", "", map[string]any{"tenant_name": "Bad " + randTag(),
			"email": "o-" + randTag() + "@bad.test", "password": testPassword, "sandbox": "yes"}), http.StatusUnprocessableEntity, "VALIDATION_ERROR", "field", "sandbox")

		// GraphQL register with sandbox: true.
		var g struct {
			Register struct {
				Tenant struct {
					ID   string `json:"id"`
					Plan string `json:"plan"`
				} `json:"tenant"`
			} `json:"register"`
		}
		gql(t, e, "", `mutation($in: RegisterInput!) { register(input: $in) { tenant { id plan } } }`,
			map[string]any{"in": map[string]any{"tenantName": "Graph Sandbox " + randTag(), "email": "g-" + randTag() + "@sandbox.test",
				"password": testPassword, "sandbox": true}}, &g)
		if g.Register.Tenant.Plan != "sandbox" {
			t.Fatalf("GraphQL register with sandbox: true: plan %q", g.Register.Tenant.Plan)
		}

		// A sandbox's keys start cvk_test_; they authenticate in it; the
		// stored prefix is the 8 characters after cvk_test_.
		sk := sbCreateKey(t, e, sb.AccessToken, map[string]any{"name": "test key"})
		if m := me(t, e, sk.Key); m.PrincipalType != "api_key" || m.Tenant.ID != sb.TenantID.String() {
			t.Fatalf("a sandbox key authenticated as %s in %s", m.PrincipalType, m.Tenant.ID)
		}
		row, err := e.Store.Client.APIKey.Get(unrestricted(), sk.ID)
		if err != nil || row.Prefix != sk.Key[9:17] || !secret.Equal(row.KeyHash, secret.Hash(sk.Key)) {
			t.Fatalf("stored sandbox key: prefix %q, hash of the whole key %v (%v)", row.Prefix, err == nil && secret.Equal(row.KeyHash, secret.Hash(sk.Key)), err)
		}
		// Rotation keeps the kind, and so does a service account's first key.
		var rot apiKeyJSON
		wantOK(t, do(e, http.MethodPost, "/api/v1/api-keys/"+sk.ID.String()+"/rotate", sb.AccessToken, nil), http.StatusOK, &rot)
		sbCheckTestKey(t, rot)
		var sa struct {
			APIKey apiKeyJSON `json:"api_key"`
		}
		wantOK(t, do(e, http.MethodPost, "/api/v1/admin/service-account/create", sb.AccessToken, map[string]any{
			"name": "ci", "scopes": []string{"api_keys:read"}, "create_api_key": true}), http.StatusCreated, &sa)
		sbCheckTestKey(t, sa.APIKey)
		var gk struct {
			CreateAPIKey struct {
				Key string `json:"key"`
			} `json:"createAPIKey"`
		}
		gql(t, e, sb.AccessToken, `mutation { createAPIKey(input: {name: "graph"}) { key } }`, nil, &gk)
		if !testKeyRE.MatchString(gk.CreateAPIKey.Key) {
			t.Fatalf("a sandbox key created over GraphQL starts %.9q", gk.CreateAPIKey.Key)
		}

		// A live tenant's keys never carry the test prefix.
		lk := live.key(t)
		if strings.HasPrefix(lk.Key, "cvk_test_") {
			t.Fatal("a live tenant's key starts cvk_test_")
		}
		var lrot apiKeyJSON
		wantOK(t, do(e, http.MethodPost, "/api/v1/api-keys/"+lk.ID.String()+"/rotate", live.AccessToken, nil), http.StatusOK, &lrot)
		checkIssued(t, lrot)
	})
}

func TestSandboxKeysNeverCrossOver(t *testing.T) {
	t.Parallel()
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		sbSettled(t, e)
		sb := register(t, e, "Sandbox", asSandbox)
		live := register(t, e, "Live")
		sk := sbCreateKey(t, e, sb.AccessToken, map[string]any{"name": "test key"})
		lk := live.key(t)

		// The sandbox's key validated by the live tenant, against the live
		// tenant's key: invalid. The sandbox validates its own: valid.
		wantInvalid(t, validateKey(t, e, live.AccessToken, lk.ID, sk.Key), "invalid")
		if v := validateKey(t, e, sb.AccessToken, sk.ID, sk.Key); !v.Valid {
			t.Fatal("a sandbox key validated by its own tenant is not valid")
		}
		// The test prefix cut to cvk_ (or a live key dressed as a test key)
		// is another key: refused.
		cut := "cvk_" + strings.TrimPrefix(sk.Key, "cvk_test_")
		wantUnauthorized(t, whoami(e, cut), "invalid")
		wantInvalid(t, validateKey(t, e, sb.AccessToken, sk.ID, cut), "invalid")
		dressed := "cvk_test_" + strings.TrimPrefix(lk.Key, "cvk_")
		wantUnauthorized(t, whoami(e, dressed), "invalid")
		wantInvalid(t, validateKey(t, e, live.AccessToken, lk.ID, dressed), "invalid")

		// Even a key whose hash matched: a cvk_test_ string stored as the
		// live tenant's key, and a cvk_ string as the sandbox's, are refused
		// by the verifier itself (REST, and validate in their own tenant).
		forged := "cvk_test_" + strings.Repeat("A1b2C3d4", 6)
		livePlain := "cvk_" + strings.Repeat("Z9y8X7w6", 6)
		for _, c := range []struct {
			id       uuid.UUID
			key, tok string
		}{{lk.ID, forged, live.AccessToken}, {sk.ID, livePlain, sb.AccessToken}} {
			if err := e.Store.Client.APIKey.UpdateOneID(c.id).SetKeyHash(secret.Hash(c.key)).Exec(unrestricted()); err != nil {
				t.Fatal(err)
			}
			wantUnauthorized(t, whoami(e, c.key), "invalid")
			wantInvalid(t, validateKey(t, e, c.tok, c.id, c.key), "invalid")
		}
		// A test key stored the same way in the sandbox works: the refusal
		// is the rule, not the forged hash.
		fresh := "cvk_test_" + strings.Repeat("Q5r6S7t8", 6)
		if err := e.Store.Client.APIKey.UpdateOneID(sk.ID).SetKeyHash(secret.Hash(fresh)).Exec(unrestricted()); err != nil {
			t.Fatal(err)
		}
		if m := me(t, e, fresh); m.Tenant.ID != sb.TenantID.String() {
			t.Fatalf("a cvk_test_ key of the sandbox authenticated in %s", m.Tenant.ID)
		}
	})
}

func TestSandboxHasNoRateLimits(t *testing.T) {
	t.Parallel()
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		sbSettled(t, e)
		// The two anonymous requests the free plan allows this address: the
		// two registrations.
		sb := register(t, e, "Sandbox", asSandbox)
		live := register(t, e, "Live")

		// The sandbox: a session, a key and a key with its own limit of one
		// request an hour (accepted: there is no plan to exceed) all pass
		// many requests, REST and GraphQL, with no rate-limit headers.
		sk := sbCreateKey(t, e, sb.AccessToken, map[string]any{"name": "fast"})
		capped := sbCreateKey(t, e, sb.AccessToken, map[string]any{"name": "capped",
			"rate_limit": map[string]any{"requests": 1, "window_seconds": 3600}})
		for _, cred := range []string{sb.AccessToken, sk.Key, capped.Key} {
			for i := range 12 {
				r := whoami(e, cred)
				if r.Status != http.StatusOK {
					t.Fatalf("sandbox request %d answered %d %s", i+1, r.Status, r.ErrorCode())
				}
				if h := r.Header.Get("X-RateLimit-Limit"); h != "" {
					t.Fatalf("a sandbox answer carries X-RateLimit-Limit %s", h)
				}
			}
			for i := range 5 {
				if g := gqlDo(e, cred, `{ me { id } }`, nil); g.Status != http.StatusOK || len(g.Errors) > 0 {
					t.Fatalf("sandbox GraphQL request %d: %d %s", i+1, g.Status, showGQL(g))
				}
			}
		}

		// The live tenant on the same settings: two requests, then 429.
		for range 2 {
			wantStatus(t, whoami(e, live.AccessToken), http.StatusOK)
		}
		r := whoami(e, live.AccessToken)
		wantError(t, r, http.StatusTooManyRequests, "RATE_LIMIT_EXCEEDED")
		if r.Header.Get("Retry-After") == "" || r.Header.Get("X-RateLimit-Limit") != "2" {
			t.Fatalf("429 headers: Retry-After %q, X-RateLimit-Limit %q", r.Header.Get("Retry-After"), r.Header.Get("X-RateLimit-Limit"))
		}
		// The sandbox still passes after the live tenant was refused.
		wantStatus(t, whoami(e, sk.Key), http.StatusOK)
	}, rlPlans("free=2/h"))
}

func TestSandboxPlanIsFixed(t *testing.T) {
	t.Parallel()
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		sbSettled(t, e)
		sb := register(t, e, "Sandbox", asSandbox)
		live := register(t, e, "Live")
		adm := adminToken(t, e)
		patch := func(cred string, id uuid.UUID, plan string) *apitest.Response {
			return do(e, http.MethodPatch, "/api/v1/admin/tenants/"+id.String(), cred, map[string]any{"plan": plan})
		}
		for _, c := range []struct {
			cred string
			id   uuid.UUID
			plan string
		}{
			{sb.AccessToken, sb.TenantID, "pro"}, {sb.AccessToken, sb.TenantID, "free"},
			{adm, sb.TenantID, "enterprise"}, {live.AccessToken, live.TenantID, "sandbox"},
			{adm, live.TenantID, "sandbox"},
		} {
			wantError(t, patch(c.cred, c.id, c.plan), http.StatusUnprocessableEntity, "VALIDATION_ERROR", "field", "plan")
		}
		gqlErr(t, e, sb.AccessToken, `mutation($id: ID!) { updateTenant(id: $id, input: {plan: "pro"}) { plan } }`,
			map[string]any{"id": sb.TenantID}, "VALIDATION_ERROR", "field", "plan")
		gqlErr(t, e, live.AccessToken, `mutation($id: ID!) { updateTenant(id: $id, input: {plan: "sandbox"}) { plan } }`,
			map[string]any{"id": live.TenantID}, "VALIDATION_ERROR", "field", "plan")
		// Naming the plan it has is no change; a live tenant changes plans.
		wantStatus(t, patch(sb.AccessToken, sb.TenantID, "sandbox"), http.StatusOK)
		wantStatus(t, patch(live.AccessToken, live.TenantID, "pro"), http.StatusOK)
		for id, want := range map[uuid.UUID]string{sb.TenantID: "sandbox", live.TenantID: "pro"} {
			tn, err := e.Store.Client.Tenant.Get(unrestricted(), id)
			if err != nil || tn.Plan != want {
				t.Fatalf("tenant %s plan %q (%v), want %q", id, tn.Plan, err, want)
			}
		}
	}, withAdmin)
}

// sbData is what a tenant holds of what the reset clears, and its users.
type sbData map[string]int

func sbCount(t testing.TB, e *apitest.Env, id uuid.UUID) sbData {
	t.Helper()
	ctx := unrestricted()
	c := e.Store.Client
	out := sbData{}
	for name, count := range map[string]func(context.Context) (int, error){
		"api_keys":           c.APIKey.Query().Where(apikey.TenantID(id)).Count,
		"oauth_clients":      c.OAuthClient.Query().Where(oauthclient.TenantID(id)).Count,
		"credentials":        c.Credential.Query().Where(credential.TenantID(id)).Count,
		"webhooks":           c.Webhook.Query().Where(webhook.TenantID(id)).Count,
		"webhook_deliveries": c.WebhookDelivery.Query().Where(webhookdelivery.TenantID(id)).Count,
		"webhook_events":     c.WebhookEvent.Query().Where(webhookevent.TenantID(id)).Count,
		"service_accounts":   c.ServiceAccount.Query().Where(serviceaccount.TenantID(id)).Count,
		"audit_logs":         c.AuditLog.Query().Where(auditlog.TenantID(id)).Count,
		"users":              c.User.Query().Where(user.TenantID(id)).Count,
	} {
		n, err := count(ctx)
		if err != nil {
			t.Fatalf("count %s: %v", name, err)
		}
		out[name] = n
	}
	return out
}

// sbFill gives tenant tn one of each kind the reset clears: a key, a
// service account with its key, an OAuth client, a credential, a webhook
// with deliveries to receiver, a second user. It returns the key and the
// credential's integration, and waits until deliveries exist.
func sbFill(t testing.TB, e *apitest.Env, tn *tenantFixture, receiver string) (key string, integration string) {
	t.Helper()
	whCreate(t, e, tn.AccessToken, map[string]any{"url": receiver, "events": []string{"*"}})
	var k apiKeyJSON
	wantOK(t, do(e, http.MethodPost, "/api/v1/api-keys", tn.AccessToken, map[string]any{"name": "k"}), http.StatusCreated, &k)
	wantStatus(t, do(e, http.MethodPost, "/api/v1/admin/service-account/create", tn.AccessToken, map[string]any{
		"name": "ci", "scopes": []string{"api_keys:read"}, "create_api_key": true}), http.StatusCreated)
	tn.createClient(t, map[string]any{"name": "svc", "scopes": []string{"api_keys:read"}})
	integration = "stripe-" + randTag()
	wantStatus(t, do(e, http.MethodPost, "/api/v1/credentials", tn.AccessToken, map[string]any{
		"integration_id": integration, "auth_type": "bearer_token", "data": map[string]any{"token": "sk-" + randTag()}}), http.StatusCreated)
	tn.user(t, "member")
	// Read once: the key and the credential are now cached.
	wantStatus(t, whoami(e, k.Key), http.StatusOK)
	wantStatus(t, do(e, http.MethodGet, "/api/v1/credentials/"+integration, tn.AccessToken, nil), http.StatusOK)
	eventually(t, 20*time.Second, "webhook deliveries are recorded", func() (bool, string) {
		d := sbCount(t, e, tn.TenantID)
		return d["webhook_deliveries"] > 0 && d["webhook_events"] > 0, "none yet"
	})
	e.Flush()
	return k.Key, integration
}

func TestSandboxResetJob(t *testing.T) {
	t.Parallel()
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		// The day's run is scheduled at 00:00 UTC: its row's run_at and key.
		sbSettled(t, e)
		runs, err := e.Store.Client.Job.Query().Where(job.Name("reset_sandbox_tenants")).All(unrestricted())
		if err != nil || len(runs) == 0 {
			t.Fatalf("no scheduled reset run (%v)", err)
		}
		day := runs[0].RunAt.UTC()
		if !day.Equal(day.Truncate(24*time.Hour)) || time.Since(day) > 24*time.Hour || runs[0].DedupeKey == nil ||
			*runs[0].DedupeKey != "reset_sandbox_tenants@"+day.Format(time.RFC3339) {
			t.Fatalf("scheduled reset: run_at %v, dedupe key %v; want the day's 00:00 UTC", runs[0].RunAt, runs[0].DedupeKey)
		}

		receiver := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }))
		t.Cleanup(receiver.Close)
		sb := register(t, e, "Sandbox", asSandbox)
		other := register(t, e, "Other Sandbox", asSandbox)
		live := register(t, e, "Live")
		sbKey, sbIntegration := sbFill(t, e, sb, receiver.URL)
		otherKey, _ := sbFill(t, e, other, receiver.URL)
		liveKey, liveIntegration := sbFill(t, e, live, receiver.URL)
		liveBefore := sbCount(t, e, live.TenantID)
		sbBefore := sbCount(t, e, sb.TenantID)
		for name, n := range sbBefore {
			if n == 0 {
				t.Fatalf("the sandbox holds no %s before the reset", name)
			}
		}

		// A live tenant triggering the job resets nothing: it names itself.
		waitJob(t, e, triggerJob(t, e, live.AccessToken, "reset_sandbox_tenants", nil), 20*time.Second)
		if got := sbCount(t, e, sb.TenantID); got["api_keys"] != sbBefore["api_keys"] || got["credentials"] != sbBefore["credentials"] {
			t.Fatalf("a live tenant's trigger changed the sandbox: %v, was %v", got, sbBefore)
		}

		// The sandbox's owner resets it now.
		waitJob(t, e, triggerJob(t, e, sb.AccessToken, "reset_sandbox_tenants", nil), 20*time.Second)
		e.Flush()
		got := sbCount(t, e, sb.TenantID)
		for _, name := range []string{"api_keys", "oauth_clients", "credentials", "webhooks", "webhook_deliveries",
			"webhook_events", "service_accounts"} {
			if got[name] != 0 {
				t.Errorf("%d %s left in the sandbox after the reset", got[name], name)
			}
		}
		if got["users"] != sbBefore["users"] || got["users"] != 2 {
			t.Errorf("the sandbox has %d users after the reset, %d before", got["users"], sbBefore["users"])
		}
		// Its trail starts again with the reset's own entry.
		trail, err := e.Store.Client.AuditLog.Query().Where(auditlog.TenantID(sb.TenantID)).All(unrestricted())
		if err != nil {
			t.Fatal(err)
		}
		if len(trail) != 1 || trail[0].Action != "tenant.sandbox_reset" || trail[0].ActorType != "system" {
			var actions []string
			for _, a := range trail {
				actions = append(actions, a.Action)
			}
			t.Fatalf("the sandbox's trail after the reset: %v, want only tenant.sandbox_reset", actions)
		}
		// Nothing cached survives: the key and the credential are gone on
		// the API too. Users stay: the session goes on, both sign in.
		wantUnauthorized(t, whoami(e, sbKey), "invalid")
		wantError(t, do(e, http.MethodGet, "/api/v1/credentials/"+sbIntegration, sb.AccessToken, nil), http.StatusNotFound, "NOT_FOUND")
		var keys []apiKeyJSON
		listPage(t, e, sb.AccessToken, "/api/v1/api-keys", &keys)
		if len(keys) != 0 {
			t.Fatalf("GET /api-keys lists %d keys after the reset", len(keys))
		}
		login(t, e, sb.Email, testPassword, sb.Slug)
		members, err := e.Store.Client.User.Query().Where(user.TenantID(sb.TenantID), user.RoleEQ(user.RoleMember)).All(unrestricted())
		if err != nil || len(members) != 1 {
			t.Fatalf("members after the reset: %d (%v)", len(members), err)
		}
		login(t, e, members[0].Email, testPassword, sb.Slug)
		me(t, e, sb.AccessToken)
		// The sandbox works as before: a new key is a test key.
		sbCreateKey(t, e, sb.AccessToken, map[string]any{"name": "after"})

		// The other sandbox was not named: untouched until the daily run.
		wantStatus(t, whoami(e, otherKey), http.StatusOK)

		// The daily run names no tenant and resets every sandbox; a platform
		// admin runs it so with an empty tenant_id.
		waitJob(t, e, triggerJob(t, e, adminToken(t, e), "reset_sandbox_tenants", map[string]any{"tenant_id": ""}), 20*time.Second)
		wantUnauthorized(t, whoami(e, otherKey), "invalid")
		if d := sbCount(t, e, other.TenantID); d["api_keys"]+d["credentials"]+d["webhooks"]+d["oauth_clients"] != 0 || d["users"] != 2 {
			t.Fatalf("the other sandbox after the daily run: %v", d)
		}

		// The live tenant lost nothing (its trail only grew).
		e.Flush()
		liveAfter := sbCount(t, e, live.TenantID)
		for name, n := range liveBefore {
			if name == "audit_logs" || name == "webhook_deliveries" || name == "webhook_events" {
				if liveAfter[name] < n {
					t.Errorf("the live tenant's %s went from %d to %d", name, n, liveAfter[name])
				}
				continue
			}
			if liveAfter[name] != n {
				t.Errorf("the live tenant's %s went from %d to %d", name, n, liveAfter[name])
			}
		}
		wantStatus(t, whoami(e, liveKey), http.StatusOK)
		wantStatus(t, do(e, http.MethodGet, "/api/v1/credentials/"+liveIntegration, live.AccessToken, nil), http.StatusOK)
		if tn, err := e.Store.Client.Tenant.Get(unrestricted(), sb.TenantID); err != nil || tn.Status != tenant.StatusActive || tn.Plan != "sandbox" {
			t.Fatalf("the sandbox tenant after its reset: %+v (%v)", tn, err)
		}
	}, withAdmin)
}
