package store_test

// Tenant isolation of ent/schema/tenancy.go, through the real ent client on
// every backend: a principal never sees, counts or changes another tenant's
// rows, and a context without a principal fails closed.

import (
	"context"
	"crypto/rand"
	"errors"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	entsql "entgo.io/ent/dialect/sql"
	"github.com/google/uuid"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/ent/apikey"
	"github.com/credvault/credvault/ent/auditlog"
	"github.com/credvault/credvault/ent/credential"
	"github.com/credvault/credvault/ent/datakey"
	"github.com/credvault/credvault/ent/privacy"
	"github.com/credvault/credvault/ent/tenant"
	"github.com/credvault/credvault/ent/user"
	"github.com/credvault/credvault/internal/access"
	"github.com/credvault/credvault/internal/platform/store"
	"github.com/credvault/credvault/internal/platform/store/storetest"
)

// userCtx acts as a user of tenant tid.
func userCtx(tid uuid.UUID) context.Context {
	return access.NewContext(context.Background(), &access.Principal{
		Kind: access.KindUser, ID: uuid.New(), TenantID: tid, HomeTenantID: tid,
		Scopes: access.ForRole(access.Owner, false),
	})
}

// systemCtx acts as the server's own principal in tenant tid.
func systemCtx(tid uuid.UUID) context.Context {
	return access.NewContext(context.Background(), access.System(tid))
}

func randomBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

// isDenied reports whether err is a privacy decision to deny.
func isDenied(err error) bool { return errors.Is(err, privacy.Deny) }

// tenantOwned drives one tenant-owned table through closures, so every
// table gets the same isolation checks.
type tenantOwned struct {
	name string
	// create makes a row; tenantID, when set, is set explicitly on the row.
	create func(ctx context.Context, c *ent.Client, tenantID *uuid.UUID) (uuid.UUID, error)
	ids    func(ctx context.Context, c *ent.Client) ([]uuid.UUID, error)
	count  func(ctx context.Context, c *ent.Client) (int, error)
	// get returns the tenant of row id.
	get func(ctx context.Context, c *ent.Client, id uuid.UUID) (uuid.UUID, error)
	// updateOne and update set a marker that marked detects.
	updateOne func(ctx context.Context, c *ent.Client, id uuid.UUID) error
	update    func(ctx context.Context, c *ent.Client) (int, error)
	marked    func(ctx context.Context, c *ent.Client, id uuid.UUID) (bool, error)
	deleteOne func(ctx context.Context, c *ent.Client, id uuid.UUID) error
	delete    func(ctx context.Context, c *ent.Client) (int, error)
}

const marker = "changed-by-test"

var dataKeyVersion atomic.Int64

