package apitest_test

// Guardrails (SPEC §14): the admin routes and fields on both databases —
// CRUD, config validation, scopes, tenant isolation, audit entries, /test
// and /policies. The detectors themselves are tested in internal/guardrails.

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/credvault/credvault/ent/auditlog"
	"github.com/credvault/credvault/internal/access"
	"github.com/credvault/credvault/internal/apitest"
)

type guardrailJSON struct {
	ID        string         `json:"id"`
	TenantID  string         `json:"tenant_id"`
	Name      string         `json:"name"`
	Kind      string         `json:"kind"`
	Config    map[string]any `json:"config"`
	Action    string         `json:"action"`
	AppliesTo string         `json:"applies_to"`
	Enabled   bool           `json:"enabled"`
}

type guardrailTestJSON struct {
	Allowed    bool `json:"allowed"`
	Violations []struct {
		Guardrail, Kind, Action string
	} `json:"violations"`
	Redacted *string `json:"redacted"`
	Messages []struct {
		Role, Content string
	} `json:"messages"`
}

// createGuardrailGQL creates a flagging blocked_terms guardrail as cred and
// returns its id.
func createGuardrailGQL(t *testing.T, e *apitest.Env, cred string) string {
	t.Helper()
	out := gqlResult[struct {
		CreateGuardrail struct{ ID string }
	}](t, e, cred, `mutation($in: CreateGuardrailInput!) { createGuardrail(input: $in) { id } }`,
		map[string]any{"in": map[string]any{"name": "terms " + randTag(), "kind": "blocked_terms", "action": "flag",
			"config": map[string]any{"terms": []string{"project zeus"}}}})
	return out.CreateGuardrail.ID
}

func railPost(t *testing.T, e *apitest.Env, cred string, body map[string]any) guardrailJSON {
	t.Helper()
	var g guardrailJSON
	wantOK(t, do(e, http.MethodPost, "/api/v1/admin/guardrails", cred, body), http.StatusCreated, &g)
	return g
}

func railTest(t *testing.T, e *apitest.Env, cred string, body map[string]any) guardrailTestJSON {
	t.Helper()
	var res guardrailTestJSON
	wantOK(t, do(e, http.MethodPost, "/api/v1/admin/guardrails/test", cred, body), http.StatusOK, &res)
	return res
}

