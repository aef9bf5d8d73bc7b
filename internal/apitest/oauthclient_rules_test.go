package apitest_test

// The rules of OAuth clients that oauth.Clients and the authorization
// server now own: rotation under the scope ceiling, introspection limited
// to the tokens the caller may see, and mutation payloads that resolve
// their edges after the commit; over REST and GraphQL, on SQLite and
// PostgreSQL.

import (
	"bytes"
	"net/http"
	"net/url"
	"testing"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/ent/auditlog"
	"github.com/credvault/credvault/ent/oauthclient"
	"github.com/credvault/credvault/internal/apitest"
	"github.com/credvault/credvault/internal/platform/secret"
)

// oaRulesRow is the client's row as stored.
func oaRulesRow(t testing.TB, e *apitest.Env, clientID string) *ent.OAuthClient {
	t.Helper()
	c, err := e.Store.Client.OAuthClient.Query().Where(oauthclient.ClientID(clientID)).Only(unrestricted())
	if err != nil {
		t.Fatalf("client %s in the database: %v", clientID, err)
	}
	return c
}

// Rotating a client's secret hands its scopes to the caller, so the caller
// must hold every one of them (SPEC §2): a member may not rotate a client
// carrying owner-only scopes, and the client keeps its secret.
func TestOAuthClientRotateUnderCeiling(t *testing.T) {
	t.Parallel()
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		tn := register(t, e, "Rotate Ceiling")
		member := tn.user(t, "member") // every :read scope and oauth_clients:write, never users:write
		owned := tn.createClient(t, map[string]any{"name": "owner's", "scopes": []string{"api_keys:read", "users:write"}})
		rotatePath := "/api/v1/oauth-clients/" + owned.ClientID + "/rotate-secret"
		const rotateGQL = `mutation($id: String!) { rotateOAuthClientSecret(clientID: $id, input: {gracePeriodSeconds: 600}) {
			clientSecret oauthClient { clientID } } }`

		// unchanged checks that the owner's client kept its one secret and
		// that no rotation was recorded.
		unchanged := func(t *testing.T) {
			t.Helper()
			row := oaRulesRow(t, e, owned.ClientID)
			if !secret.Equal(row.SecretHash, secret.Hash(owned.ClientSecret)) || (row.PreviousSecretHash != nil && len(*row.PreviousSecretHash) > 0) || row.PreviousSecretExpiresAt != nil {
				t.Fatal("a refused rotation changed the client's secret")
			}
			issueToken(t, e, owned, "")
			if n := len(auditEntries(t, e, tn.TenantID, "oauth_client.rotate_secret", owned.ClientID)); n != 0 {
				t.Fatalf("%d oauth_client.rotate_secret entries for refused rotations", n)
			}
		}
		// denials counts the member's permission.denied entries naming scope.
		denials := func(t *testing.T, actor, scope string) int {
			t.Helper()
			n := 0
			for _, a := range auditEntries(t, e, tn.TenantID, "permission.denied", "") {
				if a.ActorID == actor && a.Outcome == auditlog.OutcomeDenied && a.Details["required_scope"] == scope {
					n++
				}
			}
			return n
		}

		t.Run("REST: a member rotating the owner's client", func(t *testing.T) {
			resp := do(e, http.MethodPost, rotatePath, member.AccessToken, map[string]any{"grace_period_seconds": 600})
			wantError(t, resp, http.StatusForbidden, "FORBIDDEN", "required_scope", "users:write")
			if bytes.Contains(resp.Body, []byte("cvcs_")) {
				t.Fatal("a refused rotation answers a secret")
			}
			if n := denials(t, member.UserID.String(), "users:write"); n != 1 {
				t.Fatalf("%d permission.denied entries naming users:write for the member, want 1", n)
			}
			unchanged(t)
		})
		t.Run("GraphQL: a member rotating the owner's client", func(t *testing.T) {
			g := gqlDo(e, member.AccessToken, rotateGQL, map[string]any{"id": owned.ClientID})
			wantGQLError(t, g, "FORBIDDEN", "required_scope", "users:write")
			if bytes.Contains(g.Data, []byte("cvcs_")) {
				t.Fatal("a refused rotation answers a secret")
			}
			if n := denials(t, member.UserID.String(), "users:write"); n != 2 {
				t.Fatalf("%d permission.denied entries naming users:write for the member, want 2", n)
			}
			unchanged(t)
		})
		t.Run("an API key holding oauth_clients:write and api_keys:read", func(t *testing.T) {
			k := tn.key(t, "oauth_clients:write", "api_keys:read")
			wantError(t, do(e, http.MethodPost, rotatePath, k.Key, nil), http.StatusForbidden, "FORBIDDEN", "required_scope", "users:write")
			wantGQLError(t, gqlDo(e, k.Key, rotateGQL, map[string]any{"id": owned.ClientID}), "FORBIDDEN", "required_scope", "users:write")
			if n := denials(t, k.ID.String(), "users:write"); n != 2 {
				t.Fatalf("%d permission.denied entries naming users:write for the key, want 2", n)
			}
			unchanged(t)
		})

		// Within the caller's scopes rotation works, whoever created the client.
		mine := tn.createClient(t, map[string]any{"name": "within", "scopes": []string{"api_keys:read", "oauth_clients:read"}})
		t.Run("REST: a member rotating a client within its scopes", func(t *testing.T) {
			var got clientJSON
			wantOK(t, do(e, http.MethodPost, "/api/v1/oauth-clients/"+mine.ClientID+"/rotate-secret", member.AccessToken, nil), http.StatusOK, &got)
			if got.ClientID != mine.ClientID || got.ClientSecret == "" || got.ClientSecret == mine.ClientSecret {
				t.Fatalf("rotation answered %s, want a new secret for %s", got, mine.ClientID)
			}
			if !secret.Equal(oaRulesRow(t, e, mine.ClientID).SecretHash, secret.Hash(got.ClientSecret)) {
				t.Fatal("the stored hash is not the new secret's")
			}
			wantOAuthError(t, clientCredentials(e, mine.ClientID, mine.ClientSecret, ""), http.StatusUnauthorized, "invalid_client")
			issueToken(t, e, clientJSON{ClientID: mine.ClientID, ClientSecret: got.ClientSecret}, "")
			mine.ClientSecret = got.ClientSecret
		})
		t.Run("GraphQL: a member rotating a client within its scopes", func(t *testing.T) {
			var out struct {
				RotateOAuthClientSecret struct {
					ClientSecret string `json:"clientSecret"`
					OauthClient  struct {
						ClientID string `json:"clientID"`
					} `json:"oauthClient"`
				} `json:"rotateOAuthClientSecret"`
			}
			gql(t, e, member.AccessToken, rotateGQL, map[string]any{"id": mine.ClientID}, &out)
			got := out.RotateOAuthClientSecret
			if got.OauthClient.ClientID != mine.ClientID || got.ClientSecret == "" || got.ClientSecret == mine.ClientSecret {
				t.Fatalf("rotation of %s: client %s, a new secret: %v", mine.ClientID, got.OauthClient.ClientID, got.ClientSecret != mine.ClientSecret)
			}
			// Within the grace period both secrets work.
			issueToken(t, e, mine, "")
			issueToken(t, e, clientJSON{ClientID: mine.ClientID, ClientSecret: got.ClientSecret}, "")
		})
		if n := len(auditEntries(t, e, tn.TenantID, "oauth_client.rotate_secret", mine.ClientID)); n != 2 {
			t.Fatalf("%d oauth_client.rotate_secret entries, want 2", n)
		}
	})
}

