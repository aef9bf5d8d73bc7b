package identity

import (
	"context"

	"github.com/google/uuid"

	"github.com/credvault/credvault/internal/access"
	"github.com/credvault/credvault/internal/platform/store"
)

// Me describes the caller: any authenticated principal may ask. A user is
// read across tenants, as a platform admin acting in another tenant is
// still its own tenant's user.
func (s *Users) Me(ctx context.Context) (*Me, error) {
	p, err := s.Guard.Require(ctx, access.Me)
	if err != nil {
		return nil, err
	}
	t, err := s.Tenants.Of(ctx, p)
	if err != nil {
		return nil, err
	}
	me := &Me{PrincipalType: string(p.Kind), ID: p.ID, Tenant: t, Scopes: p.Scopes.List()}
	if p.Kind == access.KindUser {
		if me.User, err = s.Client.User.Get(store.Unrestricted(ctx), p.ID); err != nil {
			return nil, err
		}
	}
	if p.ClientID != "" {
		me.ClientID = &p.ClientID
	}
	if p.APIKeyID != uuid.Nil {
		me.APIKeyID = &p.APIKeyID
	}
	return me, nil
}