func TestGuardrailsAPI(t *testing.T) {
	t.Parallel()
	apitest.Each(t, func(t *testing.T, e *apitest.Env) {
		a := register(t, e, "Rails")
		owner := a.AccessToken

		// Create: defaults (action from the kind, applies_to both, enabled) and the stored, normalised config.
		pii := railPost(t, e, owner, map[string]any{"name": " PII ", "kind": "pii"})
		if pii.Name != "PII" || pii.Action != "redact" || pii.AppliesTo != "both" || !pii.Enabled || len(pii.Config["types"].([]any)) != 5 {
			t.Fatalf("pii guardrail %+v", pii)
		}
		terms := railPost(t, e, owner, map[string]any{"name": "terms", "kind": "blocked_terms", "action": "block",
			"applies_to": "input", "config": map[string]any{"terms": []string{" Project Zeus ", "project zeus", "leak"}}})
		if got := terms.Config["terms"].([]any); len(got) != 2 || got[0] != "Project Zeus" {
			t.Fatalf("terms are trimmed and deduplicated: %v", got)
		}
		re := railPost(t, e, owner, map[string]any{"name": "tickets", "kind": "regex", "action": "flag",
			"config": map[string]any{"patterns": []string{`TICKET-\d+`}}})

		// Validation: 422 naming the field.
		for _, tc := range []struct {
			body  map[string]any
			field string
		}{
			{map[string]any{"name": "x", "kind": "sentiment"}, "kind"},
			{map[string]any{"name": "", "kind": "pii"}, "name"},
			{map[string]any{"name": "x", "kind": "pii", "action": "shout"}, "action"},
			{map[string]any{"name": "x", "kind": "pii", "applies_to": "sideways"}, "applies_to"},
			{map[string]any{"name": "x", "kind": "pii", "config": map[string]any{"types": []string{"email", "dna"}}}, "config.types[1]"},
			{map[string]any{"name": "x", "kind": "blocked_terms"}, "config.terms"},
			{map[string]any{"name": "x", "kind": "regex", "config": map[string]any{"patterns": []string{"ok", "(unclosed"}}}, "config.patterns[1]"},
			{map[string]any{"name": "x", "kind": "regex", "config": map[string]any{"patterns": []string{strings.Repeat("a", 501)}}}, "config.patterns[0]"},
			{map[string]any{"name": "x", "kind": "max_tokens", "config": map[string]any{"max_tokens": -1}}, "config.max_tokens"},
			{map[string]any{"name": "x", "kind": "max_tokens", "action": "redact", "config": map[string]any{"max_tokens": 10}}, "action"},
			{map[string]any{"name": "x", "kind": "pii", "config": map[string]any{"color": "red"}}, "config.color"},
		} {
			wantError(t, do(e, http.MethodPost, "/api/v1/admin/guardrails", owner, tc.body), http.StatusUnprocessableEntity,
				"VALIDATION_ERROR", "field", tc.field)
		}
		wantError(t, do(e, http.MethodPatch, "/api/v1/admin/guardrails/"+re.ID, owner, map[string]any{
			"config": map[string]any{"patterns": []string{"(?P<bad"}}}), http.StatusUnprocessableEntity, "VALIDATION_ERROR", "field", "config.patterns[0]")

		// /test: the text redacted, the block winning, the order of creation kept.
		res := railTest(t, e, owner, map[string]any{"text": "Mail jane@example.com about TICKET-7 and project   zeus"})
		if res.Allowed || res.Redacted == nil || *res.Redacted != "Mail [REDACTED:EMAIL] about TICKET-7 and project   zeus" {
			t.Fatalf("test: %+v", res)
		}
		var got []string
		for _, v := range res.Violations {
			got = append(got, v.Guardrail+":"+v.Kind+":"+v.Action)
		}
		if strings.Join(got, ",") != "PII:pii:redact,terms:blocked_terms:block,tickets:regex:flag" {
			t.Errorf("violations %v", got)
		}
		// The output stage skips the input-only terms guardrail; messages come back redacted.
		res = railTest(t, e, owner, map[string]any{"stage": "output", "messages": []map[string]string{
			{"role": "system", "content": "be brief"}, {"role": "user", "content": "card 4111 1111 1111 1111, project zeus"}}})
		if !res.Allowed || len(res.Messages) != 2 || res.Messages[1].Content != "card [REDACTED:CARD], project zeus" || res.Messages[0].Role != "system" {
			t.Fatalf("test messages: %+v", res)
		}
		wantError(t, do(e, http.MethodPost, "/api/v1/admin/guardrails/test", owner, map[string]any{}), http.StatusUnprocessableEntity, "VALIDATION_ERROR", "field", "text")
		wantError(t, do(e, http.MethodPost, "/api/v1/admin/guardrails/test", owner, map[string]any{"text": "x", "stage": "middle"}),
			http.StatusUnprocessableEntity, "VALIDATION_ERROR", "field", "stage")

		// Update takes effect at once (the cache is dropped): the terms guardrail now only flags.
		var upd guardrailJSON
		wantOK(t, do(e, http.MethodPatch, "/api/v1/admin/guardrails/"+terms.ID, owner, map[string]any{"action": "flag", "name": "terms, flagged"}),
			http.StatusOK, &upd)
		if upd.Action != "flag" || upd.Name != "terms, flagged" || upd.Kind != "blocked_terms" {
			t.Fatalf("update: %+v", upd)
		}
		if res = railTest(t, e, owner, map[string]any{"text": "about project zeus"}); !res.Allowed || len(res.Violations) != 1 {
			t.Fatalf("after update: %+v", res)
		}
		// Disabled guardrails do not run.
		wantOK(t, do(e, http.MethodPatch, "/api/v1/admin/guardrails/"+pii.ID, owner, map[string]any{"enabled": false}), http.StatusOK, nil)
		if res = railTest(t, e, owner, map[string]any{"text": "jane@example.com"}); len(res.Violations) != 0 || *res.Redacted != "jane@example.com" {
			t.Fatalf("a disabled guardrail ran: %+v", res)
		}

		// List: filters and sorts.
		var list []guardrailJSON
		listPage(t, e, owner, "/api/v1/admin/guardrails?kind=regex", &list)
		if len(list) != 1 || list[0].ID != re.ID {
			t.Errorf("kind=regex: %+v", list)
		}
		listPage(t, e, owner, "/api/v1/admin/guardrails?enabled=false", &list)
		if len(list) != 1 || list[0].ID != pii.ID {
			t.Errorf("enabled=false: %+v", list)
		}

		// Policies: each kind with its schema and default action.
		var policies []struct {
			Kind          string         `json:"kind"`
			Description   string         `json:"description"`
			ConfigSchema  map[string]any `json:"config_schema"`
			DefaultAction string         `json:"default_action"`
		}
		wantOK(t, do(e, http.MethodGet, "/api/v1/admin/guardrails/policies", owner, nil), http.StatusOK, &policies)
		kinds := map[string]string{}
		for _, p := range policies {
			if p.Description == "" || p.ConfigSchema["type"] != "object" {
				t.Errorf("policy %+v", p)
			}
			kinds[p.Kind] = p.DefaultAction
		}
		if len(kinds) != 4 || kinds["pii"] != "redact" || kinds["blocked_terms"] != "block" || kinds["max_tokens"] != "block" || kinds["regex"] != "flag" {
			t.Errorf("policies %v", kinds)
		}

		// Scopes: a viewer reads and tests but does not write; a key without gateway:read reads nothing.
		viewer := a.user(t, access.Viewer)
		wantStatus(t, do(e, http.MethodGet, "/api/v1/admin/guardrails", viewer.AccessToken, nil), http.StatusOK)
		railTest(t, e, viewer.AccessToken, map[string]any{"text": "hello"})
		wantError(t, do(e, http.MethodPost, "/api/v1/admin/guardrails", viewer.AccessToken, map[string]any{"name": "x", "kind": "pii"}),
			http.StatusForbidden, "FORBIDDEN", "required_scope", "gateway:write")
		wantError(t, do(e, http.MethodDelete, "/api/v1/admin/guardrails/"+re.ID, viewer.AccessToken, nil),
			http.StatusForbidden, "FORBIDDEN", "required_scope", "gateway:write")
		k := a.key(t, access.APIKeysRead)
		wantError(t, do(e, http.MethodGet, "/api/v1/admin/guardrails/policies", k.Key, nil), http.StatusForbidden, "FORBIDDEN", "required_scope", "gateway:read")

		// Tenant isolation: another tenant neither sees nor changes A's guardrails, and its /test runs only its own.
		b := register(t, e, "Rails other")
		listPage(t, e, b.AccessToken, "/api/v1/admin/guardrails", &list)
		if len(list) != 0 {
			t.Errorf("tenant B lists %d of A's guardrails", len(list))
		}
		wantError(t, do(e, http.MethodPatch, "/api/v1/admin/guardrails/"+re.ID, b.AccessToken, map[string]any{"enabled": false}), http.StatusNotFound, "NOT_FOUND")
		wantError(t, do(e, http.MethodDelete, "/api/v1/admin/guardrails/"+re.ID, b.AccessToken, nil), http.StatusNotFound, "NOT_FOUND")
		if res = railTest(t, e, b.AccessToken, map[string]any{"text": "TICKET-9 project zeus"}); !res.Allowed || len(res.Violations) != 0 {
			t.Errorf("tenant B ran A's guardrails: %+v", res)
		}

		// Delete, then the audit trail: one entry per change, its config (the terms) never in it.
		var del struct {
			ID      string `json:"id"`
			Deleted bool   `json:"deleted"`
		}
		wantOK(t, do(e, http.MethodDelete, "/api/v1/admin/guardrails/"+re.ID, owner, nil), http.StatusOK, &del)
		if !del.Deleted || del.ID != re.ID {
			t.Errorf("delete: %+v", del)
		}
		wantError(t, do(e, http.MethodDelete, "/api/v1/admin/guardrails/"+re.ID, owner, nil), http.StatusNotFound, "NOT_FOUND")
		if res = railTest(t, e, owner, map[string]any{"text": "TICKET-9"}); len(res.Violations) != 0 {
			t.Errorf("a deleted guardrail ran: %+v", res)
		}
		c := oneAudit(t, e, a.TenantID, "guardrail.create", auditlog.OutcomeSuccess, terms.ID)
		if c.Details["kind"] != "blocked_terms" || c.Details["action"] != "block" || c.ActorID != a.UserID.String() {
			t.Errorf("guardrail.create entry %+v", c.Details)
		}
		u := auditEntries(t, e, a.TenantID, "guardrail.update", terms.ID)
		if len(u) != 1 || !strings.Contains(strings.Join(anyStrings(u[0].Details["fields"]), ","), "action") {
			t.Errorf("guardrail.update entries %+v", u)
		}
		oneAudit(t, e, a.TenantID, "guardrail.delete", auditlog.OutcomeSuccess, re.ID)
		for _, action := range []string{"guardrail.create", "guardrail.update", "guardrail.delete"} {
			for _, entry := range auditEntries(t, e, a.TenantID, action, "") {
				if s := strings.ToLower(showDetails(entry.Details)); strings.Contains(s, "zeus") || strings.Contains(s, "ticket-") {
					t.Errorf("%s entry holds the config: %s", action, s)
				}
			}
		}
	})
}

