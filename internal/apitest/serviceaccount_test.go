package apitest_test

// Service accounts over real HTTP, on SQLite and PostgreSQL: creation with
// and without a first API key, what the database keeps of that key, the
// audit trail, validation, and the GraphQL connection.

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/credvault/credvault/ent/apikey"
	"github.com/credvault/credvault/ent/auditlog"
	"github.com/credvault/credvault/ent/serviceaccount"
	"github.com/credvault/credvault/internal/access"
	"github.com/credvault/credvault/internal/apitest"
)

type serviceAccountJSON struct {
	ID          string   `json:"id"`
	TenantID    string   `json:"tenant_id"`
	Name        string   `json:"name"`
	Description string   `json:"description"`
	Scopes      []string `json:"scopes"`
	Status      string   `json:"status"`
	CreatedBy   *string  `json:"created_by"`
}

type createdKeyJSON struct {
	ID               string   `json:"id"`
	TenantID         string   `json:"tenant_id"`
	Name             string   `json:"name"`
	Key              string   `json:"key"`
	Prefix           string   `json:"prefix"`
	Scopes           []string `json:"scopes"`
	Status           string   `json:"status"`
	ServiceAccountID *string  `json:"service_account_id"`
	UserID           *string  `json:"user_id"`
}

// expectNoSecretStored fails when key, or its part after the display
// prefix, appears in any column of the API-key or audit tables.
func expectNoSecretStored(t *testing.T, e *apitest.Env, key string) {
	t.Helper()
	rest := key[len("cvk_")+8:]
	found, _ := scanDB(t, e, []string{key, rest}, apikey.Table, auditlog.Table, serviceaccount.Table)
	for _, where := range found {
		t.Fatalf("%v stores the API key %s in plaintext", where, short(key))
	}
}

