// Package webhooks sends a tenant's events to its endpoints (SPEC §11):
// the endpoints themselves (Service), the outbox that records each event in
// the transaction of its change (Outbox), and the dispatcher that delivers
// them at least once, signed as the Standard Webhooks specification says,
// retrying on a schedule (Dispatcher).
package webhooks

import (
	"context"
	"net/url"
	"slices"
	"strings"
	"time"

	"entgo.io/contrib/entgql"
	"entgo.io/ent/dialect/sql"
	"entgo.io/ent/dialect/sql/sqljson"
	"github.com/google/uuid"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/ent/predicate"
	"github.com/credvault/credvault/ent/webhook"
	"github.com/credvault/credvault/ent/webhookdelivery"
	"github.com/credvault/credvault/internal/access"
	"github.com/credvault/credvault/internal/access/authz"
	"github.com/credvault/credvault/internal/audit"
	"github.com/credvault/credvault/internal/platform/apperr"
	"github.com/credvault/credvault/internal/platform/ids"
	"github.com/credvault/credvault/internal/platform/invalidate"
	"github.com/credvault/credvault/internal/platform/paging"
	"github.com/credvault/credvault/internal/platform/secret"
	"github.com/credvault/credvault/internal/platform/store"
	"github.com/credvault/credvault/internal/vault/crypt"
	"github.com/credvault/credvault/internal/vault/dek"
)

// Service creates, changes, rotates, tests and lists a tenant's endpoints
// and their deliveries. It owns the rules of its operations, so GraphQL
// and REST both call it and neither repeats one.
type Service struct {
	Client  *ent.Client
	Guard   *authz.Guard
	Bus     *invalidate.Bus
	DEKs    *dek.Manager
	Outbox  *Outbox
	Targets Targets
}

// maxDescription bounds an endpoint's description.
const maxDescription = 500

// Create registers an endpoint of the caller's tenant and returns it with
// its secret, shown this once.
func (s *Service) Create(ctx context.Context, in CreateWebhookInput) (*CreatedWebhook, error) {
	p, err := s.Guard.Require(ctx, access.CreateWebhook)
	if err != nil {
		return nil, err
	}
	url, err := s.Targets.Check(ctx, in.URL)
	if err != nil {
		return nil, err
	}
	events, err := checkEvents(in.Events)
	if err != nil {
		return nil, err
	}
	desc, err := checkDescription(in.Description)
	if err != nil {
		return nil, err
	}
	enabled := in.Enabled == nil || *in.Enabled
	sec, err := newSecret()
	if err != nil {
		return nil, err
	}
	w, err := store.Write(ctx, s.Client, func(ctx context.Context, tx *ent.Client) (*ent.Webhook, error) {
		id := ids.New()
		version, sealed, err := s.seal(ctx, tx, p.TenantID, id, sec)
		if err != nil {
			return nil, err
		}
		w, err := tx.Webhook.Create().SetID(id).SetURL(url).SetEvents(events).SetDescription(desc).SetEnabled(enabled).
			SetSecretSealed(sealed).SetDekVersion(version).SetCreatedBy(p.ID).Save(ctx)
		if err != nil {
			return nil, err
		}
		if err := audit.Record(ctx, tx, audit.Entry{Action: "webhook.create", ResourceType: "webhook", ResourceID: w.ID.String(),
			Details: map[string]any{"url": withoutQuery(w.URL), "events": w.Events, "enabled": w.Enabled}}); err != nil {
			return nil, err
		}
		return w, s.Bus.Publish(ctx, tx, Changed(w.TenantID))
	})
	if err != nil {
		return nil, err
	}
	return &CreatedWebhook{Secret: sec, Webhook: w}, nil
}

