package webhooks

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	"entgo.io/ent/dialect"
	"entgo.io/ent/dialect/sql"
	"github.com/google/uuid"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/ent/schema/schematype"
	"github.com/credvault/credvault/ent/webhook"
	"github.com/credvault/credvault/ent/webhookdelivery"
	"github.com/credvault/credvault/ent/webhookevent"
	"github.com/credvault/credvault/internal/audit"
	"github.com/credvault/credvault/internal/platform/invalidate"
	"github.com/credvault/credvault/internal/platform/metrics"
	"github.com/credvault/credvault/internal/platform/store"
	"github.com/credvault/credvault/internal/vault/dek"
)

// Dispatcher delivers due deliveries. The deliveries table is its queue: a
// batch of due rows is claimed for a lease (FOR UPDATE SKIP LOCKED on
// PostgreSQL, so instances share the work), each is sent, signed, and its
// outcome recorded; a delivery whose dispatcher died is claimed again when
// the lease lapses, so every event arrives at least once, with the same
// webhook-id each time.
type Dispatcher struct {
	db       *ent.Client
	postgres bool
	deks     *dek.Manager
	bus      *invalidate.Bus
	metrics  *metrics.Metrics
	logger   *slog.Logger
	client   *http.Client
	opts     DispatchOptions
	wake     chan struct{}
}

// DispatchOptions tune a dispatcher.
type DispatchOptions struct {
	// Timeout bounds one attempt: connecting, sending and the answer.
	Timeout time.Duration
	// Schedule is the wait before each retry; after the last, a failing
	// delivery is failed.
	Schedule []time.Duration
	// Targets guards the addresses connections dial.
	Targets Targets
	// Poll is how often an idle dispatcher looks for due deliveries.
	Poll time.Duration
}

// Dispatch limits: a batch claimed at once, and the attempts under way at
// once, so one slow endpoint does not hold the others back.
const (
	claimBatch     = 200
	concurrency    = 32
	defaultPoll    = time.Second
	maxAttemptsLog = 20
	excerptLimit   = 200
	userAgent      = "CredVault-Webhooks/1.0"
)

// NewDispatcher returns a dispatcher over db, of dialect dia.
func NewDispatcher(db *ent.Client, dia string, deks *dek.Manager, bus *invalidate.Bus, m *metrics.Metrics, logger *slog.Logger, opts DispatchOptions) *Dispatcher {
	if opts.Poll <= 0 {
		opts.Poll = defaultPoll
	}
	transport := &http.Transport{
		Proxy:                 nil,
		DialContext:           opts.Targets.Dialer(opts.Timeout).DialContext,
		TLSHandshakeTimeout:   opts.Timeout,
		ResponseHeaderTimeout: opts.Timeout,
		MaxIdleConnsPerHost:   concurrency,
		IdleConnTimeout:       90 * time.Second,
	}
	return &Dispatcher{db: db, postgres: dia == dialect.Postgres, deks: deks, bus: bus, metrics: m, logger: logger, opts: opts,
		wake: make(chan struct{}, 1),
		client: &http.Client{Transport: transport, Timeout: opts.Timeout,
			// A redirect is an answer like any other: a failure, never followed.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
	}
}

// Kick wakes the dispatcher to look for due deliveries now.
func (d *Dispatcher) Kick() {
	select {
	case d.wake <- struct{}{}:
	default:
	}
}

// Run delivers until ctx ends.
func (d *Dispatcher) Run(ctx context.Context) {
	t := time.NewTicker(d.opts.Poll)
	defer t.Stop()
	for {
		n, err := d.RunOnce(ctx)
		if err != nil && ctx.Err() == nil {
			d.logger.Error("webhook dispatch", "err", err)
		}
		if n == claimBatch && err == nil {
			continue
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-d.wake:
		}
	}
}

// lease is how long a claim lasts: an attempt and the recording of it.
func (d *Dispatcher) lease() time.Duration { return d.opts.Timeout + 30*time.Second }

// RunOnce claims due deliveries, attempts them, and returns how many it
// claimed. Attempts under way when ctx ends run to their outcome (each is
// bounded by the timeout), so a shutdown does not cut a delivery short.
func (d *Dispatcher) RunOnce(ctx context.Context) (int, error) {
	ctx = store.Unrestricted(ctx)
	claimed, err := d.claim(ctx)
	if err != nil || len(claimed) == 0 {
		return 0, err
	}
	ctx = context.WithoutCancel(ctx)
	eventIDs := make([]uuid.UUID, 0, len(claimed))
	hookIDs := make([]uuid.UUID, 0, len(claimed))
	for _, c := range claimed {
		eventIDs = append(eventIDs, c.EventID)
		hookIDs = append(hookIDs, c.WebhookID)
	}
	events, err := d.db.WebhookEvent.Query().Where(webhookevent.IDIn(eventIDs...)).All(ctx)
	if err != nil {
		return 0, err
	}
	hooks, err := d.db.Webhook.Query().Where(webhook.IDIn(hookIDs...)).All(ctx)
	if err != nil {
		return 0, err
	}
	byEvent := make(map[uuid.UUID]*ent.WebhookEvent, len(events))
	for _, e := range events {
		byEvent[e.ID] = e
	}
	byHook := make(map[uuid.UUID]*ent.Webhook, len(hooks))
	for _, h := range hooks {
		byHook[h.ID] = h
	}
	sem := make(chan struct{}, concurrency)
	var wg sync.WaitGroup
	for _, c := range claimed {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			d.deliver(ctx, c, byEvent[c.EventID], byHook[c.WebhookID])
		})
	}
	wg.Wait()
	return len(claimed), nil
}