func TestServiceAccountCreate(t *testing.T) {
	t.Parallel()
	apitest.Each(t, func(t *testing.T, e *apitest.Env) {
		o := register(t, e, "Robots", ownedBy("owner@robots.test"))
		tid := uid(t, o.Tenant.ID)
		scopes := []string{access.CredentialsRead, access.APIKeysRead, access.UsersRead}

		// Without a key.
		r := do(e, http.MethodPost, "/api/v1/admin/service-account/create", o.AccessToken, map[string]any{
			"name": "ci-bot", "description": "runs CI", "scopes": scopes})

		wantStatus(t, r, http.StatusCreated)
		var plain map[string]json.RawMessage
		r.Data(t, &plain)
		if _, ok := plain["api_key"]; ok {
			t.Fatalf("an api_key came back though none was asked for: %s", redact(r.Body))
		}
		var sa serviceAccountJSON
		if err := json.Unmarshal(plain["service_account"], &sa); err != nil {
			t.Fatal(err)
		}
		if sa.Name != "ci-bot" || sa.Description != "runs CI" || sa.Status != "active" || sa.TenantID != o.Tenant.ID ||
			sa.CreatedBy == nil || *sa.CreatedBy != o.User.ID || !slices.Equal(sorted(sa.Scopes), sorted(scopes)) {
			t.Fatalf("service account %+v", sa)
		}
		row, err := e.Store.Client.ServiceAccount.Get(unrestricted(), uid(t, sa.ID))
		if err != nil || row.TenantID != tid || !slices.Equal(sorted(row.Scopes), sorted(scopes)) {
			t.Fatalf("service account row: %v", err)
		}
		if n, err := e.Store.Client.APIKey.Query().Count(unrestricted()); err != nil || n != 0 {
			t.Fatalf("%d API keys after a create without one (%v)", n, err)
		}
		a := oneAudit(t, e, tid, "service_account.create", auditlog.OutcomeSuccess, "")
		if a.ResourceID != sa.ID || a.ActorID != o.User.ID || a.ResourceType != "service_account" || a.Details["name"] != "ci-bot" {
			t.Fatalf("service_account.create audit: resource %s:%s actor %s details %v", a.ResourceType, a.ResourceID, a.ActorID, a.Details)
		}

		// create_api_key: false is the same as leaving it out.
		r = do(e, http.MethodPost, "/api/v1/admin/service-account/create", o.AccessToken, map[string]any{
			"name": "no-key", "scopes": []string{}, "create_api_key": false})

		wantStatus(t, r, http.StatusCreated)
		r.Data(t, &plain)
		if _, ok := plain["api_key"]; ok {
			t.Fatal("create_api_key false returned a key")
		}
		if err := json.Unmarshal(plain["service_account"], &sa); err != nil || sa.Scopes == nil || len(sa.Scopes) != 0 {
			t.Fatalf("service account without scopes: %s (%v)", plain["service_account"], err)
		}

		// With a key: shown once, cvk_ + base62, prefix = the 8 characters after cvk_.
		r = do(e, http.MethodPost, "/api/v1/admin/service-account/create", o.AccessToken, map[string]any{
			"name": "deployer", "scopes": []string{access.APIKeysRead}, "create_api_key": true})

		wantStatus(t, r, http.StatusCreated)
		var withKey struct {
			ServiceAccount serviceAccountJSON `json:"service_account"`
			APIKey         *createdKeyJSON    `json:"api_key"`
		}
		r.Data(t, &withKey)
		k := withKey.APIKey
		if k == nil || !strings.HasPrefix(k.Key, "cvk_") {
			t.Fatalf("create_api_key: no cvk_ key: %s", redact(r.Body))
		}
		if len(k.Key) < len("cvk_")+43 || strings.Trim(k.Key[4:], "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz") != "" {
			t.Fatalf("key %s is not cvk_ and at least 43 base62 characters", short(k.Key))
		}
		if k.Prefix != k.Key[4:12] {
			t.Fatalf("prefix %q is not the 8 characters after cvk_ of %s", k.Prefix, short(k.Key))
		}
		if k.ServiceAccountID == nil || *k.ServiceAccountID != withKey.ServiceAccount.ID || k.UserID != nil ||
			!slices.Equal(k.Scopes, []string{access.APIKeysRead}) || k.Status != "active" || k.TenantID != o.Tenant.ID {
			t.Fatalf("key belongs to sa %v user %v, scopes %v, status %s", k.ServiceAccountID, k.UserID, k.Scopes, k.Status)
		}
		// The database keeps a hash, never the key.
		krow, err := e.Store.Client.APIKey.Get(unrestricted(), uid(t, k.ID))
		if err != nil {
			t.Fatal(err)
		}
		if len(krow.KeyHash) == 0 || string(krow.KeyHash) == k.Key || strings.Contains(string(krow.KeyHash), k.Key[4:]) ||
			krow.Prefix != k.Prefix || krow.ServiceAccountID == nil || krow.ServiceAccountID.String() != withKey.ServiceAccount.ID {
			t.Fatal("the api_keys row is not a hash of the key owned by the service account")
		}
		expectNoSecretStored(t, e, k.Key)
		ka := oneAudit(t, e, tid, "api_key.create", auditlog.OutcomeSuccess, "")
		if ka.ResourceID != k.ID || ka.Details["prefix"] != k.Prefix {
			t.Fatalf("api_key.create audit resource %s details %v", ka.ResourceID, ka.Details)
		}
		if n := len(auditEntries(t, e, tid, "service_account.create", "")); n != 3 {
			t.Fatalf("%d service_account.create entries, want 3", n)
		}

		// Validation names the field and creates nothing.
		for _, c := range []struct {
			body          map[string]any
			field, reason string
		}{
			{map[string]any{"scopes": []string{}}, "name", "required"},
			{map[string]any{"name": "   ", "scopes": []string{}}, "name", "required"},
			{map[string]any{"name": "x", "scopes": []string{"users:destroy"}}, "scopes", "unknown"},
			{map[string]any{"name": "x", "scopes": "users:read"}, "scopes", "must be an array"},
			{map[string]any{"name": "x", "scopes": []string{}, "owner": "me"}, "owner", "unknown"},
		} {
			r = do(e, http.MethodPost, "/api/v1/admin/service-account/create", o.AccessToken, c.body)
			wantError(t, r, http.StatusUnprocessableEntity, "VALIDATION_ERROR", "field", c.field, "reason", c.reason)
		}
		if n, err := e.Store.Client.ServiceAccount.Query().Count(unrestricted()); err != nil || n != 3 {
			t.Fatalf("%d service accounts after refused creates (%v), want 3", n, err)
		}
		// Anonymous: 401.
		wantUnauthorized(t, do(e, http.MethodPost, "/api/v1/admin/service-account/create", "", map[string]any{"name": "x", "scopes": []string{}}), "missing")
	})
}

