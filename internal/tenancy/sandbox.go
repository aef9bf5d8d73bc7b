package tenancy

import (
	"context"

	"github.com/google/uuid"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/ent/apikey"
	"github.com/credvault/credvault/ent/auditlog"
	"github.com/credvault/credvault/ent/credential"
	"github.com/credvault/credvault/ent/oauthclient"
	"github.com/credvault/credvault/ent/revokedtoken"
	"github.com/credvault/credvault/ent/serviceaccount"
	"github.com/credvault/credvault/ent/tenant"
	"github.com/credvault/credvault/ent/webhook"
	"github.com/credvault/credvault/ent/webhookdelivery"
	"github.com/credvault/credvault/ent/webhookevent"
	"github.com/credvault/credvault/internal/access"
	"github.com/credvault/credvault/internal/audit"
	"github.com/credvault/credvault/internal/platform/invalidate"
	"github.com/credvault/credvault/internal/platform/store"
)

// ResetSandboxes clears the test data of sandbox tenants, as the
// reset_sandbox_tenants job does every day: tenant only when it is not
// uuid.Nil (and is a sandbox), else every sandbox that is not deleted. It
// returns how many tenants it reset, one per transaction.
func ResetSandboxes(ctx context.Context, db *ent.Client, bus *invalidate.Bus, only uuid.UUID) (int, error) {
	ctx = store.Unrestricted(ctx)
	q := db.Tenant.Query().Where(tenant.Plan(access.PlanSandbox), tenant.StatusNEQ(tenant.StatusDeleted))
	if only != uuid.Nil {
		q.Where(tenant.ID(only))
	}
	ids, err := q.IDs(ctx)
	if err != nil {
		return 0, err
	}
	for i, id := range ids {
		if err := store.WithTx(ctx, db, func(ctx context.Context, tx *ent.Client) error { return reset(ctx, tx, bus, id) }); err != nil {
			return i, err
		}
	}
	return len(ids), nil
}

// reset deletes sandbox id's API keys, OAuth clients and the revocations of
// their tokens, credentials, webhooks with their events and deliveries,
// service accounts and audit trail, in an order the foreign keys allow. Its
// users, their sessions and its DEKs stay. The trail starts again with the
// reset's own entry, and every instance drops what it cached of the tenant.
func reset(ctx context.Context, tx *ent.Client, bus *invalidate.Bus, id uuid.UUID) error {
	steps := []struct {
		table string
		run   func() (int, error)
	}{
		{"webhook_deliveries", func() (int, error) { return tx.WebhookDelivery.Delete().Where(webhookdelivery.TenantID(id)).Exec(ctx) }},
		{"webhook_events", func() (int, error) { return tx.WebhookEvent.Delete().Where(webhookevent.TenantID(id)).Exec(ctx) }},
		{"webhooks", func() (int, error) { return tx.Webhook.Delete().Where(webhook.TenantID(id)).Exec(ctx) }},
		// Overwrite the ciphertexts before the rows go, as deleting one
		// credential does, so no copy lingers in the live table.
		{"", func() (int, error) {
			return tx.Credential.Update().Where(credential.TenantID(id)).SetCiphertext([]byte{}).Save(ctx)
		}},
		{"credentials", func() (int, error) { return tx.Credential.Delete().Where(credential.TenantID(id)).Exec(ctx) }},
		{"api_keys", func() (int, error) { return tx.APIKey.Delete().Where(apikey.TenantID(id)).Exec(ctx) }},
		{"revoked_tokens", func() (int, error) { return tx.RevokedToken.Delete().Where(revokedtoken.TenantID(id)).Exec(ctx) }},
		{"oauth_clients", func() (int, error) { return tx.OAuthClient.Delete().Where(oauthclient.TenantID(id)).Exec(ctx) }},
		{"service_accounts", func() (int, error) { return tx.ServiceAccount.Delete().Where(serviceaccount.TenantID(id)).Exec(ctx) }},
		{"audit_logs", func() (int, error) { return tx.AuditLog.Delete().Where(auditlog.TenantID(id)).Exec(ctx) }},
	}
	removed := map[string]any{}
	for _, step := range steps {
		n, err := step.run()
		if err != nil {
			return err
		}
		if step.table != "" {
			removed[step.table] = n
		}
	}
	err := audit.Record(access.NewContext(ctx, access.System(id)), tx, audit.Entry{Action: "tenant.sandbox_reset",
		ResourceType: "tenant", ResourceID: id.String(), TenantID: id, Details: map[string]any{"removed": removed}})
	if err != nil {
		return err
	}
	return bus.Publish(ctx, tx, invalidate.For(invalidate.Tenant, id.String()))
}
