package apitest_test

// Partial changes of one resource sent at once each keep the other's
// fields: a change merging some fields into the row it read waits for a
// concurrent one (store.ForUpdate) instead of writing back, as it read
// them, the fields that one changed. On PostgreSQL one of two such changes
// was lost every time: a tenant's IP allowlist set beside its audit
// retention came back empty, a guardrail's new action or config and the
// router's new timeout or attempts reverted.

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/google/uuid"

	"github.com/credvault/credvault/internal/apitest"
)

// bothAtOnce sends a and b together and wants both to succeed.
func bothAtOnce(t *testing.T, e *apitest.Env, cred, method, path string, a, b map[string]any) {
	t.Helper()
	for _, r := range atOnce(2, func(i int) *apitest.Response {
		return do(e, method, path, cred, []map[string]any{a, b}[i])
	}) {
		wantStatus(t, r, http.StatusOK)
	}
}

func TestPartialChangesAtOnceKeepEachOther(t *testing.T) {
	t.Parallel()
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		const rounds = 6
		t.Run("tenant settings", func(t *testing.T) {
			for range rounds {
				tn := register(t, e, "Settings At Once")
				path := "/api/v1/admin/tenants/" + tn.TenantID.String()
				bothAtOnce(t, e, tn.AccessToken, http.MethodPatch, path,
					map[string]any{"settings": map[string]any{"ip_allowlist": []string{"10.0.0.0/8", "127.0.0.1"}}},
					map[string]any{"name": "Renamed", "settings": map[string]any{"audit_retention_days": 30}})
				var got struct {
					Name     string         `json:"name"`
					Settings map[string]any `json:"settings"`
				}
				wantOK(t, do(e, http.MethodGet, path, tn.AccessToken, nil), http.StatusOK, &got)
				if s := fmt.Sprintf("%s %v", got.Name, got.Settings); s != "Renamed map[audit_retention_days:30 ip_allowlist:[10.0.0.0/8 127.0.0.1/32]]" {
					t.Fatalf("after two changes at once the tenant is %s", s)
				}
			}
		})
		t.Run("guardrail", func(t *testing.T) {
			tn := register(t, e, "Guardrail At Once")
			for range rounds {
				var g struct {
					ID uuid.UUID `json:"id"`
				}
				wantOK(t, do(e, http.MethodPost, "/api/v1/admin/guardrails", tn.AccessToken, map[string]any{"name": "terms " + randTag(),
					"kind": "blocked_terms", "action": "block", "applies_to": "input", "config": map[string]any{"terms": []string{"a"}}}),
					http.StatusCreated, &g)
				bothAtOnce(t, e, tn.AccessToken, http.MethodPatch, "/api/v1/admin/guardrails/"+g.ID.String(),
					map[string]any{"action": "flag"}, map[string]any{"config": map[string]any{"terms": []string{"b"}}})
				row, err := e.Store.Client.Guardrail.Get(unrestricted(), g.ID)
				if err != nil {
					t.Fatal(err)
				}
				if s := fmt.Sprintf("%v %v", row.Action, row.Config); s != "flag map[terms:[b]]" {
					t.Fatalf("after two changes at once the guardrail is %s", s)
				}
			}
		})
		t.Run("router config", func(t *testing.T) {
			tn := register(t, e, "Router At Once")
			const path = "/api/v1/admin/router/config"
			for round := range rounds {
				wantStatus(t, do(e, http.MethodPut, path, tn.AccessToken, map[string]any{"timeout_ms": 30000, "max_attempts": 3}), http.StatusOK)
				timeout, attempts := 1000+round, 4+round
				bothAtOnce(t, e, tn.AccessToken, http.MethodPut, path,
					map[string]any{"timeout_ms": timeout}, map[string]any{"max_attempts": attempts})
				var got struct {
					TimeoutMS   int `json:"timeout_ms"`
					MaxAttempts int `json:"max_attempts"`
				}
				wantOK(t, do(e, http.MethodGet, path, tn.AccessToken, nil), http.StatusOK, &got)
				if got.TimeoutMS != timeout || got.MaxAttempts != attempts {
					t.Fatalf("after two changes at once the router config is %+v, want %d and %d", got, timeout, attempts)
				}
			}
		})
	})
}
