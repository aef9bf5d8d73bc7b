package scope_test

import (
	"slices"
	"testing"

	"github.com/credvault/credvault/scope"
)

// The scopes of SPEC §2, spelled out rather than derived, so the test does
// not share the implementation's logic.
var (
	specScopes = []string{
		"tenant:read", "tenant:write", "tenant:delete", "users:read", "users:write",
		"service_accounts:read", "service_accounts:write", "api_keys:read", "api_keys:write",
		"oauth_clients:read", "oauth_clients:write", "credentials:read", "credentials:write",
		"credentials:decrypt", "audit:read", "jobs:read", "jobs:write", "vault:admin", "platform:admin",
	}
	readScopes = []string{
		"tenant:read", "users:read", "service_accounts:read", "api_keys:read",
		"oauth_clients:read", "credentials:read", "audit:read", "jobs:read",
	}
)

func without(list []string, drop ...string) []string {
	var out []string
	for _, s := range list {
		if !slices.Contains(drop, s) {
			out = append(out, s)
		}
	}
	return out
}

func sorted(list []string) []string {
	out := append([]string(nil), list...)
	slices.Sort(out)
	return out
}

func TestAllMatchesSpec(t *testing.T) {
	t.Parallel()
	if !slices.Equal(scope.All, specScopes) {
		t.Errorf("All = %q\nwant %q", scope.All, specScopes)
	}
	for _, s := range specScopes {
		if !scope.Valid(s) {
			t.Errorf("Valid(%q) = false", s)
		}
	}
	for _, s := range []string{"", "admin", "api_keys:delete", "API_KEYS:READ", "platform:admin "} {
		if scope.Valid(s) {
			t.Errorf("Valid(%q) = true", s)
		}
	}
}

func TestForRole(t *testing.T) {
	t.Parallel()
	owner := without(specScopes, "platform:admin")
	admin := without(specScopes, "platform:admin", "tenant:delete")
	member := append(append([]string(nil), readScopes...),
		"api_keys:write", "oauth_clients:write", "credentials:write", "credentials:decrypt")
	viewer := readScopes
	for _, tc := range []struct {
		role     string
		platform bool
		want     []string
	}{
		{scope.Owner, false, owner},
		{scope.Admin, false, admin},
		{scope.Member, false, member},
		{scope.Viewer, false, viewer},
		{scope.Owner, true, specScopes},
		{scope.Admin, true, append(append([]string(nil), admin...), "platform:admin")},
		{scope.Member, true, member},
		{scope.Viewer, true, viewer},
		{"superuser", false, nil},
		{"", true, nil},
	} {
		got := scope.ForRole(tc.role, tc.platform).List()
		if !slices.Equal(sorted(got), sorted(tc.want)) {
			t.Errorf("ForRole(%q, platform=%v) = %q\nwant %q", tc.role, tc.platform, got, sorted(tc.want))
		}
	}
}

func TestRoleHighlights(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		role     string
		platform bool
		scope    string
		has      bool
	}{
		{scope.Owner, false, "tenant:delete", true},
		{scope.Owner, false, "platform:admin", false},
		{scope.Admin, false, "tenant:delete", false},
		{scope.Admin, false, "vault:admin", true},
		{scope.Member, false, "credentials:decrypt", true},
		{scope.Member, false, "users:write", false},
		{scope.Member, false, "service_accounts:write", false},
		{scope.Member, false, "vault:admin", false},
		{scope.Viewer, false, "credentials:decrypt", false},
		{scope.Viewer, false, "credentials:read", true},
		{scope.Viewer, false, "api_keys:write", false},
		{scope.Owner, true, "platform:admin", true},
		{scope.Admin, true, "platform:admin", true},
		{scope.Member, true, "platform:admin", false},
		{scope.Viewer, true, "platform:admin", false},
	} {
		if got := scope.ForRole(tc.role, tc.platform).Has(tc.scope); got != tc.has {
			t.Errorf("ForRole(%q, %v).Has(%q) = %v, want %v", tc.role, tc.platform, tc.scope, got, tc.has)
		}
	}
}

func TestRolesOrdered(t *testing.T) {
	t.Parallel()
	if want := []string{"owner", "admin", "member", "viewer"}; !slices.Equal(scope.Roles, want) {
		t.Errorf("Roles = %q, want %q", scope.Roles, want)
	}
	// Each role holds everything the next one down holds.
	for i := 0; i+1 < len(scope.Roles); i++ {
		hi, lo := scope.ForRole(scope.Roles[i], false), scope.ForRole(scope.Roles[i+1], false)
		if missing, ok := hi.Covers(lo.List()); !ok {
			t.Errorf("%s lacks %s, which %s holds", scope.Roles[i], missing, scope.Roles[i+1])
		}
	}
}

func TestSet(t *testing.T) {
	t.Parallel()
	s := scope.New("credentials:read", "api_keys:read", "bogus", "api_keys:read")
	if got, want := s.List(), []string{"api_keys:read", "credentials:read"}; !slices.Equal(got, want) {
		t.Errorf("List() = %q, want %q (order of All, no duplicates or unknown names)", got, want)
	}
	if s.Has("bogus") {
		t.Error("an unknown scope was kept")
	}
	if missing, ok := s.Covers([]string{"api_keys:read"}); !ok || missing != "" {
		t.Errorf("Covers(held) = %q, %v", missing, ok)
	}
	if missing, ok := s.Covers([]string{"api_keys:read", "api_keys:write", "vault:admin"}); ok || missing != "api_keys:write" {
		t.Errorf("Covers = %q, %v, want api_keys:write, false", missing, ok)
	}
	if missing, ok := s.Covers(nil); !ok || missing != "" {
		t.Errorf("Covers(nil) = %q, %v", missing, ok)
	}

	var empty scope.Set
	if l := empty.List(); l == nil || len(l) != 0 {
		t.Errorf("empty List() = %#v, want a non-nil empty slice", l)
	}
	if l := scope.New().List(); l == nil {
		t.Error("New().List() is nil")
	}

	// List returns a copy: changing it does not change the set.
	l := s.List()
	l[0] = "vault:admin"
	if s.Has("vault:admin") {
		t.Error("List() exposes the set's storage")
	}
}