func tenantOwnedTables(t *testing.T) []tenantOwned {
	return []tenantOwned{
		{
			name: "User",
			create: func(ctx context.Context, c *ent.Client, tid *uuid.UUID) (uuid.UUID, error) {
				b := c.User.Create().SetEmail(uuid.NewString() + "@example.com").SetRole(user.RoleMember)
				if tid != nil {
					b.SetTenantID(*tid)
				}
				u, err := b.Save(ctx)
				if err != nil {
					return uuid.Nil, err
				}
				return u.ID, nil
			},
			ids:   func(ctx context.Context, c *ent.Client) ([]uuid.UUID, error) { return c.User.Query().IDs(ctx) },
			count: func(ctx context.Context, c *ent.Client) (int, error) { return c.User.Query().Count(ctx) },
			get: func(ctx context.Context, c *ent.Client, id uuid.UUID) (uuid.UUID, error) {
				u, err := c.User.Get(ctx, id)
				if err != nil {
					return uuid.Nil, err
				}
				return u.TenantID, nil
			},
			updateOne: func(ctx context.Context, c *ent.Client, id uuid.UUID) error {
				return c.User.UpdateOneID(id).SetName(marker).Exec(ctx)
			},
			update: func(ctx context.Context, c *ent.Client) (int, error) {
				return c.User.Update().SetName(marker).Save(ctx)
			},
			marked: func(ctx context.Context, c *ent.Client, id uuid.UUID) (bool, error) {
				u, err := c.User.Get(ctx, id)
				return err == nil && u.Name == marker, err
			},
			deleteOne: func(ctx context.Context, c *ent.Client, id uuid.UUID) error { return c.User.DeleteOneID(id).Exec(ctx) },
			delete:    func(ctx context.Context, c *ent.Client) (int, error) { return c.User.Delete().Exec(ctx) },
		},
		{
			name: "ServiceAccount",
			create: func(ctx context.Context, c *ent.Client, tid *uuid.UUID) (uuid.UUID, error) {
				b := c.ServiceAccount.Create().SetName("robot").SetScopes([]string{access.APIKeysRead})
				if tid != nil {
					b.SetTenantID(*tid)
				}
				sa, err := b.Save(ctx)
				if err != nil {
					return uuid.Nil, err
				}
				return sa.ID, nil
			},
			ids: func(ctx context.Context, c *ent.Client) ([]uuid.UUID, error) {
				return c.ServiceAccount.Query().IDs(ctx)
			},
			count: func(ctx context.Context, c *ent.Client) (int, error) { return c.ServiceAccount.Query().Count(ctx) },
			get: func(ctx context.Context, c *ent.Client, id uuid.UUID) (uuid.UUID, error) {
				sa, err := c.ServiceAccount.Get(ctx, id)
				if err != nil {
					return uuid.Nil, err
				}
				return sa.TenantID, nil
			},
			updateOne: func(ctx context.Context, c *ent.Client, id uuid.UUID) error {
				return c.ServiceAccount.UpdateOneID(id).SetDescription(marker).Exec(ctx)
			},
			update: func(ctx context.Context, c *ent.Client) (int, error) {
				return c.ServiceAccount.Update().SetDescription(marker).Save(ctx)
			},
			marked: func(ctx context.Context, c *ent.Client, id uuid.UUID) (bool, error) {
				sa, err := c.ServiceAccount.Get(ctx, id)
				return err == nil && sa.Description == marker, err
			},
			deleteOne: func(ctx context.Context, c *ent.Client, id uuid.UUID) error {
				return c.ServiceAccount.DeleteOneID(id).Exec(ctx)
			},
			delete: func(ctx context.Context, c *ent.Client) (int, error) { return c.ServiceAccount.Delete().Exec(ctx) },
		},
		{
			name: "APIKey",
			create: func(ctx context.Context, c *ent.Client, tid *uuid.UUID) (uuid.UUID, error) {
				b := c.APIKey.Create().SetName("key").SetPrefix("abcd1234").SetKeyHash(randomBytes(t, 32)).
					SetScopes([]string{access.APIKeysRead})
				if tid != nil {
					b.SetTenantID(*tid)
				}
				k, err := b.Save(ctx)
				if err != nil {
					return uuid.Nil, err
				}
				return k.ID, nil
			},
			ids:   func(ctx context.Context, c *ent.Client) ([]uuid.UUID, error) { return c.APIKey.Query().IDs(ctx) },
			count: func(ctx context.Context, c *ent.Client) (int, error) { return c.APIKey.Query().Count(ctx) },
			get: func(ctx context.Context, c *ent.Client, id uuid.UUID) (uuid.UUID, error) {
				k, err := c.APIKey.Get(ctx, id)
				if err != nil {
					return uuid.Nil, err
				}
				return k.TenantID, nil
			},
			updateOne: func(ctx context.Context, c *ent.Client, id uuid.UUID) error {
				return c.APIKey.UpdateOneID(id).SetName(marker).Exec(ctx)
			},
			update: func(ctx context.Context, c *ent.Client) (int, error) {
				return c.APIKey.Update().SetName(marker).Save(ctx)
			},
			marked: func(ctx context.Context, c *ent.Client, id uuid.UUID) (bool, error) {
				k, err := c.APIKey.Get(ctx, id)
				return err == nil && k.Name == marker, err
			},
			deleteOne: func(ctx context.Context, c *ent.Client, id uuid.UUID) error {
				return c.APIKey.DeleteOneID(id).Exec(ctx)
			},
			delete: func(ctx context.Context, c *ent.Client) (int, error) { return c.APIKey.Delete().Exec(ctx) },
		},
		{
			name: "OAuthClient",
			create: func(ctx context.Context, c *ent.Client, tid *uuid.UUID) (uuid.UUID, error) {
				b := c.OAuthClient.Create().SetClientID("cvc_" + uuid.NewString()).SetName("app").
					SetSecretHash(randomBytes(t, 32))
				if tid != nil {
					b.SetTenantID(*tid)
				}
				oc, err := b.Save(ctx)
				if err != nil {
					return uuid.Nil, err
				}
				return oc.ID, nil
			},
			ids:   func(ctx context.Context, c *ent.Client) ([]uuid.UUID, error) { return c.OAuthClient.Query().IDs(ctx) },
			count: func(ctx context.Context, c *ent.Client) (int, error) { return c.OAuthClient.Query().Count(ctx) },
			get: func(ctx context.Context, c *ent.Client, id uuid.UUID) (uuid.UUID, error) {
				oc, err := c.OAuthClient.Get(ctx, id)
				if err != nil {
					return uuid.Nil, err
				}
				return oc.TenantID, nil
			},
			updateOne: func(ctx context.Context, c *ent.Client, id uuid.UUID) error {
				return c.OAuthClient.UpdateOneID(id).SetName(marker).Exec(ctx)
			},
			update: func(ctx context.Context, c *ent.Client) (int, error) {
				return c.OAuthClient.Update().SetName(marker).Save(ctx)
			},
			marked: func(ctx context.Context, c *ent.Client, id uuid.UUID) (bool, error) {
				oc, err := c.OAuthClient.Get(ctx, id)
				return err == nil && oc.Name == marker, err
			},
			deleteOne: func(ctx context.Context, c *ent.Client, id uuid.UUID) error {
				return c.OAuthClient.DeleteOneID(id).Exec(ctx)
			},
			delete: func(ctx context.Context, c *ent.Client) (int, error) { return c.OAuthClient.Delete().Exec(ctx) },
		},
		{
			name: "Credential",
			create: func(ctx context.Context, c *ent.Client, tid *uuid.UUID) (uuid.UUID, error) {
				b := c.Credential.Create().SetIntegrationID("stripe").SetAuthType(credential.AuthTypeAPIKey).
					SetCiphertext(randomBytes(t, 48)).SetDekVersion(1)
				if tid != nil {
					b.SetTenantID(*tid)
				}
				cr, err := b.Save(ctx)
				if err != nil {
					return uuid.Nil, err
				}
				return cr.ID, nil
			},
			ids:   func(ctx context.Context, c *ent.Client) ([]uuid.UUID, error) { return c.Credential.Query().IDs(ctx) },
			count: func(ctx context.Context, c *ent.Client) (int, error) { return c.Credential.Query().Count(ctx) },
			get: func(ctx context.Context, c *ent.Client, id uuid.UUID) (uuid.UUID, error) {
				cr, err := c.Credential.Get(ctx, id)
				if err != nil {
					return uuid.Nil, err
				}
				return cr.TenantID, nil
			},
			updateOne: func(ctx context.Context, c *ent.Client, id uuid.UUID) error {
				return c.Credential.UpdateOneID(id).SetName(marker).Exec(ctx)
			},
			update: func(ctx context.Context, c *ent.Client) (int, error) {
				return c.Credential.Update().SetName(marker).Save(ctx)
			},
			marked: func(ctx context.Context, c *ent.Client, id uuid.UUID) (bool, error) {
				cr, err := c.Credential.Get(ctx, id)
				return err == nil && cr.Name == marker, err
			},
			deleteOne: func(ctx context.Context, c *ent.Client, id uuid.UUID) error {
				return c.Credential.DeleteOneID(id).Exec(ctx)
			},
			delete: func(ctx context.Context, c *ent.Client) (int, error) { return c.Credential.Delete().Exec(ctx) },
		},
		{
			name: "DataKey",
			create: func(ctx context.Context, c *ent.Client, tid *uuid.UUID) (uuid.UUID, error) {
				// Versions are unique per tenant: take a new one each time.
				b := c.DataKey.Create().SetVersion(int(dataKeyVersion.Add(1))).SetWrappedKey(randomBytes(t, 60))
				if tid != nil {
					b.SetTenantID(*tid)
				}
				dk, err := b.Save(ctx)
				if err != nil {
					return uuid.Nil, err
				}
				return dk.ID, nil
			},
			ids:   func(ctx context.Context, c *ent.Client) ([]uuid.UUID, error) { return c.DataKey.Query().IDs(ctx) },
			count: func(ctx context.Context, c *ent.Client) (int, error) { return c.DataKey.Query().Count(ctx) },
			get: func(ctx context.Context, c *ent.Client, id uuid.UUID) (uuid.UUID, error) {
				dk, err := c.DataKey.Get(ctx, id)
				if err != nil {
					return uuid.Nil, err
				}
				return dk.TenantID, nil
			},
			updateOne: func(ctx context.Context, c *ent.Client, id uuid.UUID) error {
				return c.DataKey.UpdateOneID(id).SetStatus(datakey.StatusRetired).Exec(ctx)
			},
			update: func(ctx context.Context, c *ent.Client) (int, error) {
				return c.DataKey.Update().SetStatus(datakey.StatusRetired).Save(ctx)
			},
			marked: func(ctx context.Context, c *ent.Client, id uuid.UUID) (bool, error) {
				dk, err := c.DataKey.Get(ctx, id)
				return err == nil && dk.Status == datakey.StatusRetired, err
			},
			deleteOne: func(ctx context.Context, c *ent.Client, id uuid.UUID) error {
				return c.DataKey.DeleteOneID(id).Exec(ctx)
			},
			delete: func(ctx context.Context, c *ent.Client) (int, error) { return c.DataKey.Delete().Exec(ctx) },
		},
		{
			name: "RefreshToken",
			create: func(ctx context.Context, c *ent.Client, tid *uuid.UUID) (uuid.UUID, error) {
				b := c.RefreshToken.Create().SetUserID(uuid.New()).SetFamilyID(uuid.New()).
					SetTokenHash(randomBytes(t, 32)).SetExpiresAt(time.Now().Add(time.Hour).UTC())
				if tid != nil {
					b.SetTenantID(*tid)
				}
				rt, err := b.Save(ctx)
				if err != nil {
					return uuid.Nil, err
				}
				return rt.ID, nil
			},
			ids:   func(ctx context.Context, c *ent.Client) ([]uuid.UUID, error) { return c.RefreshToken.Query().IDs(ctx) },
			count: func(ctx context.Context, c *ent.Client) (int, error) { return c.RefreshToken.Query().Count(ctx) },
			get: func(ctx context.Context, c *ent.Client, id uuid.UUID) (uuid.UUID, error) {
				rt, err := c.RefreshToken.Get(ctx, id)
				if err != nil {
					return uuid.Nil, err
				}
				return rt.TenantID, nil
			},
			updateOne: func(ctx context.Context, c *ent.Client, id uuid.UUID) error {
				return c.RefreshToken.UpdateOneID(id).SetRevokedAt(time.Now().UTC()).Exec(ctx)
			},
			update: func(ctx context.Context, c *ent.Client) (int, error) {
				return c.RefreshToken.Update().SetRevokedAt(time.Now().UTC()).Save(ctx)
			},
			marked: func(ctx context.Context, c *ent.Client, id uuid.UUID) (bool, error) {
				rt, err := c.RefreshToken.Get(ctx, id)
				return err == nil && rt.RevokedAt != nil, err
			},
			deleteOne: func(ctx context.Context, c *ent.Client, id uuid.UUID) error {
				return c.RefreshToken.DeleteOneID(id).Exec(ctx)
			},
			delete: func(ctx context.Context, c *ent.Client) (int, error) { return c.RefreshToken.Delete().Exec(ctx) },
		},
	}
}

