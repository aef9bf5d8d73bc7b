package apitest_test

// Tokens end when their cause says so, on every instance: the session
// tokens of a refresh family whose reuse was detected, an OAuth client's
// access tokens when the secret that obtained them is rotated out (at once,
// or when its grace ends), and the tokens a client held when it was
// disabled, which enabling it again does not revive.

import (
	"net/http"
	"testing"
	"time"

	"github.com/credvault/credvault/internal/apitest"
)

// refresh posts a refresh token to /auth/refresh, whatever the answer.
func refresh(e *apitest.Env, token string) *apitest.Response {
	e.T.Helper()
	return do(e, http.MethodPost, "/api/v1/auth/refresh", "", map[string]any{"refresh_token": token})
}

// reuseRefresh rotates p's refresh token once, then presents it again:
// the reuse is refused and revokes the family. It returns the session the
// first refresh started, of the same family.
func reuseRefresh(t *testing.T, e *apitest.Env, p principal) sessionJSON {
	t.Helper()
	var next sessionJSON
	wantOK(t, refresh(e, p.RefreshToken), http.StatusOK, &next)
	wantUnauthorized(t, refresh(e, p.RefreshToken), "revoked")
	return next
}

// rotateSecret rotates c's secret as cred with body and returns the client
// with its new secret.
func rotateSecret(t *testing.T, e *apitest.Env, cred string, c clientJSON, body map[string]any) clientJSON {
	t.Helper()
	var out clientJSON
	wantOK(t, do(e, http.MethodPost, "/api/v1/oauth-clients/"+c.ClientID+"/rotate-secret", cred, body), http.StatusOK, &out)
	if out.ClientSecret == "" || out.ClientSecret == c.ClientSecret {
		t.Fatal("rotate-secret: no new client_secret")
	}
	return out
}

// setClientStatus sets c's status as cred.
func setClientStatus(t *testing.T, e *apitest.Env, cred string, c clientJSON, status string) {
	t.Helper()
	wantStatus(t, do(e, http.MethodPatch, "/api/v1/oauth-clients/"+c.ClientID, cred, map[string]any{"status": status}), http.StatusOK)
}

// tokenClient creates a client of tn that may read its own tenant's keys.
func tokenClient(t *testing.T, e *apitest.Env, cred string) clientJSON {
	t.Helper()
	return createClient(t, e, cred, map[string]any{"name": "token end " + randTag(), "scopes": []string{"api_keys:read"}})
}

func TestRefreshReuseEndsTheFamilySessionTokens(t *testing.T) {
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		tn := register(t, e, "Reuse")
		other := login(t, e, tn.Email, tn.Password, tn.Slug)
		me(t, e, tn.AccessToken)

		next := reuseRefresh(t, e, tn.principal)
		// Every session token of the family ends at once: the one the reused
		// token came with and the one its first use started.
		wantUnauthorized(t, whoami(e, tn.AccessToken), "revoked")
		wantUnauthorized(t, whoami(e, next.AccessToken), "revoked")
		wantUnauthorized(t, refresh(e, next.RefreshToken), "revoked")
		g := gqlDo(e, tn.AccessToken, `{ me { id } }`, nil)
		if len(g.Errors) == 0 {
			t.Fatal("GraphQL accepts a session token of the revoked family")
		}
		// Another session of the same user is another family: unaffected.
		if m := me(t, e, other.AccessToken); m.User == nil || m.User.ID != tn.UserID.String() {
			t.Fatalf("the other session is not the user's: %+v", m)
		}
		var again sessionJSON
		wantOK(t, refresh(e, other.RefreshToken), http.StatusOK, &again)
		me(t, e, again.AccessToken)
	})
}

func TestClientSecretRotationEndsItsTokens(t *testing.T) {
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		tn := register(t, e, "Rotation")
		c := tokenClient(t, e, tn.AccessToken)
		old := issueToken(t, e, c, "")
		me(t, e, old.AccessToken)

		// Without grace: the old secret's token ends with it.
		c2 := rotateSecret(t, e, tn.AccessToken, c, map[string]any{})
		wantUnauthorized(t, whoami(e, old.AccessToken), "revoked")
		if got := introspect(t, e, old.AccessToken, basicAuth(c2.ClientID, c2.ClientSecret)); got["active"] != false {
			t.Fatalf("introspection of a rotated-out token: %v", got["active"])
		}
		cur := issueToken(t, e, c2, "")
		me(t, e, cur.AccessToken)

		// With a grace period: the tokens of the old secret, issued before the
		// rotation or with the old secret during the grace, work until it ends.
		start := time.Now()
		c3 := rotateSecret(t, e, tn.AccessToken, c2, map[string]any{"grace_period_seconds": 2})
		during := issueToken(t, e, c2, "")
		fresh := issueToken(t, e, c3, "")
		for _, tok := range []string{cur.AccessToken, during.AccessToken, fresh.AccessToken} {
			me(t, e, tok)
		}
		refusedWithin(t, e, cur.AccessToken, 5*time.Second, "revoked")
		if elapsed := time.Since(start); elapsed < 1900*time.Millisecond {
			t.Fatalf("the old secret's token was refused %v after the rotation, inside its 2 s grace", elapsed)
		}
		wantUnauthorized(t, whoami(e, during.AccessToken), "revoked")
		me(t, e, fresh.AccessToken)
	})
}

