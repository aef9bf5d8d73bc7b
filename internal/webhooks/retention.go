package webhooks

import (
	"context"
	"time"

	"entgo.io/ent/dialect/sql"
	"github.com/google/uuid"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/ent/webhookdelivery"
	"github.com/credvault/credvault/ent/webhookevent"
	"github.com/credvault/credvault/internal/platform/store"
)

// Retention is how long the delivery log keeps a finished delivery, and
// the outbox an event, after their last change.
const Retention = 30 * 24 * time.Hour

// Prune deletes deliveries that finished (succeeded or failed) longer than
// Retention before now, then the events older than that with no delivery
// left, of every tenant or only tenant only's unless it is uuid.Nil; the
// audit_retention job runs it. It returns how many rows went.
func Prune(ctx context.Context, db *ent.Client, now time.Time, only uuid.UUID) (int, error) {
	ctx = store.Unrestricted(ctx)
	cutoff := now.Add(-Retention)
	dq := db.WebhookDelivery.Delete().Where(
		webhookdelivery.StatusIn(webhookdelivery.StatusSucceeded, webhookdelivery.StatusFailed),
		webhookdelivery.UpdatedAtLT(cutoff))
	eq := db.WebhookEvent.Delete().Where(webhookevent.CreatedAtLT(cutoff))
	if only != uuid.Nil {
		dq.Where(webhookdelivery.TenantID(only))
		eq.Where(webhookevent.TenantID(only))
	}
	deliveries, err := dq.Exec(ctx)
	if err != nil {
		return 0, err
	}
	events, err := eq.Where(func(s *sql.Selector) {
		d := sql.Table(webhookdelivery.Table)
		s.Where(sql.NotExists(sql.Select(d.C(webhookdelivery.FieldID)).From(d).
			Where(sql.ColumnsEQ(d.C(webhookdelivery.FieldEventID), s.C(webhookevent.FieldID)))))
	}).Exec(ctx)
	return deliveries + events, err
}