func sameIDs(a, b []uuid.UUID) bool {
	key := func(ids []uuid.UUID) []string {
		out := make([]string, len(ids))
		for i, id := range ids {
			out[i] = id.String()
		}
		slices.Sort(out)
		return out
	}
	return slices.Equal(key(a), key(b))
}

func TestTenantIsolation(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		t.Parallel()
		c := st.Client
		all := store.Unrestricted(context.Background())
		for _, k := range tenantOwnedTables(t) {
			t.Run(k.name, func(t *testing.T) {
				// Fresh tenants per table keep the counts exact.
				a, b := mustTenant(t, c, "A").ID, mustTenant(t, c, "B").ID
				ctxA, ctxB := userCtx(a), systemCtx(b)

				// Rows created in a tenant's context are stamped with its tenant.
				var aIDs []uuid.UUID
				for range 2 {
					id, err := k.create(ctxA, c, nil)
					if err != nil {
						t.Fatalf("create in A: %v", err)
					}
					aIDs = append(aIDs, id)
				}
				bID, err := k.create(ctxB, c, nil)
				if err != nil {
					t.Fatalf("create in B: %v", err)
				}
				for id, want := range map[uuid.UUID]uuid.UUID{aIDs[0]: a, aIDs[1]: a, bID: b} {
					if got, err := k.get(all, c, id); err != nil || got != want {
						t.Fatalf("row %s has tenant %s (%v), want %s", id, got, err, want)
					}
				}

				// Reads see only the context's tenant.
				if ids, err := k.ids(ctxA, c); err != nil || !sameIDs(ids, aIDs) {
					t.Errorf("A lists %v (%v), want %v", ids, err, aIDs)
				}
				if ids, err := k.ids(ctxB, c); err != nil || !sameIDs(ids, []uuid.UUID{bID}) {
					t.Errorf("B lists %v (%v), want [%s]", ids, err, bID)
				}
				if n, err := k.count(ctxA, c); err != nil || n != 2 {
					t.Errorf("A counts %d (%v), want 2", n, err)
				}
				if n, err := k.count(ctxB, c); err != nil || n != 1 {
					t.Errorf("B counts %d (%v), want 1", n, err)
				}
				if _, err := k.get(ctxA, c, aIDs[0]); err != nil {
					t.Errorf("A cannot get its own row: %v", err)
				}
				if _, err := k.get(ctxA, c, bID); !ent.IsNotFound(err) {
					t.Errorf("A gets B's row: err = %v, want not found", err)
				}

				// Changes to another tenant's row find nothing and change nothing.
				if err := k.updateOne(ctxA, c, bID); !ent.IsNotFound(err) {
					t.Errorf("A updates B's row: err = %v, want not found", err)
				}
				if m, err := k.marked(all, c, bID); err != nil || m {
					t.Errorf("B's row changed by A's update (%v)", err)
				}
				if err := k.deleteOne(ctxA, c, bID); !ent.IsNotFound(err) {
					t.Errorf("A deletes B's row: err = %v, want not found", err)
				}
				if _, err := k.get(all, c, bID); err != nil {
					t.Errorf("B's row is gone after A's delete: %v", err)
				}
				if err := k.updateOne(ctxA, c, aIDs[0]); err != nil {
					t.Errorf("A cannot update its own row: %v", err)
				}
				if m, err := k.marked(all, c, aIDs[0]); err != nil || !m {
					t.Errorf("A's own update did not land (%v)", err)
				}

				// A row for another tenant cannot be created in A's context;
				// naming A itself is fine.
				bTenant, aTenant := b, a
				if _, err := k.create(ctxA, c, &bTenant); !isDenied(err) {
					t.Errorf("A creates a row in B: err = %v, want a privacy denial", err)
				}
				if n, err := k.count(ctxB, c); err != nil || n != 1 {
					t.Errorf("B counts %d (%v) after A's refused create, want 1", n, err)
				}
				own, err := k.create(ctxA, c, &aTenant)
				if err != nil {
					t.Fatalf("A creates a row naming its own tenant: %v", err)
				}
				aIDs = append(aIDs, own)
				// Unrestricted code may create for any tenant.
				if _, err := k.create(all, c, &bTenant); err != nil {
					t.Errorf("unrestricted create in B: %v", err)
				}
				if n, err := k.count(ctxB, c); err != nil || n != 2 {
					t.Errorf("B counts %d (%v) after the unrestricted create, want 2", n, err)
				}

				// Bulk changes touch only the context's tenant.
				if n, err := k.update(ctxA, c); err != nil || n != len(aIDs) {
					t.Errorf("A's bulk update changed %d rows (%v), want %d", n, err, len(aIDs))
				}
				for _, id := range aIDs {
					if m, err := k.marked(all, c, id); err != nil || !m {
						t.Errorf("A's row %s missed the bulk update (%v)", id, err)
					}
				}
				if m, err := k.marked(all, c, bID); err != nil || m {
					t.Errorf("B's row changed by A's bulk update (%v)", err)
				}
				if n, err := k.delete(ctxA, c); err != nil || n != len(aIDs) {
					t.Errorf("A's bulk delete removed %d rows (%v), want %d", n, err, len(aIDs))
				}
				if n, err := k.count(ctxA, c); err != nil || n != 0 {
					t.Errorf("A still counts %d rows (%v)", n, err)
				}
				if n, err := k.count(ctxB, c); err != nil || n != 2 {
					t.Errorf("B counts %d (%v) after A's bulk delete, want 2", n, err)
				}
			})
		}
	})
}

