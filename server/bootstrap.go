package server

import (
	"context"
	"fmt"
	"strings"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/ent/tenant"
	"github.com/credvault/credvault/ent/user"
	"github.com/credvault/credvault/internal/access"
	"github.com/credvault/credvault/internal/audit"
	"github.com/credvault/credvault/internal/identity/password"
	"github.com/credvault/credvault/internal/platform/store"
)

// PlatformSlug is the slug of the platform tenant.
const PlatformSlug = "platform"

// Bootstrap makes sure the platform tenant exists and, when email is given,
// that it has an owner with that email, its password hashed at the argon2
// cost. An existing admin is left as it is, so running it at every start-up
// changes nothing the second time. Two instances starting at once race on
// the unique slug: the loser tries again and finds the winner's rows.
func Bootstrap(ctx context.Context, st *store.Store, email, pw string, argon2 password.Params) error {
	err := bootstrap(ctx, st, email, pw, argon2)
	if ent.IsConstraintError(err) {
		err = bootstrap(ctx, st, email, pw, argon2)
	}
	return err
}

func bootstrap(ctx context.Context, st *store.Store, email, pw string, argon2 password.Params) error {
	ctx = store.Unrestricted(ctx)
	return store.WithTx(ctx, st.Client, func(ctx context.Context, tx *ent.Client) error {
		pt, err := tx.Tenant.Query().Where(tenant.Platform(true)).Only(ctx)
		if ent.IsNotFound(err) {
			pt, err = tx.Tenant.Create().SetName("Platform").SetSlug(PlatformSlug).
				SetPlatform(true).SetPlan("enterprise").Save(ctx)
		}
		if err != nil {
			return fmt.Errorf("bootstrap: platform tenant: %w", err)
		}
		if email == "" {
			return nil
		}
		email = strings.ToLower(strings.TrimSpace(email))
		exists, err := tx.User.Query().Where(user.TenantID(pt.ID), user.Email(email)).Exist(ctx)
		if err != nil || exists {
			return err
		}
		if reason := password.Check(pw); reason != "" {
			return fmt.Errorf("bootstrap: CREDVAULT_ADMIN_PASSWORD is %s: a password has %d to %d characters",
				strings.ReplaceAll(reason, "_", " "), password.MinLength, password.MaxLength)
		}
		hash, err := argon2.Hash(pw)
		if err != nil {
			return err
		}
		admin, err := tx.User.Create().SetTenantID(pt.ID).SetEmail(email).SetName("Platform admin").
			SetRole(user.RoleOwner).SetPasswordHash(hash).Save(ctx)
		if err != nil {
			return fmt.Errorf("bootstrap: platform admin: %w", err)
		}
		sys := access.NewContext(ctx, access.System(pt.ID))
		return audit.Record(sys, tx, audit.Entry{Action: "user.create", ResourceType: "user",
			ResourceID: admin.ID.String(), Details: map[string]any{"source": "bootstrap", "role": "owner"}})
	})
}
