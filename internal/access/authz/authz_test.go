package authz_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"

	"entgo.io/ent/dialect"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/ent/apikey"
	"github.com/credvault/credvault/ent/oauthclient"
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

// TestCeilingReadsTheCredentialsScopesInTheTransaction: a client, and a key
// it made (no user behind either), hand out in a write's transaction no
// scope their rows have lost since they authenticated — a demotion of the
// user heading their lineage cuts those rows — and none once disabled or
// revoked.
func TestCeilingReadsTheCredentialsScopesInTheTransaction(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := store.Unrestricted(context.Background())
		tn := st.Client.Tenant.Create().SetName("Lineage").SetSlug("lineage").SaveX(ctx)
		u := st.Client.User.Create().SetTenantID(tn.ID).SetEmail("admin@lineage.test").SetRole(user.RoleAdmin).SaveX(ctx)
		held := []string{"users:read", "users:write"}
		c := st.Client.OAuthClient.Create().SetTenantID(tn.ID).SetClientID("lineage-client").SetName("c").
			SetSecretHash([]byte("h")).SetScopes(held).SetCreatedBy(u.ID).SaveX(ctx)
		k := st.Client.APIKey.Create().SetTenantID(tn.ID).SetName("k").SetPrefix("abcdefgh").SetKeyHash([]byte("k")).
			SetScopes(held).SetCreatedBy(c.ID).SaveX(ctx)
		batch := audit.NewBatcher(st.Client, slog.New(slog.NewTextHandler(io.Discard, nil)))
		g := &authz.Guard{Client: st.Client, Batch: batch, LockRows: st.Dialect == dialect.Postgres}
		principals := map[string]*access.Principal{
			"client": {Kind: access.KindOAuthClient, ID: c.ID, ClientID: c.ClientID, TenantID: tn.ID, HomeTenantID: tn.ID,
				Scopes: access.NewSet(held...)},
			"the client's key": {Kind: access.KindAPIKey, ID: k.ID, APIKeyID: k.ID, TenantID: tn.ID, HomeTenantID: tn.ID,
				Scopes: access.NewSet(held...)},
		}
		inTx := func(p *access.Principal) error {
			return store.WithTx(access.NewContext(ctx, p), st.Client, func(ctx context.Context, _ *ent.Client) error {
				return g.Ceiling(ctx, p, []string{"users:write"})
			})
		}
		each := func(want apperr.Code, what string) {
			t.Helper()
			for name, p := range principals {
				if err := inTx(p); code(err) != want {
					t.Fatalf("%s, %s: %v, want %q", name, what, err, want)
				}
			}
		}

		each("", "as it authenticated")
		st.Client.OAuthClient.UpdateOne(c).SetScopes([]string{"users:read"}).ExecX(ctx)
		st.Client.APIKey.UpdateOne(k).SetScopes([]string{"users:read"}).ExecX(ctx)
		each(apperr.Forbidden, "cut to users:read")
		for name, p := range principals {
			if err := g.Ceiling(access.NewContext(ctx, p), p, []string{"users:write"}); err != nil {
				t.Fatalf("%s: outside a transaction the principal's scopes stand: %v", name, err)
			}
		}
		st.Client.OAuthClient.UpdateOne(c).SetScopes(held).SetStatus(oauthclient.StatusDisabled).ExecX(ctx)
		st.Client.APIKey.UpdateOne(k).SetScopes(held).SetStatus(apikey.StatusRevoked).ExecX(ctx)
		each(apperr.Unauthorized, "disabled or revoked")
	})
}

// code is err's apperr code, or "".
func code(err error) apperr.Code {
	var e *apperr.Error
	if !errors.As(err, &e) {
		return ""
	}
	return e.Code
}