func TestTenantIsolationFailsClosed(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		t.Parallel()
		c := st.Client
		all := store.Unrestricted(context.Background())
		contexts := map[string]context.Context{
			"no principal": context.Background(),
			"principal without a tenant": access.NewContext(context.Background(),
				&access.Principal{Kind: access.KindUser, ID: uuid.New(), Scopes: access.NewSet(access.All...)}),
			"nil principal": access.NewContext(context.Background(), nil),
		}
		for _, k := range tenantOwnedTables(t) {
			t.Run(k.name, func(t *testing.T) {
				a := mustTenant(t, c, "A").ID
				aID := a
				id, err := k.create(all, c, &aID)
				if err != nil {
					t.Fatalf("unrestricted create: %v", err)
				}
				for name, ctx := range contexts {
					if _, err := k.ids(ctx, c); !isDenied(err) {
						t.Errorf("%s: query err = %v, want denied", name, err)
					}
					if _, err := k.count(ctx, c); !isDenied(err) {
						t.Errorf("%s: count err = %v, want denied", name, err)
					}
					if _, err := k.get(ctx, c, id); !isDenied(err) {
						t.Errorf("%s: get err = %v, want denied", name, err)
					}
					if _, err := k.create(ctx, c, nil); !isDenied(err) {
						t.Errorf("%s: create err = %v, want denied", name, err)
					}
					if _, err := k.create(ctx, c, &aID); !isDenied(err) {
						t.Errorf("%s: create naming a tenant err = %v, want denied", name, err)
					}
					if err := k.updateOne(ctx, c, id); !isDenied(err) {
						t.Errorf("%s: update one err = %v, want denied", name, err)
					}
					if _, err := k.update(ctx, c); !isDenied(err) {
						t.Errorf("%s: bulk update err = %v, want denied", name, err)
					}
					if err := k.deleteOne(ctx, c, id); !isDenied(err) {
						t.Errorf("%s: delete one err = %v, want denied", name, err)
					}
					if _, err := k.delete(ctx, c); !isDenied(err) {
						t.Errorf("%s: bulk delete err = %v, want denied", name, err)
					}
				}
				// Nothing was changed or removed, and nothing was added.
				if m, err := k.marked(all, c, id); err != nil || m {
					t.Errorf("the row changed (%v)", err)
				}
				if n, err := k.count(userCtx(a), c); err != nil || n != 1 {
					t.Errorf("tenant counts %d rows (%v), want 1", n, err)
				}
				// Unrestricted code without a principal must still name the tenant.
				if _, err := k.create(all, c, nil); !isDenied(err) {
					t.Errorf("unrestricted create without a tenant: err = %v, want denied", err)
				}
			})
		}
	})
}