// claim takes up to claimBatch due deliveries for a lease.
func (d *Dispatcher) claim(ctx context.Context) ([]*ent.WebhookDelivery, error) {
	var claimed []*ent.WebhookDelivery
	err := store.WithTx(ctx, d.db, func(ctx context.Context, tx *ent.Client) error {
		now := store.Now()
		q := tx.WebhookDelivery.Query().Where(
			webhookdelivery.StatusIn(webhookdelivery.StatusPending, webhookdelivery.StatusRetrying),
			webhookdelivery.NextAttemptAtLTE(now),
			webhookdelivery.Or(webhookdelivery.LockedUntilIsNil(), webhookdelivery.LockedUntilLT(now)),
		).Order(ent.Asc(webhookdelivery.FieldNextAttemptAt)).Limit(claimBatch)
		if d.postgres {
			q = q.ForUpdate(sql.WithLockAction(sql.SkipLocked))
		}
		rows, err := q.All(ctx)
		if err != nil || len(rows) == 0 {
			return err
		}
		ids := make([]uuid.UUID, len(rows))
		for i, r := range rows {
			ids[i] = r.ID
		}
		until := now.Add(d.lease())
		if err := tx.WebhookDelivery.Update().Where(webhookdelivery.IDIn(ids...)).SetLockedUntil(until).Exec(ctx); err != nil {
			return err
		}
		for _, r := range rows {
			r.LockedUntil = &until
		}
		claimed = rows
		return nil
	})
	return claimed, err
}

// outcome is what one attempt came to.
type outcome struct {
	status   *int
	duration time.Duration
	err      string
	ok, gone bool
}

// deliver makes one attempt of c and records it.
func (d *Dispatcher) deliver(ctx context.Context, c *ent.WebhookDelivery, ev *ent.WebhookEvent, hook *ent.Webhook) {
	if hook == nil || ev == nil {
		// The endpoint was deleted with its deliveries meanwhile.
		return
	}
	if !hook.Enabled && c.EventType != WebhookTest {
		d.record(ctx, c, hook, outcome{err: "the endpoint is disabled"}, false)
		return
	}
	o := d.send(ctx, ev, hook)
	d.metrics.WebhookDuration.Observe(o.duration.Seconds())
	d.record(ctx, c, hook, o, true)
	if o.gone {
		d.disable(ctx, hook)
	}
}

