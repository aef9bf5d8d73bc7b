package apitest_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/ent/apikey"
	"github.com/credvault/credvault/ent/user"
	"github.com/credvault/credvault/internal/access"
	"github.com/credvault/credvault/internal/apitest"
	"github.com/credvault/credvault/internal/platform/store/storetest"
)

// nestedQuery is SPEC §10's two-level query: users, and each user's keys
// with an edge back to the user and the tenant.
const nestedQuery = `{ users(first: 50) { totalCount edges { node { id email
  apiKeys(first: 50) { totalCount edges { node { id name prefix user { id } tenant { id } } } } } } } }`

// seedUsersWithKeys adds users to the tenant until it has n, each with n
// keys, straight through ent (HTTP would take minutes for 2,500 keys).
func seedUsersWithKeys(t *testing.T, e *apitest.Env, tenantID uuid.UUID, n int) {
	t.Helper()
	ctx := access.NewContext(context.Background(), access.System(tenantID))
	c := e.Store.Client
	have, err := c.User.Query().Count(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for i := have; i < n; i++ {
		if _, err := c.User.Create().SetEmail(fmt.Sprintf("seed-%d-%s@example.test", i, randTag())).SetRole(user.RoleMember).Save(ctx); err != nil {
			t.Fatal(err)
		}
	}
	users, err := c.User.Query().All(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, u := range users {
		keys, err := c.APIKey.Query().Where(apikey.UserID(u.ID)).Count(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var bulk []*ent.APIKeyCreate
		for j := keys; j < n; j++ {
			hash := uuid.New()
			bulk = append(bulk, c.APIKey.Create().SetName(fmt.Sprintf("seed %d", j)).SetPrefix("seedseed").
				SetKeyHash(hash[:]).SetUserID(u.ID).SetScopes([]string{access.APIKeysRead}))
		}
		if len(bulk) > 0 {
			if err := c.APIKey.CreateBulk(bulk...).Exec(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// statementsOf sends one request with its own request id and returns how
// many SQL statements it cost.
func statementsOf(t *testing.T, st *storetest.Statements, send func(h map[string]string)) (int, []string) {
	t.Helper()
	id := "count-" + uuid.NewString()
	send(map[string]string{"X-Request-ID": id})
	return st.Of(id)
}

// TestStatementCounts: the §10 nested query and every list cost a fixed
// number of SQL statements, whatever their row count (no N+1): measured
// with 5 × 5 rows, then with 50 × 50.
func TestStatementCounts(t *testing.T) {
	for _, backend := range storetest.Backends() {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			st := storetest.Open(t, backend)
			counter := storetest.CountStatements(st)
			e := apitest.New(t, st)
			tn := register(t, e, "Statements")
			cred := tn.AccessToken

			gqlLists := map[string]string{
				"nested":          nestedQuery,
				"apiKeys":         `{ apiKeys(first: 50) { totalCount pageInfo { hasNextPage endCursor } edges { node { id name status user { id email } } } } }`,
				"users":           `{ users(first: 50) { totalCount edges { node { id email role } } } }`,
				"auditLogs":       `{ auditLogs(first: 50) { totalCount edges { node { id action tenant { id } } } } }`,
				"tenant edges":    `{ me { tenant { users(first: 50) { totalCount edges { node { id } } } apiKeys(first: 50) { totalCount edges { node { id } } } } } }`,
				"serviceAccounts": `{ serviceAccounts(first: 50) { totalCount edges { node { id apiKeys(first: 50) { totalCount } } } } }`,
			}
			// limit=1: a page that ends its list costs fewer statements
			// (nothing left to count) than a full one; every non-empty list
			// is full at 1 in both measurements.
			restLists := []string{"/api/v1/api-keys?limit=1", "/api/v1/admin/users?limit=1", "/api/v1/admin/audit-logs?limit=1",
				"/api/v1/oauth-clients?limit=1", "/api/v1/credentials?limit=1"}

			// A connection's page that holds its whole list is not counted
			// (paging.Connection), so the statements that count, as far as
			// the bound, are left out of the comparison.
			measure := func() map[string]int {
				out := map[string]int{}
				for name, q := range gqlLists {
					n, stmts := statementsOf(t, counter, func(h map[string]string) {
						g := e.GraphQL(q, nil, cred, h)
						if len(g.Errors) > 0 {
							t.Fatalf("%s: %s", name, showGQL(g))
						}
					})
					if n > maxStatementsPerRequest {
						t.Errorf("graphql %s: %d statements, more than %d", name, n, maxStatementsPerRequest)
					}
					for _, s := range stmts {
						if isBoundedCount(s) {
							n--
						}
					}
					out["graphql "+name] = n
				}
				for _, path := range restLists {
					n, _ := statementsOf(t, counter, func(h map[string]string) {
						wantStatus(t, do(e, http.MethodGet, path, cred, nil, h), http.StatusOK)
					})
					out["GET "+path] = n
				}
				return out
			}
			seedUsersWithKeys(t, e, tn.TenantID, 5)
			measure() // warms the caches (the tenant of me): rows are compared, not first reads
			small := measure()
			seedUsersWithKeys(t, e, tn.TenantID, 50)
			large := measure()
			for name, n := range small {
				if large[name] != n {
					t.Errorf("%s: %d statements over 5 × 5 rows, %d over 50 × 50: it grows with the rows", name, n, large[name])
				}
				if n > maxStatementsPerRequest {
					t.Errorf("%s: %d statements, more than %d", name, n, maxStatementsPerRequest)
				}
			}
			t.Logf("statements per request (50 × 50 rows): %s", statementCounts(large))
		})
	}
}

// maxStatementsPerRequest bounds a list or nested query: authentication,
// a count and a page per level, the edges' eager loads.
const maxStatementsPerRequest = 12

func statementCounts(m map[string]int) string {
	var parts []string
	for k, v := range m {
		parts = append(parts, fmt.Sprintf("%s=%d", k, v))
	}
	return strings.Join(parts, ", ")
}