func TestTenantTable(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		t.Parallel()
		c := st.Client
		all := store.Unrestricted(context.Background())
		a, b := mustTenant(t, c, "A"), mustTenant(t, c, "B")
		ctxA := userCtx(a.ID)

		got, err := c.Tenant.Query().All(ctxA)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || got[0].ID != a.ID {
			t.Errorf("A sees tenants %v, want only its own", got)
		}
		if n, err := c.Tenant.Query().Count(ctxA); err != nil || n != 1 {
			t.Errorf("A counts %d tenants (%v), want 1", n, err)
		}
		if _, err := c.Tenant.Get(ctxA, b.ID); !ent.IsNotFound(err) {
			t.Errorf("A gets tenant B: err = %v, want not found", err)
		}
		if err := c.Tenant.UpdateOneID(b.ID).SetName("hijacked").Exec(ctxA); !ent.IsNotFound(err) {
			t.Errorf("A renames tenant B: err = %v, want not found", err)
		}
		if n, err := c.Tenant.Update().SetPlan("enterprise").Save(ctxA); err != nil || n != 1 {
			t.Errorf("A's bulk tenant update changed %d (%v), want 1", n, err)
		}
		if err := c.Tenant.DeleteOneID(b.ID).Exec(ctxA); !ent.IsNotFound(err) {
			t.Errorf("A deletes tenant B: err = %v, want not found", err)
		}
		bNow, err := c.Tenant.Get(all, b.ID)
		if err != nil {
			t.Fatalf("tenant B is gone: %v", err)
		}
		if bNow.Name != "B" || bNow.Plan != "free" {
			t.Errorf("tenant B changed: name %q plan %q", bNow.Name, bNow.Plan)
		}
		if aNow, err := c.Tenant.Get(all, a.ID); err != nil || aNow.Plan != "enterprise" {
			t.Errorf("tenant A's own update did not land: %+v, %v", aNow, err)
		}

		// Tenants are created only by unrestricted code.
		if _, err := c.Tenant.Create().SetName("C").SetSlug("c-" + uuid.NewString()[:8]).Save(ctxA); !isDenied(err) {
			t.Errorf("A creates a tenant: err = %v, want denied", err)
		}
		if _, err := c.Tenant.Create().SetName("D").SetSlug("d-" + uuid.NewString()[:8]).Save(context.Background()); !isDenied(err) {
			t.Errorf("no principal creates a tenant: err = %v, want denied", err)
		}

		// Without a principal the tenants table fails closed too.
		if _, err := c.Tenant.Query().All(context.Background()); !isDenied(err) {
			t.Errorf("tenant query without a principal: err = %v, want denied", err)
		}
		if _, err := c.Tenant.Query().Count(context.Background()); !isDenied(err) {
			t.Errorf("tenant count without a principal: err = %v, want denied", err)
		}
		if err := c.Tenant.UpdateOneID(a.ID).SetName("x").Exec(context.Background()); !isDenied(err) {
			t.Errorf("tenant update without a principal: err = %v, want denied", err)
		}
		if n, err := c.Tenant.Query().Where(tenant.IDIn(a.ID, b.ID)).Count(all); err != nil || n != 2 {
			t.Errorf("unrestricted count %d (%v), want 2", n, err)
		}
	})
}