// Update changes the fields in sets; enabling an endpoint clears why it was
// disabled.
func (s *Service) Update(ctx context.Context, id uuid.UUID, in UpdateWebhookInput) (*ent.Webhook, error) {
	if _, err := s.Guard.Require(ctx, access.UpdateWebhook); err != nil {
		return nil, err
	}
	var sets []func(*ent.WebhookUpdateOne)
	var changed []string
	if in.URL != nil {
		url, err := s.Targets.Check(ctx, *in.URL)
		if err != nil {
			return nil, err
		}
		sets, changed = append(sets, func(u *ent.WebhookUpdateOne) { u.SetURL(url) }), append(changed, "url")
	}
	if in.Events != nil {
		events, err := checkEvents(in.Events)
		if err != nil {
			return nil, err
		}
		sets, changed = append(sets, func(u *ent.WebhookUpdateOne) { u.SetEvents(events) }), append(changed, "events")
	}
	if in.Description != nil {
		desc, err := checkDescription(in.Description)
		if err != nil {
			return nil, err
		}
		sets, changed = append(sets, func(u *ent.WebhookUpdateOne) { u.SetDescription(desc) }), append(changed, "description")
	}
	if in.Enabled != nil {
		enabled := *in.Enabled
		sets = append(sets, func(u *ent.WebhookUpdateOne) {
			u.SetEnabled(enabled)
			if enabled {
				u.ClearDisabledReason()
			}
		})
		changed = append(changed, "enabled")
	}
	return store.Write(ctx, s.Client, func(ctx context.Context, tx *ent.Client) (*ent.Webhook, error) {
		w, err := tx.Webhook.Get(ctx, id)
		if err != nil {
			return nil, err
		}
		upd := tx.Webhook.UpdateOne(w)
		for _, set := range sets {
			set(upd)
		}
		if w, err = upd.Save(ctx); err != nil {
			return nil, err
		}
		if err := audit.Record(ctx, tx, audit.Entry{Action: "webhook.update", ResourceType: "webhook", ResourceID: w.ID.String(),
			Details: map[string]any{"fields": changed}}); err != nil {
			return nil, err
		}
		return w, s.Bus.Publish(ctx, tx, Changed(w.TenantID))
	})
}

// Delete removes the endpoint and its deliveries, pending ones included.
func (s *Service) Delete(ctx context.Context, id uuid.UUID) (uuid.UUID, error) {
	if _, err := s.Guard.Require(ctx, access.DeleteWebhook); err != nil {
		return uuid.Nil, err
	}
	_, err := store.Write(ctx, s.Client, func(ctx context.Context, tx *ent.Client) (*ent.Webhook, error) {
		w, err := tx.Webhook.Get(ctx, id)
		if err != nil {
			return nil, err
		}
		if _, err := tx.WebhookDelivery.Delete().Where(webhookdelivery.WebhookID(id)).Exec(ctx); err != nil {
			return nil, err
		}
		if err := tx.Webhook.DeleteOne(w).Exec(ctx); err != nil {
			return nil, err
		}
		if err := audit.Record(ctx, tx, audit.Entry{Action: "webhook.delete", ResourceType: "webhook", ResourceID: w.ID.String(),
			Details: map[string]any{"url": withoutQuery(w.URL)}}); err != nil {
			return nil, err
		}
		return w, s.Bus.Publish(ctx, tx, Changed(w.TenantID))
	})
	if err != nil {
		return uuid.Nil, err
	}
	return id, nil
}

