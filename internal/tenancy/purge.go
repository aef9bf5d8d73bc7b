// Package tenancy holds what concerns a tenant as a whole: reading,
// updating and deleting it (Service), what it holds and does (stats,
// usage), and purging a deleted tenant's data.
package tenancy

import (
	"context"

	"github.com/google/uuid"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/ent/apikey"
	"github.com/credvault/credvault/ent/auditlog"
	"github.com/credvault/credvault/ent/credential"
	"github.com/credvault/credvault/ent/datakey"
	"github.com/credvault/credvault/ent/gatewayusage"
	"github.com/credvault/credvault/ent/guardrail"
	"github.com/credvault/credvault/ent/oauthclient"
	"github.com/credvault/credvault/ent/refreshtoken"
	"github.com/credvault/credvault/ent/revokedtoken"
	"github.com/credvault/credvault/ent/routerconfig"
	"github.com/credvault/credvault/ent/routerprovider"
	"github.com/credvault/credvault/ent/serviceaccount"
	"github.com/credvault/credvault/ent/ssoconfig"
	"github.com/credvault/credvault/ent/ssologinstate"
	"github.com/credvault/credvault/ent/tenant"
	"github.com/credvault/credvault/ent/usagecounter"
	"github.com/credvault/credvault/ent/user"
	"github.com/credvault/credvault/ent/webhook"
	"github.com/credvault/credvault/ent/webhookdelivery"
	"github.com/credvault/credvault/ent/webhookevent"
	"github.com/credvault/credvault/internal/platform/store"
)

// PurgeDeleted removes every row of each deleted tenant, or of tenant only
// if it is deleted, unless only is uuid.Nil; the tenant last, one tenant per
// transaction. The purge_deleted_tenants job runs it.
func PurgeDeleted(ctx context.Context, db *ent.Client, only uuid.UUID) (int, error) {
	ctx = store.Unrestricted(ctx)
	q := db.Tenant.Query().Where(tenant.StatusEQ(tenant.StatusDeleted))
	if only != uuid.Nil {
		q.Where(tenant.ID(only))
	}
	ids, err := q.IDs(ctx)
	if err != nil {
		return 0, err
	}
	for i, id := range ids {
		if err := store.WithTx(ctx, db, func(ctx context.Context, tx *ent.Client) error { return purge(ctx, tx, id) }); err != nil {
			return i, err
		}
	}
	return len(ids), nil
}

// purge deletes a tenant's rows in an order the foreign keys allow. Its
// credentials' ciphertexts and its DEKs go with them.
func purge(ctx context.Context, tx *ent.Client, id uuid.UUID) error {
	steps := []func() (int, error){
		func() (int, error) { return tx.WebhookDelivery.Delete().Where(webhookdelivery.TenantID(id)).Exec(ctx) },
		func() (int, error) { return tx.WebhookEvent.Delete().Where(webhookevent.TenantID(id)).Exec(ctx) },
		func() (int, error) { return tx.Webhook.Delete().Where(webhook.TenantID(id)).Exec(ctx) },
		func() (int, error) { return tx.Guardrail.Delete().Where(guardrail.TenantID(id)).Exec(ctx) },
		func() (int, error) { return tx.RouterProvider.Delete().Where(routerprovider.TenantID(id)).Exec(ctx) },
		func() (int, error) { return tx.RouterConfig.Delete().Where(routerconfig.TenantID(id)).Exec(ctx) },
		func() (int, error) { return tx.GatewayUsage.Delete().Where(gatewayusage.TenantID(id)).Exec(ctx) },
		func() (int, error) { return tx.SSOLoginState.Delete().Where(ssologinstate.TenantID(id)).Exec(ctx) },
		func() (int, error) { return tx.SSOConfig.Delete().Where(ssoconfig.TenantID(id)).Exec(ctx) },
		func() (int, error) { return tx.Credential.Delete().Where(credential.TenantID(id)).Exec(ctx) },
		func() (int, error) { return tx.DataKey.Delete().Where(datakey.TenantID(id)).Exec(ctx) },
		func() (int, error) { return tx.APIKey.Delete().Where(apikey.TenantID(id)).Exec(ctx) },
		func() (int, error) { return tx.OAuthClient.Delete().Where(oauthclient.TenantID(id)).Exec(ctx) },
		func() (int, error) { return tx.RevokedToken.Delete().Where(revokedtoken.TenantID(id)).Exec(ctx) },
		func() (int, error) { return tx.RefreshToken.Delete().Where(refreshtoken.TenantID(id)).Exec(ctx) },
		func() (int, error) { return tx.ServiceAccount.Delete().Where(serviceaccount.TenantID(id)).Exec(ctx) },
		func() (int, error) { return tx.User.Delete().Where(user.TenantID(id)).Exec(ctx) },
		func() (int, error) { return tx.AuditLog.Delete().Where(auditlog.TenantID(id)).Exec(ctx) },
		func() (int, error) { return tx.UsageCounter.Delete().Where(usagecounter.TenantID(id)).Exec(ctx) },
		func() (int, error) { return tx.Tenant.Delete().Where(tenant.ID(id)).Exec(ctx) },
	}
	for _, step := range steps {
		if _, err := step(); err != nil {
			return err
		}
	}
	return nil
}
