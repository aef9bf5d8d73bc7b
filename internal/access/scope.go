package access

// The permissions of CredVault and the scopes each role holds.

import (
	"slices"
	"strings"
)

// Scope is one permission, such as "api_keys:write".
type Scope = string

// The scopes of SPEC §2.
const (
	TenantRead           Scope = "tenant:read"
	TenantWrite          Scope = "tenant:write"
	TenantDelete         Scope = "tenant:delete"
	UsersRead            Scope = "users:read"
	UsersWrite           Scope = "users:write"
	ServiceAccountsRead  Scope = "service_accounts:read"
	ServiceAccountsWrite Scope = "service_accounts:write"
	APIKeysRead          Scope = "api_keys:read"
	APIKeysWrite         Scope = "api_keys:write"
	OAuthClientsRead     Scope = "oauth_clients:read"
	OAuthClientsWrite    Scope = "oauth_clients:write"
	CredentialsRead      Scope = "credentials:read"
	CredentialsWrite     Scope = "credentials:write"
	CredentialsDecrypt   Scope = "credentials:decrypt"
	AuditRead            Scope = "audit:read"
	JobsRead             Scope = "jobs:read"
	JobsWrite            Scope = "jobs:write"
	VaultAdmin           Scope = "vault:admin"
	PlatformAdmin        Scope = "platform:admin"
	WebhooksRead         Scope = "webhooks:read"
	WebhooksWrite        Scope = "webhooks:write"
	GatewayInvoke        Scope = "gateway:invoke"
	GatewayRead          Scope = "gateway:read"
	GatewayWrite         Scope = "gateway:write"
)

// All lists every scope in a stable order.
var All = []Scope{
	TenantRead, TenantWrite, TenantDelete, UsersRead, UsersWrite,
	ServiceAccountsRead, ServiceAccountsWrite, APIKeysRead, APIKeysWrite,
	OAuthClientsRead, OAuthClientsWrite, CredentialsRead, CredentialsWrite, CredentialsDecrypt,
	AuditRead, JobsRead, JobsWrite, VaultAdmin, PlatformAdmin,
	WebhooksRead, WebhooksWrite, GatewayInvoke, GatewayRead, GatewayWrite,
}

// Role is a user's role within its tenant.
type Role = string

// The roles of SPEC §2.
const (
	Owner  Role = "owner"
	Admin  Role = "admin"
	Member Role = "member"
	Viewer Role = "viewer"
)

// Roles lists every role from the most to the least privileged.
var Roles = []Role{Owner, Admin, Member, Viewer}

// Valid reports whether s names a known scope.
func Valid(s string) bool { return slices.Contains(All, s) }

// ForRole returns the scopes a role holds; platform adds platform:admin for
// owners and admins of the platform tenant.
func ForRole(role Role, platform bool) Set {
	var out []Scope
	for _, s := range All {
		if roleHas(role, s) || (platform && s == PlatformAdmin && (role == Owner || role == Admin)) {
			out = append(out, s)
		}
	}
	return NewSet(out...)
}

func roleHas(role Role, s Scope) bool {
	switch role {
	case Owner:
		return s != PlatformAdmin
	case Admin:
		return s != PlatformAdmin && s != TenantDelete
	case Member:
		return strings.HasSuffix(s, ":read") || s == APIKeysWrite || s == OAuthClientsWrite ||
			s == CredentialsWrite || s == CredentialsDecrypt || s == GatewayInvoke
	case Viewer:
		return strings.HasSuffix(s, ":read")
	}
	return false
}

// Set is an immutable set of scopes, kept sorted in the order of All.
type Set struct{ list []Scope }

// New builds a set from scopes, dropping duplicates and unknown names.
func NewSet(scopes ...Scope) Set {
	var list []Scope
	for _, s := range All {
		if slices.Contains(scopes, s) {
			list = append(list, s)
		}
	}
	return Set{list: list}
}

// Has reports whether the set holds s.
func (s Set) Has(sc Scope) bool { return slices.Contains(s.list, sc) }

// Covers reports whether every scope of other is in s; missing is the first one that is not.
func (s Set) Covers(other []Scope) (missing Scope, ok bool) {
	for _, o := range other {
		if !s.Has(o) {
			return o, false
		}
	}
	return "", true
}

// Intersect returns the scopes both s and other hold.
func (s Set) Intersect(other Set) Set {
	var list []Scope
	for _, sc := range s.list {
		if other.Has(sc) {
			list = append(list, sc)
		}
	}
	return Set{list: list}
}

// List returns the scopes as a new slice, never nil.
func (s Set) List() []Scope { return append([]Scope{}, s.list...) }
