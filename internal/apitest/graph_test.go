package apitest_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/credvault/credvault/ent/auditlog"
	"github.com/credvault/credvault/internal/access"
	"github.com/credvault/credvault/internal/apitest"
)

// edgesQuery walks every §10 edge from me: the tenant's lists, each row's
// own edges, and back to the tenant.
const edgesQuery = `{
  me { tenant {
    id name
    stats { tenantID requestsLast24h }
    users(first: 10) { totalCount edges { node { id email
      apiKeys(first: 10) { totalCount edges { node { id } } }
      auditLogs(first: 10) { totalCount edges { node { id action actorID tenant { id } } } } } } }
    serviceAccounts(first: 10) { totalCount edges { node { id apiKeys(first: 10) { totalCount edges { node { id } } } } } }
    apiKeys(first: 10) { totalCount edges { node { id tenant { id } user { id } auditLogs(first: 10) { totalCount } } } }
    oauthClients(first: 10) { totalCount edges { node { id tenant { id } auditLogs(first: 10) { totalCount } } } }
    credentials(first: 10) { totalCount edges { node { id tenant { id } auditLogs(first: 10) { totalCount } } } }
    auditLogs(first: 50) { totalCount edges { node { id tenant { id } } } }
  } }
}`

type count struct {
	TotalCount int `json:"totalCount"`
	Edges      []struct {
		Node struct {
			ID       string  `json:"id"`
			Email    string  `json:"email"`
			Action   string  `json:"action"`
			ActorID  string  `json:"actorID"`
			Tenant   *idOnly `json:"tenant"`
			User     *idOnly `json:"user"`
			APIKeys  *count  `json:"apiKeys"`
			Audit    *count  `json:"auditLogs"`
			Resource *idOnly `json:"resource"`
		} `json:"node"`
	} `json:"edges"`
}

type idOnly struct {
	ID string `json:"id"`
}

type edgesJSON struct {
	Me struct {
		Tenant struct {
			ID    string `json:"id"`
			Name  string `json:"name"`
			Stats struct {
				TenantID string `json:"tenantID"`
			} `json:"stats"`
			Users           count `json:"users"`
			ServiceAccounts count `json:"serviceAccounts"`
			APIKeys         count `json:"apiKeys"`
			OAuthClients    count `json:"oauthClients"`
			Credentials     count `json:"credentials"`
			AuditLogs       count `json:"auditLogs"`
		} `json:"tenant"`
	} `json:"me"`
}

// graphFixture fills a tenant with one of everything the graph shows: a
// user with a key, a service account with a key, a client, a credential.
func graphFixture(t *testing.T, e *apitest.Env, name string) *tenantFixture {
	t.Helper()
	tn := register(t, e, name)
	tn.key(t)
	wantStatus(t, do(e, http.MethodPost, "/api/v1/admin/service-account/create", tn.AccessToken,
		map[string]any{"name": "robot", "scopes": []string{access.APIKeysRead}, "create_api_key": true}), http.StatusCreated)
	tn.createClient(t, map[string]any{"name": "app", "scopes": []string{access.APIKeysRead}})
	wantStatus(t, do(e, http.MethodPost, "/api/v1/credentials", tn.AccessToken, map[string]any{
		"integration_id": "stripe", "auth_type": "api_key", "data": map[string]any{"api_key": "sk_test_graph"}}), http.StatusCreated)
	return tn
}

// TestGraphEdges follows every edge of SPEC §10 from me, and checks that each
// stays in the caller's tenant: another tenant's rows never appear.
func TestGraphEdges(t *testing.T) {
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		a := graphFixture(t, e, "Edges A")
		b := graphFixture(t, e, "Edges B")
		for _, tn := range []*tenantFixture{a, b} {
			var got edgesJSON
			gql(t, e, tn.AccessToken, edgesQuery, nil, &got)
			ten := got.Me.Tenant
			if ten.ID != tn.TenantID.String() || ten.Stats.TenantID != ten.ID {
				t.Fatalf("me.tenant %s (stats %s), want %s", ten.ID, ten.Stats.TenantID, tn.TenantID)
			}
			if ten.Users.TotalCount != 1 || ten.APIKeys.TotalCount != 2 || ten.ServiceAccounts.TotalCount != 1 ||
				ten.OAuthClients.TotalCount != 1 || ten.Credentials.TotalCount != 1 {
				t.Fatalf("tenant %s counts: users %d, keys %d, service accounts %d, clients %d, credentials %d; want 1, 2, 1, 1, 1",
					tn.Name, ten.Users.TotalCount, ten.APIKeys.TotalCount, ten.ServiceAccounts.TotalCount,
					ten.OAuthClients.TotalCount, ten.Credentials.TotalCount)
			}
			owner := ten.Users.Edges[0].Node
			if owner.ID != tn.UserID.String() || owner.APIKeys.TotalCount != 1 {
				t.Fatalf("the owner %s has %d keys through User.apiKeys, want the owner %s with 1", owner.ID, owner.APIKeys.TotalCount, tn.UserID)
			}
			if owner.Audit.TotalCount == 0 {
				t.Fatal("User.auditLogs is empty: the owner registered and created things")
			}
			for _, a := range owner.Audit.Edges {
				if a.Node.ActorID != tn.UserID.String() || a.Node.Tenant.ID != ten.ID {
					t.Fatalf("User.auditLogs holds an entry by %s in tenant %s", a.Node.ActorID, a.Node.Tenant.ID)
				}
			}
			if sa := ten.ServiceAccounts.Edges[0].Node; sa.APIKeys.TotalCount != 1 {
				t.Fatalf("ServiceAccount.apiKeys has %d keys, want 1", sa.APIKeys.TotalCount)
			}
			for _, list := range []count{ten.APIKeys, ten.OAuthClients, ten.Credentials, ten.AuditLogs} {
				for _, n := range list.Edges {
					if n.Node.Tenant == nil || n.Node.Tenant.ID != ten.ID {
						t.Fatalf("a row of tenant %s leads to tenant %v", ten.ID, n.Node.Tenant)
					}
				}
			}
			for _, list := range []count{ten.APIKeys, ten.OAuthClients, ten.Credentials} {
				if list.Edges[0].Node.Audit.TotalCount == 0 {
					t.Fatalf("the auditLogs edge of %s is empty, want its create entry", list.Edges[0].Node.ID)
				}
			}
		}
	})
}

