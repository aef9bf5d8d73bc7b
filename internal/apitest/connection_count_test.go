package apitest_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/credvault/credvault/internal/apitest"
	"github.com/credvault/credvault/internal/platform/paging"
	"github.com/credvault/credvault/internal/platform/store/storetest"
)

// A connection's totalCount is bounded as REST totals are: over a list
// longer than paging.TotalCap it is TotalCap + 1, a lower bound, found
// without a COUNT of the table; shorter lists are counted exactly, and a
// page that holds its whole list is not counted again.
func TestConnectionTotalCountIsBounded(t *testing.T) {
	t.Parallel()
	countedEnv(t, func(t *testing.T, e *apitest.Env, counter *storetest.Statements) {
		tn := register(t, e, "Bounded")
		seedAudit(t, e, tn.TenantID, "scale.test", paging.TotalCap+20)
		seedAudit(t, e, tn.TenantID, "scale.rare", 3)
		total := func(query string) (int, []string) {
			t.Helper()
			var out struct {
				AuditLogs struct {
					TotalCount int `json:"totalCount"`
					N          int `json:"n"`
				} `json:"auditLogs"`
			}
			_, stmts := statementsOf(t, counter, func(h map[string]string) {
				gql(t, e, tn.AccessToken, query, nil, &out, h)
			})
			return out.AuditLogs.TotalCount + out.AuditLogs.N, stmts
		}
		var first struct {
			AuditLogs struct {
				Edges []struct{ Cursor string } `json:"edges"`
			} `json:"auditLogs"`
		}
		gql(t, e, tn.AccessToken, `{ auditLogs(first: 1, where: {action: "scale.rare"}) { edges { cursor } } }`, nil, &first)
		after := first.AuditLogs.Edges[0].Cursor
		for _, tc := range []struct {
			query string
			want  int
			// counts is whether a statement counts the list: not when the
			// page read holds the whole list.
			counts bool
		}{
			// Past the bound: a lower bound.
			{`{ auditLogs(first: 5) { totalCount } }`, paging.TotalCap + 1, true},
			{`{ auditLogs(first: 5) { n: totalCount edges { node { id } } } }`, paging.TotalCap + 1, true},
			{`{ auditLogs(last: 5) { totalCount pageInfo { hasPreviousPage } } }`, paging.TotalCap + 1, true},
			// Within it: exact, from the start whatever the cursor.
			{`{ auditLogs(first: 2, where: {action: "scale.rare"}) { totalCount edges { cursor } } }`, 3, true},
			{`{ auditLogs(first: 10, where: {action: "scale.rare"}) { totalCount } }`, 3, true},
			{`{ auditLogs(first: 0, where: {action: "scale.rare"}) { totalCount edges { cursor } } }`, 3, true},
			{`{ auditLogs(first: 10, after: "` + after + `", where: {action: "scale.rare"}) { totalCount edges { cursor } } }`, 3, true},
			// A page holding the whole list is its own count.
			{`{ auditLogs(first: 10, where: {action: "scale.rare"}) { totalCount edges { node { id } } } }`, 3, false},
			{`{ auditLogs(first: 3, where: {action: "scale.rare"}) { totalCount pageInfo { hasNextPage } } }`, 3, false},
			{`{ auditLogs(last: 10, where: {action: "scale.rare"}) { n: totalCount edges { cursor } } }`, 3, false},
		} {
			got, stmts := total(tc.query)
			if got != tc.want {
				t.Errorf("%s: totalCount %d, want %d", tc.query, got, tc.want)
			}
			// At most one statement counts, reading no further than the bound.
			if slices.ContainsFunc(stmts, func(s string) bool { return strings.Contains(s, "COUNT(") && !isBoundedCount(s) }) ||
				slices.ContainsFunc(stmts, isBoundedCount) != tc.counts {
				t.Errorf("%s: statements %q; want no COUNT but the bounded one, and that one: %v", tc.query, stmts, tc.counts)
			}
		}

		// totalCountIsLowerBound says which totals are bounds, with or
		// without totalCount, counting as totalCount does.
		for _, tc := range []struct {
			query  string
			lower  bool
			counts bool
		}{
			{`{ auditLogs(first: 5) { totalCount totalCountIsLowerBound } }`, true, true},
			{`{ auditLogs(first: 5) { totalCountIsLowerBound } }`, true, true},
			{`{ auditLogs(first: 2, where: {action: "scale.rare"}) { totalCountIsLowerBound edges { cursor } } }`, false, true},
			{`{ auditLogs(first: 10, where: {action: "scale.rare"}) { totalCountIsLowerBound edges { cursor } } }`, false, false},
		} {
			var out struct {
				AuditLogs struct {
					Lower *bool `json:"totalCountIsLowerBound"`
				} `json:"auditLogs"`
			}
			_, stmts := statementsOf(t, counter, func(h map[string]string) {
				gql(t, e, tn.AccessToken, tc.query, nil, &out, h)
			})
			if got := out.AuditLogs.Lower; got == nil {
				t.Errorf("%s: no totalCountIsLowerBound, want %v", tc.query, tc.lower)
			} else if *got != tc.lower {
				t.Errorf("%s: totalCountIsLowerBound %v, want %v", tc.query, *got, tc.lower)
			}
			if slices.ContainsFunc(stmts, func(s string) bool { return strings.Contains(s, "COUNT(") && !isBoundedCount(s) }) ||
				slices.ContainsFunc(stmts, isBoundedCount) != tc.counts {
				t.Errorf("%s: statements %q; want no COUNT but the bounded one, and that one: %v", tc.query, stmts, tc.counts)
			}
		}
	})
}