// RotateSecret gives the endpoint a new secret, shown this once; for the
// grace period, if any, deliveries carry signatures by both.
func (s *Service) RotateSecret(ctx context.Context, id uuid.UUID, in *RotateWebhookSecretInput) (*CreatedWebhook, error) {
	if _, err := s.Guard.Require(ctx, access.RotateWebhookSecret); err != nil {
		return nil, err
	}
	var seconds *int
	if in != nil {
		seconds = in.GracePeriodSeconds
	}
	grace, err := secret.GraceSeconds(seconds)
	if err != nil {
		return nil, err
	}
	sec, err := newSecret()
	if err != nil {
		return nil, err
	}
	w, err := store.Write(ctx, s.Client, func(ctx context.Context, tx *ent.Client) (*ent.Webhook, error) {
		w, err := tx.Webhook.Get(ctx, id)
		if err != nil {
			return nil, err
		}
		// Conditional on the secret read, as a key's rotation: of two
		// rotations at once, one wins and the other is a 409, never a
		// secret handed out that a concurrent rotation overwrote.
		upd := tx.Webhook.UpdateOne(w).Where(webhook.SecretSealed(w.SecretSealed))
		if grace > 0 {
			old, err := openSecret(ctx, s.DEKs, w, w.SecretSealed)
			if err != nil {
				return nil, err
			}
			version, sealedNew, sealedOld, err := s.sealPair(ctx, tx, w, sec, old)
			if err != nil {
				return nil, err
			}
			upd.SetSecretSealed(sealedNew).SetPreviousSecretSealed(sealedOld).SetDekVersion(version).
				SetPreviousSecretExpiresAt(store.Now().Add(time.Duration(grace) * time.Second))
		} else {
			version, sealed, err := s.seal(ctx, tx, w.TenantID, w.ID, sec)
			if err != nil {
				return nil, err
			}
			upd.SetSecretSealed(sealed).SetDekVersion(version).ClearPreviousSecretSealed().ClearPreviousSecretExpiresAt()
		}
		if w, err = upd.Save(ctx); ent.IsNotFound(err) {
			return nil, apperr.New(apperr.Conflict, "the webhook's secret was rotated concurrently; try again")
		} else if err != nil {
			return nil, err
		}
		return w, audit.Record(ctx, tx, audit.Entry{Action: "webhook.rotate_secret", ResourceType: "webhook",
			ResourceID: w.ID.String(), Details: map[string]any{"grace_period_seconds": grace}})
	})
	if err != nil {
		return nil, err
	}
	return &CreatedWebhook{Secret: sec, Webhook: w}, nil
}

// Test queues a webhook.test event for the endpoint alone, whatever it
// subscribes to.
func (s *Service) Test(ctx context.Context, id uuid.UUID) (*SentTest, error) {
	if _, err := s.Guard.Require(ctx, access.TestWebhook); err != nil {
		return nil, err
	}
	var sent SentTest
	err := store.WithTx(ctx, s.Client, func(ctx context.Context, tx *ent.Client) error {
		w, err := tx.Webhook.Get(ctx, id)
		if err != nil {
			return err
		}
		data := map[string]any{"webhook_id": w.ID, "url": w.URL, "message": "A test event from CredVault."}
		ev, ds, err := s.Outbox.record(ctx, tx, w.TenantID, WebhookTest, data, []uuid.UUID{w.ID})
		if err != nil {
			return err
		}
		sent = SentTest{EventID: ev.ID, Delivery: ds[0]}
		return audit.Record(ctx, tx, audit.Entry{Action: "webhook.test", ResourceType: "webhook", ResourceID: w.ID.String(),
			Details: map[string]any{"event_id": ev.ID}})
	})
	if err != nil {
		return nil, err
	}
	sent.Delivery = store.Detach(ctx, sent.Delivery)
	return &sent, nil
}