func TestServiceAccountsGraphQL(t *testing.T) {
	t.Parallel()
	apitest.Each(t, func(t *testing.T, e *apitest.Env) {
		o := register(t, e, "GraphRobots", ownedBy("owner@grobots.test"))
		other := register(t, e, "Elsewhere", ownedBy("owner@elsewhere.test"))
		tid := uid(t, o.Tenant.ID)
		r := do(e, http.MethodPost, "/api/v1/admin/service-account/create", o.AccessToken, map[string]any{"name": "rest-bot", "scopes": []string{access.UsersRead}})
		wantStatus(t, r, http.StatusCreated)

		var out struct {
			CreateServiceAccount struct {
				ServiceAccount struct {
					ID       string   `json:"id"`
					TenantID string   `json:"tenantID"`
					Name     string   `json:"name"`
					Scopes   []string `json:"scopes"`
				} `json:"serviceAccount"`
				APIKey *struct {
					Key    string `json:"key"`
					APIKey struct {
						ID               string `json:"id"`
						Prefix           string `json:"prefix"`
						ServiceAccountID string `json:"serviceAccountID"`
					} `json:"apiKey"`
				} `json:"apiKey"`
			} `json:"createServiceAccount"`
		}
		e.GraphQL(`mutation($in: CreateServiceAccountInput!) { createServiceAccount(input: $in) {
			serviceAccount { id tenantID name scopes } apiKey { key apiKey { id prefix serviceAccountID } } } }`,
			map[string]any{"in": map[string]any{"name": "gql-bot", "description": "from GraphQL",
				"scopes": []string{access.CredentialsRead, access.AuditRead}, "createAPIKey": true}}, o.AccessToken).Decode(t, &out)
		c := out.CreateServiceAccount
		if c.ServiceAccount.Name != "gql-bot" || c.ServiceAccount.TenantID != o.Tenant.ID ||
			!slices.Equal(sorted(c.ServiceAccount.Scopes), []string{access.AuditRead, access.CredentialsRead}) {
			t.Fatalf("GraphQL createServiceAccount: %+v", c.ServiceAccount)
		}
		if c.APIKey == nil || !strings.HasPrefix(c.APIKey.Key, "cvk_") || c.APIKey.APIKey.Prefix != c.APIKey.Key[4:12] ||
			c.APIKey.APIKey.ServiceAccountID != c.ServiceAccount.ID {
			t.Fatal("GraphQL createServiceAccount: no key, or one not owned by the account or with a wrong prefix")
		}
		expectNoSecretStored(t, e, c.APIKey.Key)
		sa := oneAudit(t, e, tid, "service_account.create", "", c.ServiceAccount.ID)
		if sa.ActorID != o.User.ID {
			t.Fatalf("service_account.create actor %s", sa.ActorID)
		}
		// Without createAPIKey the payload's apiKey is null.
		var noKey struct {
			CreateServiceAccount struct {
				APIKey *struct {
					Key string `json:"key"`
				} `json:"apiKey"`
			} `json:"createServiceAccount"`
		}
		e.GraphQL(`mutation { createServiceAccount(input: {name: "quiet", scopes: []}) { apiKey { key } } }`, nil, o.AccessToken).Decode(t, &noKey)
		if noKey.CreateServiceAccount.APIKey != nil {
			t.Fatal("createServiceAccount without createAPIKey returned a key")
		}

		// The connection lists all three, with the key under the account that owns it.
		var list struct {
			ServiceAccounts struct {
				TotalCount int `json:"totalCount"`
				Edges      []struct {
					Node struct {
						ID      string `json:"id"`
						Name    string `json:"name"`
						APIKeys struct {
							TotalCount int `json:"totalCount"`
							Edges      []struct {
								Node struct {
									Prefix string `json:"prefix"`
								} `json:"node"`
							} `json:"edges"`
						} `json:"apiKeys"`
					} `json:"node"`
				} `json:"edges"`
			} `json:"serviceAccounts"`
		}
		e.GraphQL(`query { serviceAccounts(orderBy: {field: NAME, direction: ASC}) { totalCount edges { node { id name apiKeys { totalCount edges { node { prefix } } } } } } }`,
			nil, o.AccessToken).Decode(t, &list)
		var names []string
		for _, ed := range list.ServiceAccounts.Edges {
			names = append(names, ed.Node.Name)
			keys := ed.Node.APIKeys
			if ed.Node.ID == c.ServiceAccount.ID {
				if keys.TotalCount != 1 || keys.Edges[0].Node.Prefix != c.APIKey.APIKey.Prefix {
					t.Fatalf("gql-bot's keys: %+v", keys)
				}
			} else if keys.TotalCount != 0 {
				t.Fatalf("%s has %d keys, want 0", ed.Node.Name, keys.TotalCount)
			}
		}
		if list.ServiceAccounts.TotalCount != 3 || !slices.Equal(names, []string{"gql-bot", "quiet", "rest-bot"}) {
			t.Fatalf("serviceAccounts: total %d, names %v", list.ServiceAccounts.TotalCount, names)
		}
		// Another tenant sees none of them.
		var empty struct {
			ServiceAccounts struct {
				TotalCount int `json:"totalCount"`
			} `json:"serviceAccounts"`
		}
		e.GraphQL(`query { serviceAccounts { totalCount } }`, nil, other.AccessToken).Decode(t, &empty)
		if empty.ServiceAccounts.TotalCount != 0 {
			t.Fatalf("another tenant sees %d service accounts", empty.ServiceAccounts.TotalCount)
		}
		// Validation through GraphQL.
		wantGQLError(t, e.GraphQL(`mutation { createServiceAccount(input: {name: "", scopes: []}) { serviceAccount { id } } }`, nil, o.AccessToken),
			"VALIDATION_ERROR", "field", "name")
		wantGQLError(t, e.GraphQL(`mutation { createServiceAccount(input: {name: "x", scopes: ["nope"]}) { serviceAccount { id } } }`, nil, o.AccessToken),
			"VALIDATION_ERROR", "field", "scopes")
		wantGQLError(t, e.GraphQL(`query { serviceAccounts { totalCount } }`, nil, ""), "UNAUTHORIZED", "reason", "missing")
	})
}
