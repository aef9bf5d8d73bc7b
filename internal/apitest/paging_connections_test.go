package apitest_test

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/credvault/credvault/internal/apitest"
)

// nullsRow is a row of a list ordered by a field that may be NULL.
type nullsRow struct {
	ID    string
	Value *time.Time
}

// TestPagesOfAFieldThatMayBeNull: a list ordered by a field that may be
// NULL (a credential's or key's expiry, a key's last use) pages through
// every row, forward and backward, in GraphQL connections (root and nested)
// and REST cursors alike, and both databases order it the same way: NULL
// as the largest value, last ascending and first descending. entgql's
// cursors compared the field alone, so a page after the last dated row
// ended the list, a page after an undated one skipped the rows past it,
// and SQLite placed NULL first where PostgreSQL placed it last.
func TestPagesOfAFieldThatMayBeNull(t *testing.T) {
	t.Parallel()
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		tn := register(t, e, "Nulls")
		soon := time.Now().Add(48 * time.Hour).UTC().Truncate(time.Second)
		for i := range 9 {
			// Three undated, and two dates shared by three rows each: ties
			// order by id.
			cred := map[string]any{"integration_id": "nulls", "auth_type": "api_key", "data": map[string]any{"api_key": "sk_nulls"}}
			key := map[string]any{"name": fmt.Sprintf("nulls %d", i), "scopes": []string{"api_keys:read"}}
			if i%3 != 0 {
				at := soon.Add(time.Duration(i%2) * time.Hour).Format(time.RFC3339)
				cred["expires_at"], key["expires_at"] = at, at
			}
			wantStatus(t, do(e, http.MethodPost, "/api/v1/credentials", tn.AccessToken, cred), http.StatusCreated)
			createKey(t, e, tn.AccessToken, key)
		}
		lists := []struct {
			name, query, field, rest string
			path                     []string
		}{
			{"credentials", `credentials(%s) { %s }`, "EXPIRES_AT", "/api/v1/credentials?sort=expires_at", []string{"credentials"}},
			{"apiKeys", `apiKeys(%s) { %s }`, "EXPIRES_AT", "/api/v1/api-keys?sort=expires_at", []string{"apiKeys"}},
			{"apiKeys by last use", `apiKeys(%s) { %s }`, "LAST_USED_AT", "", []string{"apiKeys"}},
			{"me.tenant.apiKeys", `me { tenant { apiKeys(%s) { %s } } }`, "EXPIRES_AT", "", []string{"me", "tenant", "apiKeys"}},
			// Loaded with their parents, a row number per parent in the order.
			{"users.apiKeys", `users(first: 1) { edges { node { apiKeys(%s) { %s } } } }`, "EXPIRES_AT", "",
				[]string{"users", "edges", "0", "node", "apiKeys"}},
		}
		value := map[string]string{"EXPIRES_AT": "expiresAt", "LAST_USED_AT": "lastUsedAt"}
		for _, l := range lists {
			for _, dir := range []string{"ASC", "DESC"} {
				page := func(t *testing.T, args string) (rows []nullsRow, info map[string]any) {
					t.Helper()
					sel := "edges { node { id " + value[l.field] + " } } pageInfo { hasNextPage hasPreviousPage startCursor endCursor }"
					q := "query { " + fmt.Sprintf(l.query, args+fmt.Sprintf(" orderBy: {field: %s, direction: %s}", l.field, dir), sel) + " }"
					var data map[string]any
					gql(t, e, tn.AccessToken, q, nil, &data)
					conn := any(data)
					conn = at(t, conn, l.path...)
					var c struct {
						Edges    []struct{ Node map[string]any }
						PageInfo map[string]any
					}
					b, _ := json.Marshal(conn)
					if err := json.Unmarshal(b, &c); err != nil {
						t.Fatal(err)
					}
					for _, ed := range c.Edges {
						r := nullsRow{ID: ed.Node["id"].(string)}
						if v, ok := ed.Node[value[l.field]].(string); ok {
							at, err := time.Parse(time.RFC3339, v)
							if err != nil {
								t.Fatal(err)
							}
							r.Value = &at
						}
						rows = append(rows, r)
					}
					return rows, c.PageInfo
				}
				t.Run(l.name+" "+l.field+" "+dir, func(t *testing.T) {
					all, _ := page(t, "first: 100")
					if len(all) != 9 && l.name == "credentials" || len(all) < 9 {
						t.Fatalf("%d rows, want the 9 made (the owner's keys besides)", len(all))
					}
					wantNullsLargest(t, all, dir == "DESC")
					for _, n := range []int{1, 2, 4} {
						var fwd []nullsRow
						args := fmt.Sprintf("first: %d", n)
						for range len(all) + 1 {
							rows, info := page(t, args)
							fwd = append(fwd, rows...)
							if info["hasNextPage"] != true {
								break
							}
							args = fmt.Sprintf("first: %d, after: %q", n, info["endCursor"])
						}
						var bwd []nullsRow
						args = fmt.Sprintf("last: %d", n)
						for range len(all) + 1 {
							rows, info := page(t, args)
							bwd = append(rows, bwd...)
							if info["hasPreviousPage"] != true {
								break
							}
							args = fmt.Sprintf("last: %d, before: %q", n, info["startCursor"])
						}
						if !slices.Equal(ids(fwd), ids(all)) || !slices.Equal(ids(bwd), ids(all)) {
							t.Errorf("pages of %d: forward %v, backward %v, want %v", n, ids(fwd), ids(bwd), ids(all))
						}
					}
					if l.rest == "" {
						return
					}
					// REST pages its cursors in the same order.
					var walked []string
					q := l.rest + "&limit=2&order=" + strings.ToLower(dir)
					for range len(all) + 1 {
						var items []struct{ ID string }
						p := listPage(t, e, tn.AccessToken, q, &items)
						for _, it := range items {
							walked = append(walked, it.ID)
						}
						next, _ := p["next_cursor"].(string)
						if next == "" {
							break
						}
						q = strings.SplitN(l.rest, "?", 2)[0] + "?limit=2&cursor=" + url.QueryEscape(next)
					}
					if !slices.Equal(walked, ids(all)) {
						t.Errorf("REST walked %v, GraphQL %v", walked, ids(all))
					}
				})
			}
		}
	})
}

