package apitest_test

// The rules of the apikeys service that GraphQL and REST reach the same way:
// rotation under the scope ceiling, and mutation payloads whose edges
// resolve after the commit.

import (
	"fmt"
	"net/http"
	"slices"
	"testing"

	"github.com/google/uuid"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/ent/auditlog"
	"github.com/credvault/credvault/internal/apitest"
)

// keyRow is the stored key id, read past tenant isolation.
func keyRow(t *testing.T, e *apitest.Env, id uuid.UUID) *ent.APIKey {
	t.Helper()
	k, err := e.Store.Client.APIKey.Get(unrestricted(), id)
	if err != nil {
		t.Fatalf("load key %v: %v", id, err)
	}
	return k
}

// A rotation hands out a new secret carrying every scope of the key, so it
// needs them all: a member must not turn the owner's key into its own.
func TestAPIKeyRotationNeedsEveryScopeOfTheKey(t *testing.T) {
	t.Parallel()
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		ten := register(t, e, "Acme")
		member := ten.user(t, "member")
		// users:write is the owner's and not a member's.
		owners := ten.key(t, "api_keys:read", "api_keys:write", "users:write")
		before := keyRow(t, e, owners.ID)
		path := "/api/v1/api-keys/" + owners.ID.String() + "/rotate"

		wantError(t, do(e, http.MethodPost, path, member.AccessToken, map[string]any{"grace_period_seconds": 3600}),
			http.StatusForbidden, "FORBIDDEN", "required_scope", "users:write")
		gqlErr(t, e, member.AccessToken, `mutation($id: ID!) { rotateAPIKey(id: $id, input: {gracePeriodSeconds: 3600}) { key } }`,
			map[string]any{"id": owners.ID}, "FORBIDDEN", "required_scope", "users:write")

		after := keyRow(t, e, owners.ID)
		previous := after.PreviousKeyHash != nil && len(*after.PreviousKeyHash) > 0
		if !slices.Equal(after.KeyHash, before.KeyHash) || previous || after.PreviousKeyExpiresAt != nil ||
			after.Prefix != before.Prefix || !after.UpdatedAt.Equal(before.UpdatedAt) {
			t.Fatalf("a refused rotation changed the key: same hash %v, previous hash %v, prefix %q → %q",
				slices.Equal(after.KeyHash, before.KeyHash), previous, before.Prefix, after.Prefix)
		}
		if m := me(t, e, owners.Key); m.APIKeyID == nil || *m.APIKeyID != owners.ID.String() {
			t.Fatal("the owner's key no longer authenticates as itself")
		}
		if n := len(auditEntries(t, e, ten.TenantID, "api_key.rotate", owners.ID.String())); n != 0 {
			t.Fatalf("%d api_key.rotate entries for refused rotations", n)
		}
		var denied int
		for _, a := range auditEntries(t, e, ten.TenantID, "permission.denied", "") {
			if a.ActorID == member.UserID.String() && a.Outcome == auditlog.OutcomeDenied &&
				fmt.Sprint(a.Details["required_scope"]) == "users:write" {
				denied++
			}
		}
		if denied != 2 {
			t.Fatalf("%d permission.denied entries of the member for users:write, want 2 (REST and GraphQL)", denied)
		}

		// Within the member's own scopes a rotation goes through: its own
		// key over REST, a narrower key of the owner's over GraphQL.
		own := newKey(t, e, member.AccessToken)
		var rotated apiKeyJSON
		wantOK(t, do(e, http.MethodPost, "/api/v1/api-keys/"+own.ID.String()+"/rotate", member.AccessToken, nil), http.StatusOK, &rotated)
		checkIssued(t, rotated)
		if rotated.ID != own.ID || !slices.Equal(rotated.Scopes, own.Scopes) {
			t.Fatalf("rotated the member's key into id %v scopes %v, want %v %v", rotated.ID, rotated.Scopes, own.ID, own.Scopes)
		}
		wantUnauthorized(t, whoami(e, own.Key), "revoked", "invalid")
		if m := me(t, e, rotated.Key); m.APIKeyID == nil || *m.APIKeyID != own.ID.String() {
			t.Fatal("the rotated member key does not authenticate as itself")
		}
		narrow := ten.key(t, "api_keys:read")
		var g struct {
			RotateAPIKey struct {
				Key    string
				APIKey struct{ ID uuid.UUID }
			}
		}
		gql(t, e, member.AccessToken, `mutation($id: ID!) { rotateAPIKey(id: $id) { key apiKey { id } } }`, map[string]any{"id": narrow.ID}, &g)
		if g.RotateAPIKey.APIKey.ID != narrow.ID || g.RotateAPIKey.Key == "" || g.RotateAPIKey.Key == narrow.Key {
			t.Fatalf("GraphQL rotation of a key within the member's scopes: id %v, new secret %v", g.RotateAPIKey.APIKey.ID,
				g.RotateAPIKey.Key != "" && g.RotateAPIKey.Key != narrow.Key)
		}
	})
}

