package server

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/credvault/credvault/graph"
	"github.com/credvault/credvault/internal/platform/reqinfo"
)

// Malformed ids, times and cursors are the client's mistake: VALIDATION_ERROR
// naming the argument, refused before any resolver runs (the resolver here
// has no services), and never logged as a server error.
func TestInputCheckRefusesMalformedArgumentsQuietly(t *testing.T) {
	t.Parallel()
	h := newGraphQL(&graph.Resolver{}, true)
	for i, c := range []struct{ query, field string }{
		{`{ apiKey(id: "not-a-uuid") { id } }`, "id"},
		{`{ apiKeys(after: "garbage") { totalCount } }`, "after"},
		{`mutation { createAPIKey(input: {name: "x", expiresAt: "9999-12-31T23:59:59-23:59"}) { key } }`, "input.expiresAt"},
		{`mutation { createAPIKey(input: {name: "x", expiresAt: "soon"}) { key } }`, "input.expiresAt"},
		{`mutation { login(input: {email: "a\u0000", password: "x"}) { accessToken } }`, "input.email"},
		{`{ apiKeys(where: ` + strings.Repeat(`{not: `, 11) + `{name: "x"}` + strings.Repeat(`}`, 11) + `) { totalCount } }`,
			"where" + strings.Repeat(".not", 10)},
		{`{ apiKeys(where: {or: [` + strings.Repeat(`{name: "x"}, `, 100) + `]}) { totalCount } }`, "where"},
	} {
		body, _ := json.Marshal(map[string]any{"query": c.query})
		req := httptest.NewRequest(http.MethodPost, "/graphql", strings.NewReader(string(body)))
		req.Header.Set("Content-Type", "application/json")
		id := "input-check-" + string(rune('a'+i))
		req = req.WithContext(reqinfo.NewContext(req.Context(), &reqinfo.Info{RequestID: id}))
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		var resp struct {
			Data   map[string]any `json:"data"`
			Errors []struct {
				Extensions struct {
					Code    string         `json:"code"`
					Details map[string]any `json:"details"`
				} `json:"extensions"`
			} `json:"errors"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil || len(resp.Errors) != 1 ||
			resp.Errors[0].Extensions.Code != "VALIDATION_ERROR" || resp.Errors[0].Extensions.Details["field"] != c.field || resp.Data != nil {
			t.Fatalf("%s: %s", c.query, rec.Body)
		}
		if strings.Contains(defaultLog.String(), id) {
			t.Fatalf("%s was logged:\n%s", c.query, defaultLog.String())
		}
	}
}
