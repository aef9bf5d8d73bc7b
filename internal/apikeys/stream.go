package apikeys

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/ent/apikey"
	"github.com/credvault/credvault/ent/serviceaccount"
	"github.com/credvault/credvault/ent/tenant"
	"github.com/credvault/credvault/internal/access"
	"github.com/credvault/credvault/internal/platform/invalidate"
	"github.com/credvault/credvault/internal/platform/store"
)

// The kinds of key stream events (GET /api/v1/api-keys/stream).
const (
	// EventSnapshot carries every usable key of the tenant: the client
	// replaces its set with it.
	EventSnapshot = "snapshot"
	// EventUpsert carries one usable key, new or changed.
	EventUpsert = "upsert"
	// EventRemove names a key that is no longer usable.
	EventRemove = "remove"
)

// streamRing is how many recent events a Stream keeps for clients that
// resume with Last-Event-ID; one further behind gets a fresh snapshot.
const streamRing = 4096

// subscriptionBuffer is how many events wait for a slow stream connection;
// past it, the connection is told to send a fresh snapshot instead.
const subscriptionBuffer = 256

// StreamKey is a usable key as key streams carry it: enough for a client to
// verify the key locally, never the key itself.
type StreamKey struct {
	ID uuid.UUID `json:"id"`
	// Hash is the hex SHA-256 of the key.
	Hash   string   `json:"hash"`
	Scopes []string `json:"scopes"`
	// ExpiresAt is when the key stops working, if ever.
	ExpiresAt *time.Time `json:"expires_at"`
	// IPAllowlist are the addresses or CIDRs the key works from; empty is anywhere.
	IPAllowlist []string `json:"ip_allowlist"`
	// TenantIPAllowlist is the tenant's allowlist, which applies too.
	TenantIPAllowlist []string `json:"tenant_ip_allowlist,omitempty"`
	// PreviousHash is the hash of the rotated-out key, which works until
	// PreviousExpiresAt (the rotation's grace period).
	PreviousHash      string     `json:"previous_hash,omitempty"`
	PreviousExpiresAt *time.Time `json:"previous_expires_at,omitempty"`
}

// StreamEvent is one event of a key stream.
type StreamEvent struct {
	// ID is the event's id, what a client resumes after with Last-Event-ID.
	ID string
	// Type is EventSnapshot, EventUpsert or EventRemove.
	Type string
	// Keys are a snapshot's keys; Key an upsert's; KeyID a removal's.
	Keys  []StreamKey
	Key   *StreamKey
	KeyID uuid.UUID
}

// Data is the event's JSON data.
func (e *StreamEvent) Data() any {
	switch e.Type {
	case EventSnapshot:
		keys := e.Keys
		if keys == nil {
			keys = []StreamKey{}
		}
		return map[string]any{"keys": keys}
	case EventUpsert:
		return e.Key
	default:
		return map[string]any{"id": e.KeyID}
	}
}

// hubEvent is a change as the Stream records it.
type hubEvent struct {
	seq uint64
	// tenant is the tenant the change is in; uuid.Nil is every tenant.
	tenant uuid.UUID
	// kind is EventUpsert, EventRemove, or reset: the tenant's set must be
	// sent afresh (a tenant changed, or changes may have been missed).
	kind  string
	key   *StreamKey
	keyID uuid.UUID
}

const eventReset = "reset"

// Stream turns the invalidation bus's key and tenant topics into key stream
// events: each api_key topic re-reads that key and becomes an upsert or a
// remove; a tenant topic (or all) makes the tenant's streams (or every
// stream) send a fresh snapshot. It keeps the last events in a ring, so a
// client that reconnects with Last-Event-ID resumes without a snapshot.
type Stream struct {
	client *ent.Client
	topics chan invalidate.Topic
	// lost is set when topics overflowed: every stream must re-snapshot.
	lost atomic.Bool
	wake chan struct{}
	// epoch tells this Stream's event ids from another instance's or
	// another run's, whose numbers mean nothing here.
	epoch string
	now   func() time.Time

	mu   sync.Mutex
	seq  uint64
	ring []hubEvent
	subs map[*Subscription]struct{}

	// sent is the state last streamed for each key, read and written by
	// Run alone: a change heard twice (on PostgreSQL an instance hears its
	// own NOTIFY as well as its local delivery) is streamed once.
	sent map[uuid.UUID]string
}

// maxSentStates bounds sent; past it, the record starts afresh (a repeat
// may then be streamed again, which clients apply harmlessly).
const maxSentStates = 100_000

// NewStream returns a Stream listening on bus; Run processes what it hears.
func NewStream(client *ent.Client, bus *invalidate.Bus) *Stream {
	var b [6]byte
	_, _ = rand.Read(b[:])
	s := &Stream{client: client, topics: make(chan invalidate.Topic, 1024), wake: make(chan struct{}, 1),
		epoch: hex.EncodeToString(b[:]), now: time.Now, subs: map[*Subscription]struct{}{}, sent: map[uuid.UUID]string{}}
	bus.Subscribe(s.hear)
	return s
}