// wantNullsLargest checks rows are ordered by value then id, ascending or
// descending, NULL as the largest value.
func wantNullsLargest(t *testing.T, rows []nullsRow, desc bool) {
	t.Helper()
	less := func(a, b nullsRow) bool {
		switch {
		case a.Value == nil && b.Value == nil:
			return a.ID < b.ID
		case a.Value == nil || b.Value == nil:
			return b.Value == nil
		case !a.Value.Equal(*b.Value):
			return a.Value.Before(*b.Value)
		}
		return a.ID < b.ID
	}
	for i := 1; i < len(rows); i++ {
		a, b := rows[i-1], rows[i]
		if desc {
			a, b = b, a
		}
		if !less(a, b) {
			t.Fatalf("rows %d and %d out of order (%s): %v then %v", i-1, i, map[bool]string{true: "descending", false: "ascending"}[desc], show(rows[i-1]), show(rows[i]))
		}
	}
}

func show(r nullsRow) string {
	if r.Value == nil {
		return r.ID + " NULL"
	}
	return r.ID + " " + r.Value.Format(time.RFC3339)
}

func ids(rows []nullsRow) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		out[i] = r.ID
	}
	return out
}

// TestConnectionCursorsBoundTheirOwnSide: after and before bound a
// connection's rows by the order itself, whichever of first and last reads
// the page (the Relay rule: the rows between the cursors, then the first
// or last n of them). entgql took the direction the page is read in, so
// first with before answered rows after the cursor, and last with after
// rows before it.
func TestConnectionCursorsBoundTheirOwnSide(t *testing.T) {
	t.Parallel()
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		tn := register(t, e, "Sides")
		soon := time.Now().Add(48 * time.Hour).UTC().Truncate(time.Second)
		for i := range 6 {
			body := map[string]any{"integration_id": "sides", "auth_type": "api_key", "data": map[string]any{"api_key": "sk_sides"},
				"name": fmt.Sprintf("side %d", i%4)}
			if i%2 == 0 {
				body["expires_at"] = soon.Format(time.RFC3339)
			}
			wantStatus(t, do(e, http.MethodPost, "/api/v1/credentials", tn.AccessToken, body), http.StatusCreated)
			key := map[string]any{"name": body["name"], "scopes": []string{"api_keys:read"}}
			if at, ok := body["expires_at"]; ok {
				key["expires_at"] = at
			}
			createKey(t, e, tn.AccessToken, key)
		}
		read := func(t *testing.T, conn, args string) (ids, cursors []string) {
			t.Helper()
			q := `{ credentials(%s) { edges { cursor node { id } } } }`
			path := []string{"credentials"}
			if conn == "users.apiKeys" {
				q = `{ users(first: 1) { edges { node { apiKeys(%s) { edges { cursor node { id } } } } } } }`
				path = []string{"users", "edges", "0", "node", "apiKeys"}
			}
			var data any
			gql(t, e, tn.AccessToken, fmt.Sprintf(q, args), nil, &data)
			for _, ed := range at(t, data, append(path, "edges")...).([]any) {
				ed := ed.(map[string]any)
				ids, cursors = append(ids, at(t, ed, "node", "id").(string)), append(cursors, ed["cursor"].(string))
			}
			return ids, cursors
		}
		for _, c := range []struct{ conn, order string }{{"credentials", ""},
			{"credentials", "orderBy: {field: NAME, direction: ASC}"}, {"credentials", "orderBy: {field: NAME, direction: DESC}"},
			{"credentials", "orderBy: {field: EXPIRES_AT, direction: ASC}"}, {"credentials", "orderBy: {field: EXPIRES_AT, direction: DESC}"},
			{"users.apiKeys", "orderBy: {field: NAME, direction: ASC}"}, {"users.apiKeys", "orderBy: {field: EXPIRES_AT, direction: DESC}"}} {
			conn, order := c.conn, c.order
			t.Run(conn+" "+order, func(t *testing.T) {
				all, cursors := read(t, conn, "first: 10 "+order)
				if len(all) != 6 {
					t.Fatalf("%d rows, want 6", len(all))
				}
				for _, c := range []struct{ after, before int }{{1, -1}, {-1, 4}, {1, 4}, {0, 5}, {2, 3}} {
					args, lo, hi := order, 0, len(all)
					if c.after >= 0 {
						args, lo = args+fmt.Sprintf(" after: %q", cursors[c.after]), c.after+1
					}
					if c.before >= 0 {
						args, hi = args+fmt.Sprintf(" before: %q", cursors[c.before]), c.before
					}
					between := all[lo:hi]
					for _, n := range []int{2, 5} {
						got, _ := read(t, conn, fmt.Sprintf("first: %d %s", n, args))
						if want := between[:min(n, len(between))]; !slices.Equal(got, want) {
							t.Errorf("first %d, after %d, before %d: %v, want %v", n, c.after, c.before, got, want)
						}
						got, _ = read(t, conn, fmt.Sprintf("last: %d %s", n, args))
						if want := between[max(0, len(between)-n):]; !slices.Equal(got, want) {
							t.Errorf("last %d, after %d, before %d: %v, want %v", n, c.after, c.before, got, want)
						}
					}
				}
			})
		}
	})
}

