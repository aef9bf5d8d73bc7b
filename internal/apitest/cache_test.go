package apitest_test

// Caches with invalidation (issue 12): tenants, OAuth clients, API keys,
// DEKs and credential rows are kept in memory, so a warm GET /auth/me with
// an API key, POST /oauth/token, POST /oauth/introspect and GET
// /credentials/{integration} read no row they read a moment ago; every
// change drops what it changed at once on this instance and within a
// second on every other one.

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/credvault/credvault/internal/apitest"
	"github.com/credvault/credvault/internal/platform/store/storetest"
)

// warmPath is a hot request and the statements it costs once warm: none
// of them a SELECT.
type warmPath struct {
	name string
	send func(t *testing.T, h map[string]string)
	want int
}

// warmPaths are the four hot paths of tn, with key, client c and one
// credential of integration.
func warmPaths(e *apitest.Env, key string, c clientJSON, integration string) []warmPath {
	form := func(t *testing.T, path string, v url.Values, h map[string]string) {
		t.Helper()
		a := basicAuth(c.ClientID, c.ClientSecret)
		a.header = h
		wantStatus(t, postForm(e, path, v, a), http.StatusOK)
	}
	var token string
	return []warmPath{
		{name: "GET /auth/me with X-API-Key", send: func(t *testing.T, h map[string]string) {
			wantStatus(t, do(e, http.MethodGet, "/api/v1/auth/me", key, nil, h), http.StatusOK)
		}},
		{name: "POST /oauth/token", send: func(t *testing.T, h map[string]string) {
			form(t, "/oauth/token", url.Values{"grant_type": {"client_credentials"}}, h)
			if token == "" {
				token = issueToken(t, e, c, "").AccessToken
			}
		}},
		{name: "POST /oauth/introspect", send: func(t *testing.T, h map[string]string) {
			form(t, "/oauth/introspect", url.Values{"token": {token}}, h)
		}},
		// The decrypt's audit entry is written by the group commit, outside
		// the request's own statements.
		{name: "GET /credentials/{integration}", send: func(t *testing.T, h map[string]string) {
			wantStatus(t, do(e, http.MethodGet, credPath(integration), key, nil, h), http.StatusOK)
		}},
	}
}

func TestWarmHotPathsReadNoRow(t *testing.T) {
	for _, backend := range storetest.Backends() {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			st := storetest.Open(t, backend)
			counter := storetest.CountStatements(st)
			e := apitest.New(t, st)
			tn := register(t, e, "Warm")
			key := tn.key(t, "credentials:decrypt", "api_keys:read")
			c := tn.createClient(t, map[string]any{"name": "warm", "scopes": []string{"api_keys:read"}})
			integration := "warm-" + randTag()
			storeCred(t, e, tn.AccessToken, map[string]any{"integration_id": integration, "auth_type": "bearer_token",
				"data": map[string]any{"token": "warm-secret-" + randTag()}})
			for _, p := range warmPaths(e, key.Key, c, integration) {
				send := func(h map[string]string) { p.send(t, h) }
				// On PostgreSQL an instance also hears its own NOTIFY, a moment
				// after the commit that delivered it here already: the store of
				// the credential may drop the rows its first read cached.
				eventually(t, 5*time.Second, p.name+" warms", func() (bool, string) {
					n, sql := statementsOf(t, counter, send)
					return n == p.want, strings.Join(sql, "; ")
				})
				n, sql := statementsOf(t, counter, send)
				for _, q := range sql {
					if strings.HasPrefix(strings.TrimSpace(strings.ToUpper(q)), "SELECT") {
						t.Errorf("%s, warm: reads a row again: %s", p.name, q)
					}
				}
				if n != p.want {
					t.Errorf("%s, warm: %d statements, want %d: %q", p.name, n, p.want, sql)
				}
			}
		})
	}
}

// decryptedData reads integration's credentials with their data as cred
// and returns the answer and the data of the first.
func decryptedData(t *testing.T, e *apitest.Env, cred, integration string) (*apitest.Response, map[string]any) {
	t.Helper()
	r := do(e, http.MethodGet, credPath(integration), cred, nil)
	if r.Status != http.StatusOK {
		return r, nil
	}
	var out integrationJSON
	dataOf(t, r, &out)
	if len(out.Credentials) == 0 {
		t.Fatalf("GET %s: no credentials", integration)
	}
	return r, out.Credentials[0].Data
}