// hear queues a topic; it runs in the publisher's commit, so it never blocks.
func (s *Stream) hear(t invalidate.Topic) {
	switch kind, _ := t.Split(); kind {
	case invalidate.APIKey, invalidate.Tenant, invalidate.All:
	default:
		return
	}
	select {
	case s.topics <- t:
	default:
		s.lost.Store(true)
		select {
		case s.wake <- struct{}{}:
		default:
		}
	}
}

// Run turns topics into events until ctx is done.
func (s *Stream) Run(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case t := <-s.topics:
			s.handle(ctx, t)
		case <-s.wake:
		}
		if s.lost.Swap(false) {
			s.reset(uuid.Nil)
		}
	}
}

func (s *Stream) handle(ctx context.Context, t invalidate.Topic) {
	kind, id := t.Split()
	switch kind {
	case invalidate.APIKey:
		keyID, err := uuid.Parse(id)
		if err != nil {
			return
		}
		k, err := s.client.APIKey.Query().Where(apikey.ID(keyID)).WithTenant().WithServiceAccount().
			Only(store.Unrestricted(ctx))
		switch {
		case ent.IsNotFound(err):
			s.emitKey(hubEvent{kind: EventRemove, keyID: keyID})
		case err != nil:
			// Unknown state: every stream reads its set again, or ends.
			s.reset(uuid.Nil)
		default:
			if sk, ok := s.usable(k); ok {
				s.emitKey(hubEvent{kind: EventUpsert, tenant: k.TenantID, key: sk, keyID: k.ID})
			} else {
				s.emitKey(hubEvent{kind: EventRemove, tenant: k.TenantID, keyID: k.ID})
			}
		}
	case invalidate.Tenant:
		if tid, err := uuid.Parse(id); err == nil {
			s.reset(tid)
		}
	case invalidate.All:
		s.reset(uuid.Nil)
	}
}

// emitKey streams a key's upsert or removal unless it is the state last
// streamed for that key.
func (s *Stream) emitKey(ev hubEvent) {
	state := ev.kind
	if ev.key != nil {
		b, err := json.Marshal(ev.key)
		if err != nil {
			s.reset(ev.tenant)
			return
		}
		state += string(b)
	}
	if s.sent[ev.keyID] == state {
		return
	}
	if len(s.sent) >= maxSentStates {
		clear(s.sent)
	}
	s.sent[ev.keyID] = state
	s.emit(ev)
}

// reset makes the streams of tenant (every stream for uuid.Nil) send their
// set afresh, after which any state may be streamed again.
func (s *Stream) reset(tenant uuid.UUID) {
	clear(s.sent)
	s.emit(hubEvent{kind: eventReset, tenant: tenant})
}

// usable returns k as streams carry it, and whether it may be used now:
// active, not expired, in an active tenant, and owned by no disabled
// service account. k has its tenant and service account loaded.
func (s *Stream) usable(k *ent.APIKey) (*StreamKey, bool) {
	now := s.now()
	t := k.Edges.Tenant
	switch {
	case k.Status != apikey.StatusActive, t == nil, t.Status != tenant.StatusActive,
		k.ExpiresAt != nil && !now.Before(*k.ExpiresAt):
		return nil, false
	}
	if sa := k.Edges.ServiceAccount; sa != nil && sa.Status != serviceaccount.StatusActive {
		return nil, false
	}
	out := &StreamKey{ID: k.ID, Hash: hex.EncodeToString(k.KeyHash), Scopes: access.NewSet(k.Scopes...).List(),
		ExpiresAt: k.ExpiresAt, IPAllowlist: k.IPAllowlist, TenantIPAllowlist: t.Settings.IPAllowlist}
	if out.Scopes == nil {
		out.Scopes = []string{}
	}
	if out.IPAllowlist == nil {
		out.IPAllowlist = []string{}
	}
	if k.PreviousKeyHash != nil && k.PreviousKeyExpiresAt != nil && now.Before(*k.PreviousKeyExpiresAt) {
		out.PreviousHash, out.PreviousExpiresAt = hex.EncodeToString(*k.PreviousKeyHash), k.PreviousKeyExpiresAt
	}
	return out, true
}

// emit records ev and hands it to the subscriptions of its tenant.
func (s *Stream) emit(ev hubEvent) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	ev.seq = s.seq
	if len(s.ring) == streamRing {
		copy(s.ring, s.ring[1:])
		s.ring = s.ring[:streamRing-1]
	}
	s.ring = append(s.ring, ev)
	for sub := range s.subs {
		if ev.tenant != uuid.Nil && ev.tenant != sub.tenant {
			continue
		}
		select {
		case sub.events <- ev:
		default:
			select {
			case sub.resync <- struct{}{}:
			default:
			}
		}
	}
}