// send posts the event to the endpoint, signed with its secrets.
func (d *Dispatcher) send(ctx context.Context, ev *ent.WebhookEvent, hook *ent.Webhook) outcome {
	secrets, err := d.secrets(ctx, hook)
	if err != nil {
		d.logger.Error("webhook secret", "webhook", hook.ID, "err", err)
		return outcome{err: "the endpoint's secret could not be opened"}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, hook.URL, bytes.NewReader(ev.Payload))
	if err != nil {
		return outcome{err: "the endpoint URL is not valid"}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", userAgent)
	if err := sign(req.Header, ev.ID.String(), time.Now(), ev.Payload, secrets...); err != nil {
		return outcome{err: "the endpoint's secret could not be used"}
	}
	start := time.Now()
	resp, err := d.client.Do(req)
	o := outcome{duration: time.Since(start)}
	if err != nil {
		o.err = d.describe(err)
		return o
	}
	// Read a little of the answer so the connection may be reused; none
	// of it is kept.
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	o.status = &resp.StatusCode
	switch {
	case resp.StatusCode >= 200 && resp.StatusCode < 300:
		o.ok = true
	case resp.StatusCode == http.StatusGone:
		o.gone = true
		o.err = "410 Gone: the endpoint is disabled"
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		o.err = fmt.Sprintf("HTTP %d: redirects are not followed", resp.StatusCode)
	default:
		o.err = fmt.Sprintf("HTTP %d", resp.StatusCode)
	}
	return o
}

// secrets opens the endpoint's secrets (see openSecrets), from hook as the
// delivery read it or, if a DEK rotation re-sealed them since, as it is now.
func (d *Dispatcher) secrets(ctx context.Context, hook *ent.Webhook) ([]string, error) {
	return dek.Reopen(hook, func(h *ent.Webhook) ([]string, error) { return openSecrets(ctx, d.deks, h) },
		func() (*ent.Webhook, error) { return d.db.Webhook.Get(ctx, hook.ID) })
}

// openSecrets opens the endpoint's secrets: the current one, then the
// previous one while its grace period lasts.
func openSecrets(ctx context.Context, deks *dek.Manager, hook *ent.Webhook) ([]string, error) {
	cur, err := openSecret(ctx, deks, hook, hook.SecretSealed)
	if err != nil {
		return nil, err
	}
	out := []string{cur}
	if hook.PreviousSecretSealed != nil && len(*hook.PreviousSecretSealed) > 0 && hook.PreviousSecretExpiresAt != nil && hook.PreviousSecretExpiresAt.After(time.Now()) {
		prev, err := openSecret(ctx, deks, hook, *hook.PreviousSecretSealed)
		if err != nil {
			return nil, err
		}
		out = append(out, prev)
	}
	return out, nil
}

// describe says why an attempt got no answer, without the URL (which may
// hold a token in its query) and within excerptLimit.
func (d *Dispatcher) describe(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	var ne net.Error
	switch {
	case errors.Is(err, errPrivateAddress):
		return "refused: " + errPrivateAddress.Error()
	case errors.As(err, &ne) && ne.Timeout():
		return fmt.Sprintf("no answer within %s", d.opts.Timeout)
	}
	// The error may quote what the endpoint sent, in any bytes.
	return store.Text(err.Error(), excerptLimit)
}

// record writes the attempt's outcome, if the claim is still this
// dispatcher's: succeeded, retrying on the schedule, or failed. counted
// attempts are those that reached for the endpoint.
func (d *Dispatcher) record(ctx context.Context, c *ent.WebhookDelivery, hook *ent.Webhook, o outcome, counted bool) {
	now := store.Now()
	attempt := c.Attempt
	if counted {
		attempt++
	}
	upd := d.db.WebhookDelivery.Update().
		Where(webhookdelivery.ID(c.ID), webhookdelivery.LockedUntilEQ(*c.LockedUntil)).
		ClearLockedUntil().SetAttempt(attempt)
	var status webhookdelivery.Status
	switch {
	case o.ok:
		status = webhookdelivery.StatusSucceeded
		upd.ClearNextAttemptAt().ClearError()
	case counted && !o.gone && attempt <= len(d.opts.Schedule):
		status = webhookdelivery.StatusRetrying
		upd.SetNextAttemptAt(now.Add(d.opts.Schedule[attempt-1])).SetError(o.err)
	default:
		status = webhookdelivery.StatusFailed
		upd.ClearNextAttemptAt().SetError(o.err)
	}
	upd.SetStatus(status)
	if counted {
		ms := int(o.duration.Milliseconds())
		upd.SetDurationMs(ms)
		if o.status != nil {
			upd.SetResponseStatus(*o.status)
		} else {
			upd.ClearResponseStatus()
		}
		log := append(c.Attempts, schematype.WebhookAttempt{Attempt: attempt, At: now, ResponseStatus: o.status, DurationMS: ms, Error: o.err})
		if len(log) > maxAttemptsLog {
			log = log[len(log)-maxAttemptsLog:]
		}
		upd.SetAttempts(log)
	}
	if err := upd.Exec(ctx); err != nil {
		d.logger.Error("webhook delivery outcome", "delivery", c.ID, "webhook", hook.ID, "err", err)
		return
	}
	d.metrics.WebhookDeliveries.WithLabelValues(string(status)).Inc()
}

// disable turns off an endpoint that answered 410 Gone, as its owner asked.
func (d *Dispatcher) disable(ctx context.Context, hook *ent.Webhook) {
	reason := "the endpoint answered 410 Gone"
	err := store.WithTx(ctx, d.db, func(ctx context.Context, tx *ent.Client) error {
		if err := tx.Webhook.UpdateOneID(hook.ID).SetEnabled(false).SetDisabledReason(reason).Exec(ctx); err != nil {
			return err
		}
		if err := audit.Record(ctx, tx, audit.Entry{Action: "webhook.disable", ResourceType: "webhook", ResourceID: hook.ID.String(),
			TenantID: hook.TenantID, Details: map[string]any{"reason": reason}}); err != nil {
			return err
		}
		return d.bus.Publish(ctx, tx, Changed(hook.TenantID))
	})
	if err != nil && !ent.IsNotFound(err) {
		d.logger.Error("webhook disable", "webhook", hook.ID, "err", err)
	}
}
