package webhooks_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/ent/webhookdelivery"
	"github.com/credvault/credvault/internal/platform/store"
	"github.com/credvault/credvault/internal/platform/store/storetest"
	"github.com/credvault/credvault/internal/webhooks"
)

// TestPruneKeepsWhatIsRecentOrUnfinished: retention deletes finished
// deliveries older than 30 days and the events left without deliveries,
// and keeps recent ones, unfinished ones and the events they send.
func TestPruneKeepsWhatIsRecentOrUnfinished(t *testing.T) {
	storetest.EachParallel(t, func(t *testing.T, st *store.Store) {
		ctx := store.Unrestricted(context.Background())
		db := st.Client
		tn, err := db.Tenant.Create().SetName("Retention").SetSlug("retention").Save(ctx)
		if err != nil {
			t.Fatal(err)
		}
		hook, err := db.Webhook.Create().SetTenantID(tn.ID).SetURL("https://example.com/hook").SetEvents([]string{"*"}).
			SetSecretSealed([]byte("sealed")).SetDekVersion(1).Save(ctx)
		if err != nil {
			t.Fatal(err)
		}
		old := time.Now().UTC().Add(-webhooks.Retention - time.Hour)
		event := func(created time.Time) *ent.WebhookEvent {
			ev, err := db.WebhookEvent.Create().SetTenantID(tn.ID).SetType(webhooks.WebhookTest).SetPayload([]byte(`{}`)).
				SetCreatedAt(created).Save(ctx)
			if err != nil {
				t.Fatal(err)
			}
			return ev
		}
		delivery := func(ev *ent.WebhookEvent, status webhookdelivery.Status, updated time.Time) uuid.UUID {
			d, err := db.WebhookDelivery.Create().SetTenantID(tn.ID).SetWebhookID(hook.ID).SetEventID(ev.ID).
				SetEventType(ev.Type).SetStatus(status).Save(ctx)
			if err != nil {
				t.Fatal(err)
			}
			// updated_at is set on every save: write the old time last.
			if err := db.WebhookDelivery.UpdateOneID(d.ID).SetUpdatedAt(updated).Exec(ctx); err != nil {
				t.Fatal(err)
			}
			return d.ID
		}
		gone := event(old)
		delivery(gone, webhookdelivery.StatusSucceeded, old)
		delivery(gone, webhookdelivery.StatusFailed, old)
		waiting := event(old)
		kept := delivery(waiting, webhookdelivery.StatusRetrying, old)
		recent := event(time.Now().UTC())
		recentDelivery := delivery(recent, webhookdelivery.StatusSucceeded, time.Now().UTC())

		n, err := webhooks.Prune(ctx, db, time.Now(), uuid.Nil)
		if err != nil {
			t.Fatal(err)
		}
		if n != 3 {
			t.Errorf("pruned %d rows, want 3 (two old finished deliveries and their event)", n)
		}
		for _, id := range []uuid.UUID{waiting.ID, recent.ID} {
			if _, err := db.WebhookEvent.Get(ctx, id); err != nil {
				t.Errorf("event %s: %v, want kept", id, err)
			}
		}
		if _, err := db.WebhookEvent.Get(ctx, gone.ID); !ent.IsNotFound(err) {
			t.Errorf("event with only old finished deliveries: %v, want pruned", err)
		}
		for _, id := range []uuid.UUID{kept, recentDelivery} {
			if _, err := db.WebhookDelivery.Get(ctx, id); err != nil {
				t.Errorf("delivery %s: %v, want kept", id, err)
			}
		}
	})
}