func (s *Stream) eventID(seq uint64) string { return s.epoch + "-" + strconv.FormatUint(seq, 10) }

// Subscription is one stream connection's feed of its tenant's changes.
type Subscription struct {
	stream *Stream
	tenant uuid.UUID
	events chan hubEvent
	resync chan struct{}
	// sent is the sequence number of the last event sent (or reflected in
	// the last snapshot): older ones are skipped.
	sent uint64
}

// Close stops the subscription.
func (sub *Subscription) Close() {
	sub.stream.mu.Lock()
	delete(sub.stream.subs, sub)
	sub.stream.mu.Unlock()
}

// subscribe registers a subscription for tenant. When resume (a
// Last-Event-ID) is one of this Stream's recent events, the tenant's events
// after it are returned to replay; otherwise ok is false and a snapshot
// must be sent first.
func (s *Stream) subscribe(tenant uuid.UUID, resume string) (sub *Subscription, replay []StreamEvent, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	sub = &Subscription{stream: s, tenant: tenant, events: make(chan hubEvent, subscriptionBuffer),
		resync: make(chan struct{}, 1), sent: s.seq}
	s.subs[sub] = struct{}{}
	after, found := s.parseID(resume)
	if !found || after > s.seq {
		return sub, nil, false
	}
	if after < s.seq && (len(s.ring) == 0 || s.ring[0].seq > after+1) {
		return sub, nil, false // fell out of the ring
	}
	replay = []StreamEvent{}
	for _, ev := range s.ring {
		if ev.seq <= after || (ev.tenant != uuid.Nil && ev.tenant != tenant) {
			continue
		}
		if ev.kind == eventReset {
			return sub, nil, false
		}
		replay = append(replay, s.toEvent(ev))
	}
	return sub, replay, true
}

func (s *Stream) parseID(id string) (uint64, bool) {
	epoch, seq, ok := strings.Cut(id, "-")
	if !ok || epoch != s.epoch {
		return 0, false
	}
	n, err := strconv.ParseUint(seq, 10, 64)
	return n, err == nil
}

func (s *Stream) toEvent(ev hubEvent) StreamEvent {
	return StreamEvent{ID: s.eventID(ev.seq), Type: ev.kind, KeyID: ev.keyID, Key: ev.key}
}

// Next waits for the subscription's next event: an upsert or remove, or a
// snapshot (read with ctx, under its principal) when the tenant's set must
// be sent afresh. It returns nil and no error when heartbeat ticks first,
// ctx's error when ctx is done, and an error reading a snapshot.
func (sub *Subscription) Next(ctx context.Context, heartbeat <-chan time.Time) (*StreamEvent, error) {
	for {
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-heartbeat:
			return nil, nil
		case <-sub.resync:
			return sub.Snapshot(ctx)
		case ev := <-sub.events:
			if ev.seq <= sub.sent {
				continue
			}
			if ev.kind == eventReset {
				return sub.Snapshot(ctx)
			}
			sub.sent = ev.seq
			out := sub.stream.toEvent(ev)
			return &out, nil
		}
	}
}

// Snapshot reads the tenant's usable keys with ctx (whose principal limits
// the read to its tenant) as a snapshot event. Events older than it are
// skipped from then on.
func (sub *Subscription) Snapshot(ctx context.Context) (*StreamEvent, error) {
	s := sub.stream
	s.mu.Lock()
	seq := s.seq
	s.mu.Unlock()
	// Drain what the snapshot will reflect anyway.
	for drained := false; !drained; {
		select {
		case <-sub.resync:
		default:
			drained = true
		}
	}
	rows, err := s.client.APIKey.Query().
		Where(apikey.TenantID(sub.tenant), apikey.StatusEQ(apikey.StatusActive)).
		WithTenant().WithServiceAccount().Order(ent.Asc(apikey.FieldCreatedAt), ent.Asc(apikey.FieldID)).All(ctx)
	if err != nil {
		return nil, err
	}
	keys := make([]StreamKey, 0, len(rows))
	for _, k := range rows {
		if sk, ok := s.usable(k); ok {
			keys = append(keys, *sk)
		}
	}
	if seq > sub.sent {
		sub.sent = seq
	}
	return &StreamEvent{ID: s.eventID(sub.sent), Type: EventSnapshot, Keys: keys}, nil
}

// Subscribe opens a key stream for the principal's tenant: its scope is
// api_keys:read. resume is the client's Last-Event-ID: when it can be
// resumed, replay holds the events since; otherwise replay is nil and the
// caller sends sub.Snapshot first. The caller closes sub.
func (s *Service) Subscribe(ctx context.Context, resume string) (sub *Subscription, replay []StreamEvent, err error) {
	p, err := s.Guard.Require(ctx, access.StreamAPIKeys)
	if err != nil {
		return nil, nil, err
	}
	sub, replay, _ = s.Stream.subscribe(p.TenantID, resume)
	return sub, replay, nil
}
