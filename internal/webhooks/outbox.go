package webhooks

import (
	"context"
	"encoding/json"
	"time"

	"github.com/google/uuid"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/ent/webhook"
	"github.com/credvault/credvault/internal/platform/invalidate"
	"github.com/credvault/credvault/internal/platform/store"
)

// Outbox records events in the transaction of the change they report and
// fans each out, in that same transaction, to a delivery per subscribed
// endpoint: an event exists exactly when its change committed.
type Outbox struct {
	// Shape renders a resource as REST shows it: an event's data. It never
	// holds a secret, as REST's read shapes hold none.
	Shape func(resource any) any
	// Kick wakes the dispatcher once an event has committed.
	Kick func()
	subs *invalidate.TenantCache[[]sub]
}

// NewOutbox returns an outbox whose subscription cache follows the bus.
func NewOutbox(bus *invalidate.Bus, shape func(any) any) *Outbox {
	return &Outbox{Shape: shape, Kick: func() {},
		subs: invalidate.NewTenantCache[[]sub](bus, invalidateKind, subsTTL, maxCachedSubs)}
}

// body is what every delivery of an event sends; Event repeats Type for
// clients of seed 003.
type body struct {
	Type      string    `json:"type"`
	Event     string    `json:"event"`
	Timestamp time.Time `json:"timestamp"`
	TenantID  uuid.UUID `json:"tenant_id"`
	Data      any       `json:"data"`
}

// Emit records an event of type typ about resource for tenant with tx, the
// client of the change's transaction: nothing at all when no enabled
// endpoint of the tenant subscribes to typ. A nil outbox emits nothing.
func (o *Outbox) Emit(ctx context.Context, tx *ent.Client, tenant uuid.UUID, typ string, resource any) error {
	if o == nil {
		return nil
	}
	hooks, err := o.subscribed(ctx, tx, tenant, typ)
	if err != nil || len(hooks) == 0 {
		return err
	}
	_, _, err = o.record(ctx, tx, tenant, typ, o.Shape(resource), hooks)
	return err
}

// record writes the event and one pending delivery to each of hooks, and
// kicks the dispatcher when the transaction commits.
func (o *Outbox) record(ctx context.Context, tx *ent.Client, tenant uuid.UUID, typ string, data any, hooks []uuid.UUID) (*ent.WebhookEvent, []*ent.WebhookDelivery, error) {
	ctx = store.Unrestricted(ctx)
	now := store.Now()
	payload, err := json.Marshal(body{Type: typ, Event: typ, Timestamp: now, TenantID: tenant, Data: data})
	if err != nil {
		return nil, nil, err
	}
	ev, err := tx.WebhookEvent.Create().SetTenantID(tenant).SetType(typ).SetPayload(payload).Save(ctx)
	if err != nil {
		return nil, nil, err
	}
	creates := make([]*ent.WebhookDeliveryCreate, len(hooks))
	for i, h := range hooks {
		creates[i] = tx.WebhookDelivery.Create().SetTenantID(tenant).SetWebhookID(h).SetEventID(ev.ID).
			SetEventType(typ).SetNextAttemptAt(now)
	}
	ds, err := tx.WebhookDelivery.CreateBulk(creates...).Save(ctx)
	if err != nil {
		return nil, nil, err
	}
	o.kickOnCommit(ctx)
	return ev, ds, nil
}

// kickOnCommit wakes the dispatcher once the transaction in ctx commits,
// or at once outside one.
func (o *Outbox) kickOnCommit(ctx context.Context) {
	t := ent.TxFromContext(ctx)
	if t == nil {
		o.Kick()
		return
	}
	t.OnCommit(func(next ent.Committer) ent.Committer {
		return ent.CommitFunc(func(ctx context.Context, tx *ent.Tx) error {
			err := next.Commit(ctx, tx)
			if err == nil {
				o.Kick()
			}
			return err
		})
	})
}

// subscribed returns the enabled endpoints of tenant that receive typ,
// from the cache of each tenant's subscriptions, so a change of a tenant
// without webhooks costs no statement.
func (o *Outbox) subscribed(ctx context.Context, tx *ent.Client, tenant uuid.UUID, typ string) ([]uuid.UUID, error) {
	list, err := o.subs.Get(tenant, func() ([]sub, error) {
		rows, err := tx.Webhook.Query().Where(webhook.TenantID(tenant), webhook.Enabled(true)).
			Select(webhook.FieldID, webhook.FieldEvents).All(store.Unrestricted(ctx))
		if err != nil {
			return nil, err
		}
		list := make([]sub, len(rows))
		for i, r := range rows {
			list[i] = sub{id: r.ID, events: r.Events}
		}
		return list, nil
	})
	if err != nil {
		return nil, err
	}
	var out []uuid.UUID
	for _, s := range list {
		if wants(s.events, typ) {
			out = append(out, s.id)
		}
	}
	return out, nil
}

// Cache bounds: every change of an endpoint drops its tenant on every
// instance through the bus; the TTL bounds staleness should one be lost.
const (
	subsTTL        = time.Minute
	maxCachedSubs  = 10_000
	invalidateKind = "webhook"
)

// Changed is the topic announcing that tenant's endpoints changed.
func Changed(tenant uuid.UUID) invalidate.Topic {
	return invalidate.For(invalidateKind, tenant.String())
}

type sub struct {
	id     uuid.UUID
	events []string
}
