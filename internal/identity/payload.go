package identity

import "github.com/credvault/credvault/internal/access"

// Principal is who the payload signed in: its fields and edges are read as
// that user, since the request that signed in carried no credentials.
func (a *AuthPayload) Principal() *access.Principal { return userPrincipal(a.User, a.Tenant) }
