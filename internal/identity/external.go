package identity

import (
	"context"

	"github.com/google/uuid"

	"github.com/credvault/credvault/ent"
)

// SignIn starts a session, with tx, for a user whom another authority has
// signed in (single sign-on): no password is checked here, so the caller
// must have verified the user first.
func (s *Service) SignIn(ctx context.Context, tx *ent.Client, u *ent.User, t *ent.Tenant) (*Session, error) {
	if err := tx.User.UpdateOneID(u.ID).SetLastLoginAt(s.now()).Exec(ctx); err != nil {
		return nil, err
	}
	return s.startSession(ctx, tx, u, t, uuid.New())
}

// Detach rebinds the session's user and tenant once the transaction that
// started it has committed.
func (s *Session) Detach(ctx context.Context) *Session { return s.detach(ctx) }