// TestEdgesStayInTenant follows edges from a row to rows of another tenant:
// the data layer does not stop a cross-tenant reference from being stored,
// but reads through it are still filtered by the context's tenant.
func TestEdgesStayInTenant(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		t.Parallel()
		c := st.Client
		all := store.Unrestricted(context.Background())
		a, b := mustTenant(t, c, "A").ID, mustTenant(t, c, "B").ID
		ctxA := userCtx(a)
		saB, err := c.ServiceAccount.Create().SetName("b-robot").Save(systemCtx(b))
		if err != nil {
			t.Fatal(err)
		}
		key, err := c.APIKey.Create().SetTenantID(a).SetName("a-key").SetPrefix("abcd1234").
			SetKeyHash(randomBytes(t, 32)).SetServiceAccountID(saB.ID).Save(all)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := c.APIKey.QueryServiceAccount(key).Only(ctxA); !ent.IsNotFound(err) {
			t.Errorf("A reaches B's service account through an edge: err = %v", err)
		}
		keys, err := c.APIKey.Query().Where(apikey.ID(key.ID)).WithServiceAccount().All(ctxA)
		if err != nil {
			t.Fatal(err)
		}
		if len(keys) != 1 {
			t.Fatalf("A sees %d keys, want 1", len(keys))
		}
		if keys[0].Edges.ServiceAccount != nil {
			t.Error("eager loading returned B's service account in A's context")
		}
		if tn, err := c.APIKey.QueryTenant(key).Only(ctxA); err != nil || tn.ID != a {
			t.Errorf("A's key's tenant = %v (%v), want A", tn, err)
		}
	})
}