// TestCachesDropChangesAtOnce: on one instance, every change is seen by the
// next request, however warm the caches were.
func TestCachesDropChangesAtOnce(t *testing.T) {
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		tn := register(t, e, "Fresh")
		key := tn.key(t, "credentials:decrypt", "api_keys:read")

		// The tenant: /auth/me shows a new name at once.
		me(t, e, key.Key)
		wantStatus(t, patchTenant(e, tn.AccessToken, tn.TenantID, map[string]any{"name": "Renamed " + randTag()}), http.StatusOK)
		renamed := me(t, e, key.Key)
		if !strings.HasPrefix(renamed.Tenant.Name, "Renamed ") {
			t.Fatalf("/auth/me after a rename shows tenant %q", renamed.Tenant.Name)
		}

		// Credentials: new data, a new credential and a deletion.
		integration := "fresh-" + randTag()
		first := storeCred(t, e, tn.AccessToken, map[string]any{"integration_id": integration, "auth_type": "bearer_token",
			"data": map[string]any{"token": "first-" + randTag()}})
		decryptedData(t, e, key.Key, integration)
		next := "next-" + randTag()
		wantStatus(t, do(e, http.MethodPatch, credPath(integration, first.ID.String()), tn.AccessToken,
			map[string]any{"data": map[string]any{"token": next}}), http.StatusOK)
		if _, data := decryptedData(t, e, key.Key, integration); data["token"] != next {
			t.Fatal("the credential's old data is served after an update")
		}
		storeCred(t, e, tn.AccessToken, map[string]any{"integration_id": integration, "auth_type": "bearer_token",
			"data": map[string]any{"token": "second-" + randTag()}})
		var both integrationJSON
		wantOK(t, do(e, http.MethodGet, credPath(integration), key.Key, nil), http.StatusOK, &both)
		if len(both.Credentials) != 2 {
			t.Fatalf("%d credentials after a second was stored, want 2", len(both.Credentials))
		}
		for _, c := range both.Credentials {
			wantStatus(t, do(e, http.MethodDelete, credPath(integration, c.ID.String()), tn.AccessToken, nil), http.StatusOK)
		}
		wantError(t, do(e, http.MethodGet, credPath(integration), key.Key, nil), http.StatusNotFound, "NOT_FOUND")

		// A client: a rotated-out secret and a disabled client get no token.
		c := tokenClient(t, e, tn.AccessToken)
		issueToken(t, e, c, "")
		c2 := rotateSecret(t, e, tn.AccessToken, c, map[string]any{})
		wantOAuthError(t, clientCredentials(e, c.ClientID, c.ClientSecret, ""), http.StatusUnauthorized, "invalid_client")
		issueToken(t, e, c2, "")
		setClientStatus(t, e, tn.AccessToken, c2, "disabled")
		wantOAuthError(t, clientCredentials(e, c2.ClientID, c2.ClientSecret, ""), http.StatusUnauthorized, "invalid_client")
	})
}

// TestStoringACredentialSendsNoNotify: a stored credential only adds a row,
// so its transaction sends no NOTIFY, which on PostgreSQL would queue its
// commit behind every other notifying transaction's; the instance itself
// lists the new row at once all the same.
func TestStoringACredentialSendsNoNotify(t *testing.T) {
	for _, backend := range storetest.Backends() {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			st := storetest.Open(t, backend)
			counter := storetest.CountStatements(st)
			e := apitest.New(t, st)
			tn := register(t, e, "Added")
			key := tn.key(t, "credentials:decrypt")
			integration := "added-" + randTag()
			body := func() map[string]any {
				return map[string]any{"integration_id": integration, "auth_type": "bearer_token",
					"data": map[string]any{"token": "added-" + randTag()}}
			}
			storeCred(t, e, tn.AccessToken, body())
			decryptedData(t, e, key.Key, integration)
			n, sql := statementsOf(t, counter, func(h map[string]string) {
				wantStatus(t, do(e, http.MethodPost, "/api/v1/credentials", tn.AccessToken, body(), h), http.StatusCreated)
			})
			for _, q := range sql {
				if strings.Contains(strings.ToLower(q), "pg_notify") {
					t.Errorf("POST /credentials notifies in its transaction: %s", q)
				}
			}
			t.Logf("POST /credentials: %d statements", n)
			var both integrationJSON
			wantOK(t, do(e, http.MethodGet, credPath(integration), key.Key, nil), http.StatusOK, &both)
			if len(both.Credentials) != 2 {
				t.Fatalf("%d credentials listed after a second was stored, want 2", len(both.Credentials))
			}
		})
	}
}