func TestGuardrailsGraphQL(t *testing.T) {
	t.Parallel()
	apitest.Each(t, func(t *testing.T, e *apitest.Env) {
		a := register(t, e, "Rails graph")
		id := createGuardrailGQL(t, e, a.AccessToken)
		out := gqlResult[struct {
			Guardrails struct {
				TotalCount int
				Edges      []struct {
					Node struct {
						ID, Name, Kind, Action, AppliesTo string
						Config                            map[string]any
					}
				}
			}
			GuardrailPolicies []struct {
				Kind, DefaultAction string
				Actions             []string
				ConfigSchema        map[string]any
			}
			TestGuardrails struct {
				Allowed    bool
				Redacted   string
				Violations []struct{ Guardrail, Kind, Action string }
			}
		}](t, e, a.AccessToken, `query($in: TestGuardrailsInput!) {
			guardrails(where: {kind: blocked_terms}) { totalCount edges { node { id name kind action appliesTo config } } }
			guardrailPolicies { kind defaultAction actions configSchema }
			testGuardrails(input: $in) { allowed redacted violations { guardrail kind action } }
		}`, map[string]any{"in": map[string]any{"text": "the Project Zeus plan"}})
		if out.Guardrails.TotalCount != 1 || out.Guardrails.Edges[0].Node.ID != id || out.Guardrails.Edges[0].Node.Action != "flag" {
			t.Errorf("guardrails %+v", out.Guardrails)
		}
		if len(out.GuardrailPolicies) != 4 || out.GuardrailPolicies[3].Kind != "max_tokens" || len(out.GuardrailPolicies[3].Actions) != 2 {
			t.Errorf("policies %+v", out.GuardrailPolicies)
		}
		if !out.TestGuardrails.Allowed || len(out.TestGuardrails.Violations) != 1 || out.TestGuardrails.Violations[0].Kind != "blocked_terms" {
			t.Errorf("testGuardrails %+v", out.TestGuardrails)
		}
		upd := gqlResult[struct {
			UpdateGuardrail struct{ Action, AppliesTo string }
		}](t, e, a.AccessToken,
			`mutation($id: ID!) { updateGuardrail(id: $id, input: {action: block, appliesTo: output}) { action appliesTo } }`, map[string]any{"id": id})
		if upd.UpdateGuardrail.Action != "block" || upd.UpdateGuardrail.AppliesTo != "output" {
			t.Errorf("updateGuardrail %+v", upd)
		}
		gqlErr(t, e, a.AccessToken, `mutation { createGuardrail(input: {name: "r", kind: regex, config: {patterns: ["(x"]}}) { id } }`, nil,
			"VALIDATION_ERROR", "field", "config.patterns[0]")
		other := register(t, e, "Rails graph other")
		gqlErr(t, e, other.AccessToken, `mutation($id: ID!) { deleteGuardrail(id: $id) }`, map[string]any{"id": id}, "NOT_FOUND")
		gqlResult[struct{}](t, e, a.AccessToken, `mutation($id: ID!) { deleteGuardrail(id: $id) }`, map[string]any{"id": id})
	})
}