// RetryDelivery makes a delivery of the endpoint due now: one more attempt,
// then the rest of the schedule if attempts remain.
func (s *Service) RetryDelivery(ctx context.Context, webhookID, deliveryID uuid.UUID) (*ent.WebhookDelivery, error) {
	if _, err := s.Guard.Require(ctx, access.RetryWebhookDelivery); err != nil {
		return nil, err
	}
	d, err := store.Write(ctx, s.Client, func(ctx context.Context, tx *ent.Client) (*ent.WebhookDelivery, error) {
		d, err := tx.WebhookDelivery.Query().Where(webhookdelivery.ID(deliveryID), webhookdelivery.WebhookID(webhookID)).
			WithWebhook().Only(ctx)
		if err != nil {
			return nil, err
		}
		if !d.Edges.Webhook.Enabled {
			return nil, apperr.New(apperr.Conflict, "the webhook is disabled; enable it before retrying its deliveries")
		}
		if d.LockedUntil != nil && d.LockedUntil.After(store.Now()) {
			return nil, apperr.New(apperr.Conflict, "the delivery is being attempted now")
		}
		status := webhookdelivery.StatusRetrying
		if d.Attempt == 0 {
			status = webhookdelivery.StatusPending
		}
		if d, err = tx.WebhookDelivery.UpdateOne(d).SetStatus(status).SetNextAttemptAt(store.Now()).Save(ctx); err != nil {
			return nil, err
		}
		if err := audit.Record(ctx, tx, audit.Entry{Action: "webhook.delivery_retry", ResourceType: "webhook", ResourceID: webhookID.String(),
			Details: map[string]any{"delivery_id": d.ID, "event_id": d.EventID}}); err != nil {
			return nil, err
		}
		s.Outbox.kickOnCommit(ctx)
		return d, nil
	})
	return d, err
}

// EventTypes is the catalogue.
func (s *Service) EventTypes(ctx context.Context) ([]*EventType, error) {
	if _, err := s.Guard.Require(ctx, access.ListWebhookEventTypes); err != nil {
		return nil, err
	}
	out := make([]*EventType, len(Catalogue))
	for i := range Catalogue {
		out[i] = &Catalogue[i]
	}
	return out, nil
}

// Get is the tenant's endpoint with id.
func (s *Service) Get(ctx context.Context, id uuid.UUID) (*ent.Webhook, error) {
	if _, err := s.Guard.Require(ctx, access.ReadWebhook); err != nil {
		return nil, err
	}
	return s.Client.Webhook.Get(ctx, id)
}

// Page is a page of the tenant's endpoints as a GraphQL connection.
func (s *Service) Page(ctx context.Context, after *entgql.Cursor[uuid.UUID], first *int, before *entgql.Cursor[uuid.UUID], last *int,
	orderBy *ent.WebhookOrder, where *ent.WebhookWhereInput) (*ent.WebhookConnection, error) {
	if _, err := s.Guard.Require(ctx, access.ListWebhooks); err != nil {
		return nil, err
	}
	return paging.Connection(ctx, s.Client.Webhook.Query(), where.Filter, first, last, paging.Cursors{After: after, Before: before, Order: orderBy},
		func(ctx context.Context, q *ent.WebhookQuery, first, last *int) (*ent.WebhookConnection, error) {
			return q.Paginate(ctx, after, first, before, last, ent.WithWebhookOrder(orderBy))
		}, func(c *ent.WebhookConnection) (*int, ent.PageInfo) { return &c.TotalCount, c.PageInfo })
}

// List is one offset page of the tenant's endpoints matching f, and how
// many match: the REST list.
func (s *Service) List(ctx context.Context, f *ListFilter, w paging.Window) ([]*ent.Webhook, int, error) {
	_, err := s.Guard.Require(ctx, access.ListWebhooks)
	if err == nil && f.Event != nil {
		if !knownType(*f.Event) {
			return nil, 0, apperr.Invalid("event", "unknown").With("allowed", TypeNames())
		}
		f.AddPredicates(receives(*f.Event))
	}
	return paging.List(ctx, s.Client.Webhook.Query(), err, &f.WebhookWhereInput, w,
		func(q *ent.WebhookQuery) *ent.WebhookQuery { return q.Order(w.Term(), w.Tie()) })
}