// A client introspecting another client's token learns nothing of it
// (RFC 7662 §2.2); its own tokens, and an API key's view of its tenant's
// tokens, are unchanged.
func TestOAuthIntrospectionOfAnotherClientsToken(t *testing.T) {
	t.Parallel()
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		tn := register(t, e, "Introspect Rules")
		other := register(t, e, "Introspect Elsewhere")
		// x even holds oauth_clients:read: a client still sees only its own tokens.
		x := tn.createClient(t, map[string]any{"name": "x", "scopes": []string{"api_keys:read", "oauth_clients:read"}})
		y := tn.createClient(t, map[string]any{"name": "y", "scopes": []string{"api_keys:read"}})
		foreign := other.createClient(t, map[string]any{"name": "foreign", "scopes": []string{"api_keys:read"}})
		xTok := issueToken(t, e, x, "").AccessToken
		yTok := issueToken(t, e, y, "").AccessToken
		foreignTok := issueToken(t, e, foreign, "").AccessToken

		inactive := func(t *testing.T, got map[string]any) {
			t.Helper()
			if got["active"] != false || len(got) != 1 {
				t.Fatalf("want exactly {active: false}, got %d members (active %v, client_id %v)", len(got), got["active"], got["client_id"])
			}
		}
		active := func(t *testing.T, got map[string]any, c clientJSON, scope string) {
			t.Helper()
			if got["active"] != true {
				t.Fatalf("active %v, want true", got["active"])
			}
			for k, want := range map[string]any{"client_id": c.ClientID, "sub": c.ClientID, "scope": scope,
				"tid": tn.TenantID.String(), "token_type": "Bearer"} {
				if got[k] != want {
					t.Errorf("%s = %v, want %v", k, got[k], want)
				}
			}
		}

		t.Run("client X (Basic) on client Y's token", func(t *testing.T) {
			inactive(t, introspect(t, e, yTok, basicAuth(x.ClientID, x.ClientSecret)))
		})
		t.Run("client X (client_secret_post) on client Y's token", func(t *testing.T) {
			resp := postForm(e, "/oauth/introspect", url.Values{"token": {yTok}, "client_id": {x.ClientID}, "client_secret": {x.ClientSecret}}, formAuth{})
			if resp.Status != http.StatusOK || !bytes.Equal(bytes.TrimSpace(resp.Body), []byte(`{"active":false}`)) {
				t.Fatalf("%d %s, want 200 {\"active\":false}", resp.Status, redact(resp.Body))
			}
		})
		t.Run("client X's own token (Bearer) on client Y's token", func(t *testing.T) {
			inactive(t, introspect(t, e, yTok, formAuth{header: map[string]string{"Authorization": "Bearer " + xTok}}))
		})
		t.Run("client X on its own token", func(t *testing.T) {
			active(t, introspect(t, e, xTok, basicAuth(x.ClientID, x.ClientSecret)), x, "api_keys:read oauth_clients:read")
			active(t, introspect(t, e, xTok, formAuth{header: map[string]string{"Authorization": "Bearer " + xTok}}), x, "api_keys:read oauth_clients:read")
		})
		t.Run("client Y on its own token", func(t *testing.T) {
			active(t, introspect(t, e, yTok, basicAuth(y.ClientID, y.ClientSecret)), y, "api_keys:read")
		})
		t.Run("an API key with oauth_clients:read", func(t *testing.T) {
			k := tn.key(t, "oauth_clients:read")
			auth := formAuth{header: map[string]string{"X-API-Key": k.Key}}
			active(t, introspect(t, e, yTok, auth), y, "api_keys:read")
			active(t, introspect(t, e, xTok, auth), x, "api_keys:read oauth_clients:read")
			inactive(t, introspect(t, e, foreignTok, auth))
		})
		t.Run("another tenant's token", func(t *testing.T) {
			inactive(t, introspect(t, e, foreignTok, basicAuth(x.ClientID, x.ClientSecret)))
		})
	})
}