func anyStrings(v any) []string {
	var out []string
	if l, ok := v.([]any); ok {
		for _, s := range l {
			out = append(out, s.(string))
		}
	}
	return out
}

func showDetails(d map[string]any) string {
	b, _ := json.Marshal(d)
	return string(b)
}

// TestGuardrailChangeReachesEveryInstance: two instances on one PostgreSQL
// database each cache the tenant's guardrails; a change made through one
// applies on the other within a second, through the invalidation bus.
func TestGuardrailChangeReachesEveryInstance(t *testing.T) {
	t.Parallel()
	a, b := twoInstances(t)
	tn := register(t, a, "Rails instances")
	g := railPost(t, a, tn.AccessToken, map[string]any{"name": "terms", "kind": "blocked_terms", "action": "flag",
		"config": map[string]any{"terms": []string{"zeus"}}})
	// B loads and caches the flagging guardrail.
	if res := railTest(t, b, tn.AccessToken, map[string]any{"text": "zeus"}); !res.Allowed || len(res.Violations) != 1 {
		t.Fatalf("instance B: %+v", res)
	}
	wantOK(t, do(a, http.MethodPatch, "/api/v1/admin/guardrails/"+g.ID, tn.AccessToken, map[string]any{"action": "block"}), http.StatusOK, nil)
	deadline := time.Now().Add(time.Second)
	for railTest(t, b, tn.AccessToken, map[string]any{"text": "zeus"}).Allowed {
		if time.Now().After(deadline) {
			t.Fatal("instance B still applies the old action a second after the change")
		}
		time.Sleep(10 * time.Millisecond)
	}
	wantOK(t, do(a, http.MethodDelete, "/api/v1/admin/guardrails/"+g.ID, tn.AccessToken, nil), http.StatusOK, nil)
	deadline = time.Now().Add(time.Second)
	for len(railTest(t, b, tn.AccessToken, map[string]any{"text": "zeus"}).Violations) > 0 {
		if time.Now().After(deadline) {
			t.Fatal("instance B still applies a deleted guardrail a second after the change")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