// Deliveries is one offset page of an endpoint's deliveries matching
// where: the REST delivery log. An unknown endpoint is 404.
func (s *Service) Deliveries(ctx context.Context, webhookID uuid.UUID, where *ent.WebhookDeliveryWhereInput, w paging.Window) ([]*ent.WebhookDelivery, int, error) {
	_, err := s.Guard.Require(ctx, access.ListWebhookDeliveries)
	if err == nil {
		_, err = s.Client.Webhook.Get(ctx, webhookID)
	}
	return paging.List(ctx, s.Client.WebhookDelivery.Query().Where(webhookdelivery.WebhookID(webhookID)), err, where, w,
		func(q *ent.WebhookDeliveryQuery) *ent.WebhookDeliveryQuery { return q.Order(w.Term(), w.Tie()) })
}

// receives is the endpoints that receive events of type t.
func receives(t string) predicate.Webhook {
	return func(s *sql.Selector) {
		s.Where(sql.Or(sqljson.ValueContains(s.C(webhook.FieldEvents), t), sqljson.ValueContains(s.C(webhook.FieldEvents), everyType)))
	}
}

// checkEvents accepts a non-empty list of catalogue types, or ["*"].
func checkEvents(events []string) ([]string, error) {
	if len(events) == 0 {
		return nil, apperr.Invalid("events", "required")
	}
	out := make([]string, 0, len(events))
	for _, e := range events {
		switch {
		case e == everyType && len(events) == 1:
		case !knownType(e):
			return nil, apperr.Invalid("events", "unknown").With("value", e).With("allowed", append(TypeNames(), everyType))
		}
		if !slices.Contains(out, e) {
			out = append(out, e)
		}
	}
	return out, nil
}

// TypeNames lists the catalogue's event types, for validation and filters.
func TypeNames() []string {
	out := make([]string, len(Catalogue))
	for i, e := range Catalogue {
		out[i] = e.Type
	}
	return out
}

func checkDescription(d *string) (string, error) {
	if d == nil {
		return "", nil
	}
	desc := strings.TrimSpace(*d)
	if len(desc) > maxDescription {
		return "", apperr.Invalid("description", "too long").With("max", maxDescription)
	}
	return desc, nil
}

// withoutQuery is an endpoint URL as the audit trail records it: the query,
// which may carry a token for the receiver, is left out.
func withoutQuery(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	u.RawQuery, u.Fragment = "", ""
	return u.String()
}

// seal seals an endpoint's secret with the tenant's active DEK.
func (s *Service) seal(ctx context.Context, tx *ent.Client, tenant, id uuid.UUID, sec string) (int, []byte, error) {
	version, key, err := s.DEKs.Active(ctx, tx, tenant)
	if err != nil {
		return 0, nil, err
	}
	sealed, err := crypt.WebhookSecret.Seal(key, []byte(sec), tenant, id, version)
	return version, sealed, err
}

// sealPair seals a new secret and the one it replaces with the active DEK:
// an endpoint's two secrets always share a DEK version.
func (s *Service) sealPair(ctx context.Context, tx *ent.Client, w *ent.Webhook, next, old string) (int, []byte, []byte, error) {
	version, sealedNew, err := s.seal(ctx, tx, w.TenantID, w.ID, next)
	if err != nil {
		return 0, nil, nil, err
	}
	key, err := s.DEKs.Key(ctx, w.TenantID, version)
	if err != nil {
		return 0, nil, nil, err
	}
	sealedOld, err := crypt.WebhookSecret.Seal(key, []byte(old), w.TenantID, w.ID, version)
	return version, sealedNew, sealedOld, err
}

// openSecret opens one of w's sealed secrets: the current, or the
// previous one during a rotation's grace period.
func openSecret(ctx context.Context, deks *dek.Manager, w *ent.Webhook, sealed []byte) (string, error) {
	key, err := deks.Key(ctx, w.TenantID, w.DekVersion)
	if err != nil {
		return "", err
	}
	b, err := crypt.WebhookSecret.Open(key, sealed, w.TenantID, w.ID, w.DekVersion)
	if err != nil {
		return "", err
	}
	return string(b), nil
}
