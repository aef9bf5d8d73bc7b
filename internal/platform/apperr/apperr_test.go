package apperr

import "testing"

func TestInvalidMessageReads(t *testing.T) {
	for _, tc := range []struct{ field, reason, want string }{
		{"name", "required", "name is required"},
		{"scopes", "unknown", "scopes is unknown"},
		{"name", "too_long", "name is too long"},
		{"ttl", "out of range", "ttl is out of range"},
		{"limit", "must be an integer", "limit must be an integer"},
		{"redirect_uris", "has_fragment", "redirect_uris has fragment"},
		{"url", "host does not resolve", "url host does not resolve"},
		{"plan", "exceeds the tenant's plan", "plan exceeds the tenant's plan"},
		{"models", "has an empty model name", "models has an empty model name"},
		{"config.types", "a list of 1 to 5 strings", "config.types is a list of 1 to 5 strings"},
		{"plan", "sandbox only at registration", "plan is sandbox only at registration"},
		{"plan", "fixed for a sandbox tenant", "plan is fixed for a sandbox tenant"},
	} {
		e := Invalid(tc.field, tc.reason)
		if e.Message != tc.want || e.Details["field"] != tc.field || e.Details["reason"] != tc.reason {
			t.Errorf("Invalid(%q, %q) = %q %v, want %q with the field and reason as given", tc.field, tc.reason, e.Message, e.Details, tc.want)
		}
	}
}