// at is the value at path in decoded JSON: object keys, and "0" for an
// array's first item.
func at(t *testing.T, v any, path ...string) any {
	t.Helper()
	for _, p := range path {
		switch x := v.(type) {
		case map[string]any:
			v = x[p]
		case []any:
			if p != "0" || len(x) == 0 {
				t.Fatalf("no %s in %v", p, x)
			}
			v = x[0]
		default:
			t.Fatalf("no %s in %v", p, v)
		}
	}
	return v
}

// TestConnectionsNeverLoadAWholeList: every connection, root or nested,
// loaded with its parents or on its own, holds 50 rows when asked for
// neither first nor last and never more than 200; a negative size is a
// VALIDATION_ERROR. A nested connection took first and last as given, and
// without them loaded every row of every parent (all 210 keys here, with
// hasNextPage false), so one request could read a whole table.
func TestConnectionsNeverLoadAWholeList(t *testing.T) {
	t.Parallel()
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		tn := register(t, e, "Sizes")
		const made = 210
		for i := range made {
			createKey(t, e, tn.AccessToken, map[string]any{"name": fmt.Sprintf("size %03d", i), "scopes": []string{"api_keys:read"}})
		}
		conns := map[string]string{
			"root":                 `{ apiKeys%s { %s } }`,
			"nested, on its own":   `{ me { tenant { apiKeys%s { %s } } } }`,
			"nested, with parents": `{ users(first: 1) { edges { node { apiKeys%s { %s } } } } }`,
		}
		paths := map[string][]string{"root": {"apiKeys"}, "nested, on its own": {"me", "tenant", "apiKeys"},
			"nested, with parents": {"users", "edges", "0", "node", "apiKeys"}}
		for name, q := range conns {
			for args, want := range map[string]int{"": 50, "first: 100000": 200, "last: 100000": 200, "first: 7": 7} {
				var data any
				if args != "" {
					args = "(" + args + ")"
				}
				gql(t, e, tn.AccessToken, fmt.Sprintf(q, args, "edges { node { id } } pageInfo { hasNextPage hasPreviousPage } totalCount"), nil, &data)
				conn := at(t, data, paths[name]...).(map[string]any)
				next, prev := at(t, conn, "pageInfo", "hasNextPage"), at(t, conn, "pageInfo", "hasPreviousPage")
				if got := len(conn["edges"].([]any)); got != want || next == prev || conn["totalCount"] != float64(made) {
					t.Errorf("%s (%s): %d edges, hasNextPage %v, hasPreviousPage %v, totalCount %v; want %d edges, a further page, %d in all",
						name, args, got, next, prev, conn["totalCount"], want, made)
				}
			}
			g := gqlDo(e, tn.AccessToken, fmt.Sprintf(q, "(first: -1)", "totalCount"), nil)
			wantGQLError(t, g, "VALIDATION_ERROR")
		}
	})
}
