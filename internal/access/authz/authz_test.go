package authz_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"

	"entgo.io/ent/dialect"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/ent/user"
	"github.com/credvault/credvault/internal/access"
	"github.com/credvault/credvault/internal/access/authz"
	"github.com/credvault/credvault/internal/audit"
	"github.com/credvault/credvault/internal/platform/apperr"
	"github.com/credvault/credvault/internal/platform/store"
	"github.com/credvault/credvault/internal/platform/store/storetest"
)

// TestCeilingReadsTheUsersRoleInTheTransaction: a principal authenticated
// as an admin, whose user has since been made a viewer, disabled or
// deleted, hands out no admin scope in a write's transaction; outside one
// (a check before any write) its scopes as authenticated stand.
func TestCeilingReadsTheUsersRoleInTheTransaction(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := store.Unrestricted(context.Background())
		tn := st.Client.Tenant.Create().SetName("Ceiling").SetSlug("ceiling").SaveX(ctx)
		u := st.Client.User.Create().SetTenantID(tn.ID).SetEmail("admin@ceiling.test").SetRole(user.RoleAdmin).SaveX(ctx)
		batch := audit.NewBatcher(st.Client, slog.New(slog.NewTextHandler(io.Discard, nil)))
		g := &authz.Guard{Client: st.Client, Batch: batch, LockRows: st.Dialect == dialect.Postgres}
		p := &access.Principal{Kind: access.KindUser, ID: u.ID, UserID: u.ID, TenantID: tn.ID, HomeTenantID: tn.ID,
			Scopes: access.ForRole(access.Admin, false)}
		pctx := access.NewContext(ctx, p)
		inTx := func() error {
			return store.WithTx(pctx, st.Client, func(ctx context.Context, _ *ent.Client) error {
				return g.Ceiling(ctx, p, []string{"users:write"})
			})
		}
		code := func(err error) apperr.Code {
			var e *apperr.Error
			if !errors.As(err, &e) {
				return ""
			}
			return e.Code
		}

		if err := inTx(); err != nil {
			t.Fatalf("an admin giving users:write: %v", err)
		}
		st.Client.User.UpdateOne(u).SetRole(user.RoleViewer).ExecX(ctx)
		if err := inTx(); code(err) != apperr.Forbidden {
			t.Fatalf("the same principal after the user became a viewer: %v, want FORBIDDEN", err)
		}
		if err := g.Ceiling(pctx, p, []string{"users:write"}); err != nil {
			t.Fatalf("outside a transaction the principal's scopes stand: %v", err)
		}
		st.Client.User.UpdateOne(u).SetRole(user.RoleAdmin).SetStatus(user.StatusDisabled).ExecX(ctx)
		if err := inTx(); code(err) != apperr.Unauthorized {
			t.Fatalf("a disabled user: %v, want UNAUTHORIZED", err)
		}
		st.Client.User.DeleteOne(u).ExecX(ctx)
		if err := inTx(); code(err) != apperr.Unauthorized {
			t.Fatalf("a deleted user: %v, want UNAUTHORIZED", err)
		}
	})
}