// TestGraphEdgesObeyTheirScopes: an edge needs the scope of the root list of
// the type it leads to; refused, it is a FORBIDDEN error on that field and
// no data, audited once per operation.
func TestGraphEdgesObeyTheirScopes(t *testing.T) {
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		tn := graphFixture(t, e, "Edge scopes")
		keysOnly := tn.key(t, access.APIKeysRead).Key
		// A refused edge that is non-null in the schema nulls its row, as
		// GraphQL propagates null; the error stays on the edge.
		cases := []struct {
			query, field string
			scope        access.Scope
			nonNull      bool
		}{
			{`{ apiKeys(first: 10) { edges { node { id user { email role } } } } }`, "user", access.UsersRead, false},
			{`{ apiKeys(first: 10) { edges { node { id tenant { name plan } } } } }`, "tenant", access.TenantRead, true},
			{`{ apiKeys(first: 10) { edges { node { id auditLogs { totalCount } } } } }`, "auditLogs", access.AuditRead, true},
			{`{ apiKeys(first: 10) { edges { node { id serviceAccount { name scopes } } } } }`, "serviceAccount", access.ServiceAccountsRead, false},
		}
		for _, c := range cases {
			before := len(auditEntries(t, e, tn.TenantID, "permission.denied", ""))
			g := gqlDo(e, keysOnly, c.query, nil)
			wantGQLError(t, g, "FORBIDDEN", "required_scope", c.scope)
			for _, er := range g.Errors {
				if last := er.Path[len(er.Path)-1]; last != c.field || er.Extensions["code"] != "FORBIDDEN" {
					t.Fatalf("%s: error at %v (%v), want FORBIDDEN at …%s", c.field, er.Path, er.Extensions["code"], c.field)
				}
			}
			var data struct {
				APIKeys struct {
					Edges []struct {
						Node map[string]any `json:"node"`
					} `json:"edges"`
				} `json:"apiKeys"`
			}
			if err := json.Unmarshal(g.Data, &data); err != nil {
				t.Fatal(err)
			}
			for _, n := range data.APIKeys.Edges {
				if c.nonNull {
					if n.Node != nil {
						t.Fatalf("%s: a row whose non-null edge was refused still shows: %v", c.field, n.Node)
					}
					continue
				}
				if n.Node["id"] == nil {
					t.Fatalf("%s: the key's own fields are gone: %s", c.field, redact(g.Data))
				}
				if v, ok := n.Node[c.field]; ok && v != nil {
					t.Fatalf("%s: refused edge carries data %v", c.field, v)
				}
			}
			denied := auditEntries(t, e, tn.TenantID, "permission.denied", "")
			if len(denied) != before+1 || fmt.Sprint(denied[len(denied)-1].Details["required_scope"]) != c.scope ||
				denied[len(denied)-1].Outcome != auditlog.OutcomeDenied {
				t.Fatalf("%s: %d new permission.denied entries, want 1 naming %s", c.field, len(denied)-before, c.scope)
			}
		}

		// The same key with users:read too reads the user edge.
		both := tn.key(t, access.APIKeysRead, access.UsersRead).Key
		var ok struct {
			APIKeys struct {
				Edges []struct {
					Node struct {
						User *struct{ Email string } `json:"user"`
					} `json:"node"`
				} `json:"edges"`
			} `json:"apiKeys"`
		}
		gql(t, e, both, cases[0].query, nil, &ok)
		emails := 0
		for _, n := range ok.APIKeys.Edges {
			if n.Node.User != nil && strings.Contains(n.Node.User.Email, "@") {
				emails++
			}
		}
		if emails == 0 {
			t.Fatal("with users:read the user edge shows no user")
		}

		// Tenant edges: a viewer holds every :read scope but credentials:decrypt.
		viewer := tn.user(t, "viewer")
		var seen edgesJSON
		gql(t, e, viewer.AccessToken, edgesQuery, nil, &seen)
		if seen.Me.Tenant.APIKeys.TotalCount != 4 {
			t.Fatalf("a viewer sees %d keys through the tenant, want the 4 created", seen.Me.Tenant.APIKeys.TotalCount)
		}
		// A service account's key with only api_keys:read reaches no tenant list.
		g := gqlDo(e, keysOnly, `{ me { tenant { id users { totalCount } } } }`, nil)
		wantGQLError(t, g, "FORBIDDEN", "required_scope", access.UsersRead)
	})
}