// Every mutation returning a client resolves the client's edges after its
// transaction has committed.
func TestOAuthClientMutationPayloadEdges(t *testing.T) {
	t.Parallel()
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		tn := register(t, e, "Payload Edges")
		type client struct {
			ClientID string `json:"clientID"`
			Name     string `json:"name"`
			Tenant   struct {
				Name string `json:"name"`
			} `json:"tenant"`
		}
		wantTenant := func(t *testing.T, c client) {
			t.Helper()
			if c.Tenant.Name != tn.Name {
				t.Fatalf("oauthClient.tenant.name %q, want %q", c.Tenant.Name, tn.Name)
			}
		}

		var created struct {
			CreateOAuthClient struct {
				ClientSecret string `json:"clientSecret"`
				OauthClient  client `json:"oauthClient"`
			} `json:"createOAuthClient"`
		}
		gql(t, e, tn.AccessToken, `mutation { createOAuthClient(input: {name: "edges", scopes: ["api_keys:read"]}) {
			clientSecret oauthClient { clientID name tenant { name } } } }`, nil, &created)
		c := created.CreateOAuthClient
		wantTenant(t, c.OauthClient)
		if row := oaRulesRow(t, e, c.OauthClient.ClientID); row.Name != "edges" || row.TenantID != tn.TenantID {
			t.Fatalf("stored client: name %q tenant %s", row.Name, row.TenantID)
		}
		issueToken(t, e, clientJSON{ClientID: c.OauthClient.ClientID, ClientSecret: c.ClientSecret}, "")
		vars := map[string]any{"id": c.OauthClient.ClientID}

		var updated struct {
			UpdateOAuthClient client `json:"updateOAuthClient"`
		}
		gql(t, e, tn.AccessToken, `mutation($id: String!) { updateOAuthClient(clientID: $id, input: {name: "renamed"}) {
			clientID name tenant { name } } }`, vars, &updated)
		wantTenant(t, updated.UpdateOAuthClient)
		if updated.UpdateOAuthClient.Name != "renamed" || oaRulesRow(t, e, c.OauthClient.ClientID).Name != "renamed" {
			t.Fatalf("update: answered %q, stored %q", updated.UpdateOAuthClient.Name, oaRulesRow(t, e, c.OauthClient.ClientID).Name)
		}

		var rotated struct {
			RotateOAuthClientSecret struct {
				ClientSecret string `json:"clientSecret"`
				OauthClient  client `json:"oauthClient"`
			} `json:"rotateOAuthClientSecret"`
		}
		gql(t, e, tn.AccessToken, `mutation($id: String!) { rotateOAuthClientSecret(clientID: $id) {
			clientSecret oauthClient { clientID tenant { name } } } }`, vars, &rotated)
		wantTenant(t, rotated.RotateOAuthClientSecret.OauthClient)
		if !secret.Equal(oaRulesRow(t, e, c.OauthClient.ClientID).SecretHash, secret.Hash(rotated.RotateOAuthClientSecret.ClientSecret)) {
			t.Fatal("the stored hash is not the rotated secret's")
		}

		for _, action := range []string{"oauth_client.create", "oauth_client.update", "oauth_client.rotate_secret"} {
			oneAudit(t, e, tn.TenantID, action, auditlog.OutcomeSuccess, c.OauthClient.ClientID)
		}
	})
}