// apiKeyNode is an API key as the payload tests select it, with its edges.
type apiKeyNode struct {
	ID     uuid.UUID
	Status string
	User   *struct{ Email string }
	Tenant *struct{ Name string }
	// ServiceAccount is the owning service account, when there is one.
	ServiceAccount *struct{ Name string }
}

// Every mutation payload's key resolves its edges once the transaction that
// wrote it has committed: the user or service account owning it, its tenant.
func TestAPIKeyMutationPayloadsResolveEdgesAfterCommit(t *testing.T) {
	t.Parallel()
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		ten := register(t, e, "Acme")
		const edges = `id status user { email } tenant { name } serviceAccount { name }`
		check := func(what string, k apiKeyNode, id uuid.UUID, email, account string) {
			t.Helper()
			if id != uuid.Nil && k.ID != id {
				t.Fatalf("%s: key %v, want %v", what, k.ID, id)
			}
			if k.Tenant == nil || k.Tenant.Name != ten.Name {
				t.Fatalf("%s: tenant %+v, want %q", what, k.Tenant, ten.Name)
			}
			switch {
			case email != "" && (k.User == nil || k.User.Email != email || k.ServiceAccount != nil):
				t.Fatalf("%s: user %+v service account %+v, want the user %q", what, k.User, k.ServiceAccount, email)
			case account != "" && (k.ServiceAccount == nil || k.ServiceAccount.Name != account || k.User != nil):
				t.Fatalf("%s: user %+v service account %+v, want the account %q", what, k.User, k.ServiceAccount, account)
			}
		}
		payloads := func(input map[string]any, email, account string) {
			t.Helper()
			var c struct {
				CreateAPIKey struct {
					Key    string
					APIKey apiKeyNode
				}
			}
			gql(t, e, ten.AccessToken, `mutation($in: CreateAPIKeyInput!) { createAPIKey(input: $in) { key apiKey { `+edges+` } } }`,
				map[string]any{"in": input}, &c)
			id := c.CreateAPIKey.APIKey.ID
			check("createAPIKey", c.CreateAPIKey.APIKey, uuid.Nil, email, account)

			var r struct {
				RotateAPIKey struct {
					Key    string
					APIKey apiKeyNode
				}
			}
			gql(t, e, ten.AccessToken, `mutation($id: ID!) { rotateAPIKey(id: $id, input: {gracePeriodSeconds: 60}) { key apiKey { `+edges+` } } }`,
				map[string]any{"id": id}, &r)
			check("rotateAPIKey", r.RotateAPIKey.APIKey, id, email, account)

			var v struct{ RevokeAPIKey apiKeyNode }
			gql(t, e, ten.AccessToken, `mutation($id: ID!) { revokeAPIKey(id: $id) { `+edges+` } }`, map[string]any{"id": id}, &v)
			check("revokeAPIKey", v.RevokeAPIKey, id, email, account)
			if v.RevokeAPIKey.Status != "revoked" {
				t.Fatalf("revokeAPIKey: status %q", v.RevokeAPIKey.Status)
			}
		}

		payloads(map[string]any{"name": "mine"}, ten.Email, "")

		var sa struct {
			ServiceAccount struct{ ID uuid.UUID } `json:"service_account"`
		}
		wantOK(t, do(e, http.MethodPost, "/api/v1/admin/service-account/create", ten.AccessToken,
			map[string]any{"name": "ci-bot", "scopes": []string{"api_keys:read"}}), http.StatusCreated, &sa)
		payloads(map[string]any{"name": "the bot's", "serviceAccountID": sa.ServiceAccount.ID, "scopes": []string{"api_keys:read"}}, "", "ci-bot")
	})
}