// TestStoredCredentialsReachEveryInstance: two instances on one
// PostgreSQL; a credential stored through A is read through B at once,
// and one added to an integration B has cached is listed by B within a
// second (the README's promise).
func TestStoredCredentialsReachEveryInstance(t *testing.T) {
	t.Parallel()
	a, b := twoInstances(t)
	tn := register(t, a, "Added everywhere")
	key := tn.key(t, "credentials:decrypt")
	integration := "added-everywhere-" + randTag()
	token := "first-" + randTag()
	storeCred(t, a, tn.AccessToken, map[string]any{"integration_id": integration, "auth_type": "bearer_token",
		"data": map[string]any{"token": token}})
	if r, data := decryptedData(t, b, key.Key, integration); r.Status != http.StatusOK || data["token"] != token {
		t.Fatalf("B does not read the credential stored through A at once: %d", r.Status)
	}
	storeCred(t, a, tn.AccessToken, map[string]any{"integration_id": integration, "auth_type": "bearer_token",
		"data": map[string]any{"token": "second-" + randTag()}})
	start := time.Now()
	eventually(t, time.Second, "B lists the credential added through A", func() (bool, string) {
		var out integrationJSON
		wantOK(t, do(b, http.MethodGet, credPath(integration), key.Key, nil), http.StatusOK, &out)
		return len(out.Credentials) == 2, strconv.Itoa(len(out.Credentials)) + " credentials"
	})
	t.Logf("the credential added through A reached B after %v", time.Since(start))
}

// tokenRefusedWithin polls the token endpoint of e for c until it answers
// invalid_client, failing the test when it still issues tokens after
// within; it returns how long the refusal took.
func tokenRefusedWithin(t *testing.T, e *apitest.Env, c clientJSON, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for {
		r := clientCredentials(e, c.ClientID, c.ClientSecret, "")
		switch r.Status {
		case http.StatusUnauthorized:
			wantOAuthError(t, r, http.StatusUnauthorized, "invalid_client")
			return time.Since(start)
		case http.StatusOK:
		default:
			t.Fatalf("unexpected answer while waiting for a refusal: %d %s", r.Status, redact(r.Body))
		}
		if time.Since(start) > within {
			t.Fatalf("the other instance still issues tokens to %s %v after the change", c.ClientID, within)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestCachesDropChangesOnEveryInstance: two instances on one PostgreSQL;
// what B has cached goes within a second of a change made through A.
func TestCachesDropChangesOnEveryInstance(t *testing.T) {
	t.Parallel()
	a, b := twoInstances(t)
	tn := register(t, a, "Everywhere")
	key := tn.key(t, "credentials:decrypt", "api_keys:read")

	// A rename through A shows on B.
	me(t, b, key.Key)
	name := "Renamed " + randTag()
	wantStatus(t, patchTenant(a, tn.AccessToken, tn.TenantID, map[string]any{"name": name}), http.StatusOK)
	eventually(t, time.Second, "B shows the new tenant name", func() (bool, string) {
		got := me(t, b, key.Key).Tenant.Name
		return got == name, got
	})

	// New credential data through A is what B decrypts; a deletion, a 404.
	integration := "everywhere-" + randTag()
	cred := storeCred(t, a, tn.AccessToken, map[string]any{"integration_id": integration, "auth_type": "bearer_token",
		"data": map[string]any{"token": "first-" + randTag()}})
	decryptedData(t, b, key.Key, integration)
	next := "next-" + randTag()
	wantStatus(t, do(a, http.MethodPatch, credPath(integration, cred.ID.String()), tn.AccessToken,
		map[string]any{"data": map[string]any{"token": next}}), http.StatusOK)
	eventually(t, time.Second, "B decrypts the new data", func() (bool, string) {
		_, data := decryptedData(t, b, key.Key, integration)
		return data["token"] == next, "old data"
	})
	wantStatus(t, do(a, http.MethodDelete, credPath(integration, cred.ID.String()), tn.AccessToken, nil), http.StatusOK)
	eventually(t, time.Second, "B answers 404 for the deleted credential", func() (bool, string) {
		r, _ := decryptedData(t, b, key.Key, integration)
		return r.Status == http.StatusNotFound, http.StatusText(r.Status)
	})

	// A client disabled through A gets no token from B.
	c := tokenClient(t, a, tn.AccessToken)
	issueToken(t, b, c, "")
	setClientStatus(t, a, tn.AccessToken, c, "disabled")
	t.Logf("disabling through A reached B's token endpoint after %v", tokenRefusedWithin(t, b, c, time.Second))

	// A secret rotated through A without grace gets no token from B.
	r := tokenClient(t, a, tn.AccessToken)
	issueToken(t, b, r, "")
	rotateSecret(t, a, tn.AccessToken, r, map[string]any{})
	tokenRefusedWithin(t, b, r, time.Second)

	// A tenant suspended through A: B refuses its key and its clients.
	s := tokenClient(t, a, tn.AccessToken)
	issueToken(t, b, s, "")
	keyWorks(t, b, key.Key, key.ID)
	admin := tn.key(t)
	wantStatus(t, patchTenant(a, admin.Key, tn.TenantID, map[string]any{"status": "suspended"}), http.StatusOK)
	d := refusedWithin(t, b, key.Key, time.Second, "revoked")
	t.Logf("suspension through A reached B after %v", d)
	tokenRefusedWithin(t, b, s, time.Second)
}
