package apikeys

import (
	"fmt"
	"testing"

	"github.com/google/uuid"
)

// newTestStream is a Stream without a database or bus: enough for its ring
// and subscriptions.
func newTestStream() *Stream {
	return &Stream{epoch: "e", subs: map[*Subscription]struct{}{}}
}

// TestStreamResume: a Last-Event-ID of this Stream resumes with the
// tenant's events since; one of another epoch, one past a reset of the
// tenant, or one that fell out of the ring gets a snapshot instead.
func TestStreamResume(t *testing.T) {
	s := newTestStream()
	a, b := uuid.New(), uuid.New()
	k := uuid.New()
	s.emit(hubEvent{kind: EventUpsert, tenant: a, keyID: k, key: &StreamKey{ID: k}}) // 1
	s.emit(hubEvent{kind: EventRemove, tenant: b, keyID: uuid.New()})                // 2
	s.emit(hubEvent{kind: EventRemove, tenant: a, keyID: k})                         // 3

	sub, replay, ok := s.subscribe(a, "e-1")
	if !ok || len(replay) != 1 || replay[0].Type != EventRemove || replay[0].ID != "e-3" || replay[0].KeyID != k {
		t.Fatalf("resume after e-1: %v %+v", ok, replay)
	}
	sub.Close()
	if _, replay, ok := s.subscribe(a, "e-3"); !ok || len(replay) != 0 {
		t.Fatalf("resume at the head: %v %+v", ok, replay)
	}
	for _, id := range []string{"", "other-1", "e-99", "e-x", "garbage"} {
		if _, _, ok := s.subscribe(a, id); ok {
			t.Errorf("Last-Event-ID %q resumed", id)
		}
	}
	s.emit(hubEvent{kind: eventReset, tenant: b}) // 4: b's set must be sent afresh, not a's
	if _, _, ok := s.subscribe(a, "e-3"); !ok {
		t.Fatal("another tenant's reset stopped a resume")
	}
	if _, _, ok := s.subscribe(b, "e-3"); ok {
		t.Fatal("resumed past the tenant's reset")
	}
	for range streamRing {
		s.emit(hubEvent{kind: EventRemove, tenant: b, keyID: uuid.New()})
	}
	// The ring holds e-5 on: after e-4 nothing is missing, after e-3 e-4 is.
	if _, _, ok := s.subscribe(a, "e-4"); !ok {
		t.Fatal("no resume right before the ring")
	}
	if _, _, ok := s.subscribe(a, "e-3"); ok {
		t.Fatal("resumed from an event out of the ring")
	}
	if _, _, ok := s.subscribe(a, fmt.Sprintf("e-%d", s.seq-1)); !ok {
		t.Fatal("no resume from an event in the ring")
	}
}

// TestStreamFanOut: a subscription gets its tenant's events and every
// tenant's, never another tenant's; one that falls behind is told to
// resynchronise instead of blocking the Stream.
func TestStreamFanOut(t *testing.T) {
	s := newTestStream()
	a, b := uuid.New(), uuid.New()
	sub, _, _ := s.subscribe(a, "")
	defer sub.Close()
	s.emit(hubEvent{kind: EventRemove, tenant: b, keyID: uuid.New()})
	s.emit(hubEvent{kind: EventRemove, tenant: a, keyID: uuid.New()})
	s.emit(hubEvent{kind: EventRemove, keyID: uuid.New()})
	if n := len(sub.events); n != 2 {
		t.Fatalf("%d events queued, want 2 (own tenant, every tenant)", n)
	}
	for range subscriptionBuffer + 10 {
		s.emit(hubEvent{kind: EventRemove, tenant: a, keyID: uuid.New()})
	}
	if len(sub.resync) != 1 {
		t.Fatal("a subscription that fell behind was not told to resynchronise")
	}
}