func TestDisabledClientTokensStayEnded(t *testing.T) {
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		tn := register(t, e, "Disable")
		c := tokenClient(t, e, tn.AccessToken)
		old := issueToken(t, e, c, "")
		me(t, e, old.AccessToken)

		setClientStatus(t, e, tn.AccessToken, c, "disabled")
		wantUnauthorized(t, whoami(e, old.AccessToken), "revoked")
		setClientStatus(t, e, tn.AccessToken, c, "active")
		// Enabling the client does not revive what it held when disabled.
		wantUnauthorized(t, whoami(e, old.AccessToken), "revoked")
		me(t, e, issueToken(t, e, c, "").AccessToken)

		// Nor through GraphQL's updateOAuthClient.
		tok := issueToken(t, e, c, "")
		for _, status := range []string{"disabled", "active"} {
			g := gqlDo(e, tn.AccessToken, `mutation($id: String!, $s: OAuthClientStatus!) {
				updateOAuthClient(clientID: $id, input: {status: $s}) { status } }`, map[string]any{"id": c.ClientID, "s": status})
			if len(g.Errors) > 0 {
				t.Fatalf("updateOAuthClient %s: %s", status, showGQL(g))
			}
		}
		wantUnauthorized(t, whoami(e, tok.AccessToken), "revoked")
		me(t, e, issueToken(t, e, c, "").AccessToken)
	})
}

// TestTokenEndsReachEveryInstance: each end made through one instance is
// honoured by another, whose client cache held the token's client, within
// a second.
func TestTokenEndsReachEveryInstance(t *testing.T) {
	t.Parallel()
	a, b := twoInstances(t)
	tn := register(t, a, "Instances")
	other := login(t, a, tn.Email, tn.Password, tn.Slug)

	// Refresh-token reuse detected on A.
	me(t, b, tn.AccessToken)
	reuseRefresh(t, a, tn.principal)
	refusedWithin(t, b, tn.AccessToken, time.Second, "revoked")
	me(t, b, other.AccessToken)

	// A rotation without grace on A, by the session that lives on.
	owner := other.AccessToken
	c := tokenClient(t, a, owner)
	old := issueToken(t, a, c, "")
	me(t, b, old.AccessToken) // b caches the client
	c = rotateSecret(t, a, owner, c, map[string]any{})
	refusedWithin(t, b, old.AccessToken, time.Second, "revoked")
	cur := issueToken(t, a, c, "")
	me(t, b, cur.AccessToken)

	// A rotation with grace on B: A refuses the old token when it ends.
	me(t, a, cur.AccessToken)
	start := time.Now()
	c = rotateSecret(t, b, owner, c, map[string]any{"grace_period_seconds": 2})
	me(t, a, cur.AccessToken)
	refusedWithin(t, a, cur.AccessToken, 5*time.Second, "revoked")
	if elapsed := time.Since(start); elapsed < 1900*time.Millisecond {
		t.Fatalf("A refused the old token %v after the rotation, inside its 2 s grace", elapsed)
	}

	// Disabled on A, then enabled on A: B refuses at once, and still after.
	tok := issueToken(t, b, c, "")
	me(t, b, tok.AccessToken)
	setClientStatus(t, a, owner, c, "disabled")
	refusedWithin(t, b, tok.AccessToken, time.Second, "revoked")
	setClientStatus(t, a, owner, c, "active")
	fresh := issueToken(t, a, c, "")
	eventually(t, time.Second, "B accepts a token issued after the client was enabled", func() (bool, string) {
		r := whoami(b, fresh.AccessToken)
		return r.Status == http.StatusOK, http.StatusText(r.Status)
	})
	wantUnauthorized(t, whoami(b, tok.AccessToken), "revoked")
}
