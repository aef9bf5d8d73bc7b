package access_test

import (
	"slices"
	"testing"

	"github.com/credvault/credvault/internal/access"
)

// The scopes of SPEC §2, spelled out rather than derived, so the test does
// not share the implementation's logic.
var (
	specScopes = []string{
		"tenant:read", "tenant:write", "tenant:delete", "users:read", "users:write",
		"service_accounts:read", "service_accounts:write", "api_keys:read", "api_keys:write",
		"oauth_clients:read", "oauth_clients:write", "credentials:read", "credentials:write",
		"credentials:decrypt", "audit:read", "jobs:read", "jobs:write", "vault:admin", "platform:admin",
		"webhooks:read", "webhooks:write", "gateway:invoke", "gateway:read", "gateway:write",
	}
	readScopes = []string{
		"tenant:read", "users:read", "service_accounts:read", "api_keys:read",
		"oauth_clients:read", "credentials:read", "audit:read", "jobs:read", "webhooks:read",
		"gateway:read",
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
	if !slices.Equal(access.All, specScopes) {
		t.Errorf("All = %q\nwant %q", access.All, specScopes)
	}
	for _, s := range specScopes {
		if !access.Valid(s) {
			t.Errorf("Valid(%q) = false", s)
		}
	}
	for _, s := range []string{"", "admin", "api_keys:delete", "API_KEYS:READ", "platform:admin "} {
		if access.Valid(s) {
			t.Errorf("Valid(%q) = true", s)
		}
	}
}

func TestForRole(t *testing.T) {
	t.Parallel()
	owner := without(specScopes, "platform:admin")
	admin := without(specScopes, "platform:admin", "tenant:delete")
	member := append(append([]string(nil), readScopes...),
		"api_keys:write", "oauth_clients:write", "credentials:write", "credentials:decrypt", "gateway:invoke")
	viewer := readScopes
	for _, tc := range []struct {
		role     string
		platform bool
		want     []string
	}{
		{access.Owner, false, owner},
		{access.Admin, false, admin},
		{access.Member, false, member},
		{access.Viewer, false, viewer},
		{access.Owner, true, specScopes},
		{access.Admin, true, append(append([]string(nil), admin...), "platform:admin")},
		{access.Member, true, member},
		{access.Viewer, true, viewer},
		{"superuser", false, nil},
		{"", true, nil},
	} {
		got := access.ForRole(tc.role, tc.platform).List()
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
		{access.Owner, false, "tenant:delete", true},
		{access.Owner, false, "platform:admin", false},
		{access.Admin, false, "tenant:delete", false},
		{access.Admin, false, "vault:admin", true},
		{access.Member, false, "credentials:decrypt", true},
		{access.Member, false, "users:write", false},
		{access.Member, false, "service_accounts:write", false},
		{access.Member, false, "vault:admin", false},
		{access.Viewer, false, "credentials:decrypt", false},
		{access.Viewer, false, "credentials:read", true},
		{access.Viewer, false, "api_keys:write", false},
		{access.Member, false, "gateway:invoke", true},
		{access.Member, false, "gateway:write", false},
		{access.Viewer, false, "gateway:read", true},
		{access.Viewer, false, "gateway:invoke", false},
		{access.Admin, false, "gateway:write", true},
		{access.Owner, true, "platform:admin", true},
		{access.Admin, true, "platform:admin", true},
		{access.Member, true, "platform:admin", false},
		{access.Viewer, true, "platform:admin", false},
	} {
		if got := access.ForRole(tc.role, tc.platform).Has(tc.scope); got != tc.has {
			t.Errorf("ForRole(%q, %v).Has(%q) = %v, want %v", tc.role, tc.platform, tc.scope, got, tc.has)
		}
	}
}

func TestRolesOrdered(t *testing.T) {
	t.Parallel()
	if want := []string{"owner", "admin", "member", "viewer"}; !slices.Equal(access.Roles, want) {
		t.Errorf("Roles = %q, want %q", access.Roles, want)
	}
	// Each role holds everything the next one down holds.
	for i := 0; i+1 < len(access.Roles); i++ {
		hi, lo := access.ForRole(access.Roles[i], false), access.ForRole(access.Roles[i+1], false)
		if missing, ok := hi.Covers(lo.List()); !ok {
			t.Errorf("%s lacks %s, which %s holds", access.Roles[i], missing, access.Roles[i+1])
		}
	}
}

func TestSet(t *testing.T) {
	t.Parallel()
	s := access.NewSet("credentials:read", "api_keys:read", "bogus", "api_keys:read")
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

	if got := s.Intersect(access.NewSet("credentials:read", "vault:admin")).List(); !slices.Equal(got, []string{"credentials:read"}) {
		t.Errorf("Intersect = %q, want [credentials:read]", got)
	}
	if got := s.Intersect(access.Set{}).List(); len(got) != 0 {
		t.Errorf("Intersect(empty) = %q", got)
	}

	var empty access.Set
	if l := empty.List(); l == nil || len(l) != 0 {
		t.Errorf("empty List() = %#v, want a non-nil empty slice", l)
	}
	if l := access.NewSet().List(); l == nil {
		t.Error("New().List() is nil")
	}

	// List returns a copy: changing it does not change the set.
	l := s.List()
	l[0] = "vault:admin"
	if s.Has("vault:admin") {
		t.Error("List() exposes the set's storage")
	}
}