func TestAuditLogAppendOnly(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		t.Parallel()
		c := st.Client
		all := store.Unrestricted(context.Background())
		a, b := mustTenant(t, c, "A").ID, mustTenant(t, c, "B").ID
		ctxA, ctxB := userCtx(a), userCtx(b)
		entry := func(ctx context.Context, action string) *ent.AuditLog {
			t.Helper()
			e, err := c.AuditLog.Create().SetActorType("user").SetAction(action).
				SetOutcome(auditlog.OutcomeSuccess).Save(ctx)
			if err != nil {
				t.Fatalf("append %s: %v", action, err)
			}
			return e
		}
		eA, eB := entry(ctxA, "user.create"), entry(ctxB, "user.create")
		if eA.TenantID != a || eB.TenantID != b {
			t.Fatalf("entries stamped %s and %s, want %s and %s", eA.TenantID, eB.TenantID, a, b)
		}
		tamper := func(u *entsql.UpdateBuilder) { u.Set(auditlog.FieldAction, "tampered") }

		// Reads are per tenant, like every tenant-owned table.
		ids, err := c.AuditLog.Query().IDs(ctxA)
		if err != nil || !sameIDs(ids, []uuid.UUID{eA.ID}) {
			t.Errorf("A reads audit entries %v (%v), want only its own", ids, err)
		}
		if _, err := c.AuditLog.Query().All(context.Background()); !isDenied(err) {
			t.Errorf("audit query without a principal: err = %v, want denied", err)
		}

		// Even the owning tenant cannot change or remove its entries.
		if err := c.AuditLog.UpdateOneID(eA.ID).Modify(tamper).Exec(ctxA); !isDenied(err) {
			t.Errorf("update own entry: err = %v, want denied", err)
		}
		if _, err := c.AuditLog.Update().Modify(tamper).Save(ctxA); !isDenied(err) {
			t.Errorf("bulk update own entries: err = %v, want denied", err)
		}
		if err := c.AuditLog.DeleteOneID(eA.ID).Exec(ctxA); !isDenied(err) {
			t.Errorf("delete own entry: err = %v, want denied", err)
		}
		if _, err := c.AuditLog.Delete().Exec(ctxA); !isDenied(err) {
			t.Errorf("bulk delete own entries: err = %v, want denied", err)
		}
		if _, err := c.AuditLog.Delete().Exec(context.Background()); !isDenied(err) {
			t.Errorf("bulk delete without a principal: err = %v, want denied", err)
		}
		if got, err := c.AuditLog.Get(all, eA.ID); err != nil || got.Action != "user.create" {
			t.Fatalf("entry after refused changes: %+v, %v", got, err)
		}

		// Unrestricted code (the retention job) may.
		if err := c.AuditLog.UpdateOneID(eA.ID).Modify(tamper).Exec(all); err != nil {
			t.Errorf("unrestricted update: %v", err)
		}
		if got, err := c.AuditLog.Get(all, eA.ID); err != nil || got.Action != "tampered" {
			t.Errorf("unrestricted update did not land: %+v, %v", got, err)
		}
		if err := c.AuditLog.DeleteOneID(eA.ID).Exec(all); err != nil {
			t.Errorf("unrestricted delete: %v", err)
		}
		if _, err := c.AuditLog.Get(all, eA.ID); !ent.IsNotFound(err) {
			t.Errorf("entry still there after the unrestricted delete: %v", err)
		}
		if _, err := c.AuditLog.Get(all, eB.ID); err != nil {
			t.Errorf("B's entry is gone: %v", err)
		}
	})
}
