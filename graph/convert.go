package graph

import (
	"github.com/credvault/credvault/internal/identity"
)

// deref returns *s, or "" for nil.
func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// authPayload is the graph's view of a session; nil stays nil.
func authPayload(s *identity.Session) *identity.AuthPayload {
	if s == nil {
		return nil
	}
	return &identity.AuthPayload{AccessToken: s.AccessToken, RefreshToken: s.RefreshToken,
		TokenType: identity.TokenType, ExpiresIn: s.ExpiresIn, User: s.User, Tenant: s.Tenant}
}
