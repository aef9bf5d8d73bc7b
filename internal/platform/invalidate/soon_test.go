package invalidate_test

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"testing"
	"time"

	"entgo.io/ent/dialect"
	"github.com/google/uuid"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/internal/platform/invalidate"
	"github.com/credvault/credvault/internal/platform/store"
	"github.com/credvault/credvault/internal/platform/store/storetest"
)

// heard counts the deliveries of each topic of kind soonKind by a bus.
type heard struct {
	mu sync.Mutex
	m  map[invalidate.Topic]int
}

const soonKind = "soon_test"

func hear(bus *invalidate.Bus) *heard {
	h := &heard{m: map[invalidate.Topic]int{}}
	bus.Subscribe(func(tp invalidate.Topic) {
		if kind, _ := tp.Split(); kind == soonKind {
			h.mu.Lock()
			h.m[tp]++
			h.mu.Unlock()
		}
	})
	return h
}

func (h *heard) has(tp invalidate.Topic) bool { return h.times(tp) > 0 }

func (h *heard) times(tp invalidate.Topic) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.m[tp]
}

// within waits up to d for h to hear tp.
func (h *heard) within(t *testing.T, d time.Duration, tp invalidate.Topic, who string) {
	t.Helper()
	for start := time.Now(); !h.has(tp); time.Sleep(5 * time.Millisecond) {
		if time.Since(start) > d {
			t.Fatalf("%s did not hear %s within %v", who, tp, d)
		}
	}
}

// TestPublishSoonFollowsTheCommit: a topic published soon in a transaction
// is delivered here when the transaction commits, never when it rolls back
// or before; on PostgreSQL another instance hears it within the second the
// README promises (the publisher does not deliver it a second time when it
// hears it), and a topic still queued when the bus closes is sent as it
// closes.
func TestPublishSoonFollowsTheCommit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		newBus := func() *invalidate.Bus {
			bus, err := invalidate.New(st.Dialect, st.URL, slog.New(slog.DiscardHandler))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { bus.Close() })
			return bus
		}
		a := newBus()
		here := hear(a)
		var there *heard
		if st.Dialect == dialect.Postgres {
			there = hear(newBus())
		}
		topic := func() invalidate.Topic { return invalidate.For(soonKind, uuid.NewString()) }

		rolledBack := topic()
		undo := errors.New("roll back")
		err := store.WithTx(ctx, st.Client, func(ctx context.Context, _ *ent.Client) error {
			a.PublishSoon(ctx, rolledBack)
			return undo
		})
		if !errors.Is(err, undo) {
			t.Fatalf("rolled back transaction: %v", err)
		}

		committed := topic()
		err = store.WithTx(ctx, st.Client, func(ctx context.Context, _ *ent.Client) error {
			a.PublishSoon(ctx, committed)
			if here.has(committed) {
				t.Error("delivered before its transaction committed")
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		if !here.has(committed) {
			t.Fatal("not delivered here when its transaction committed")
		}
		if there != nil {
			there.within(t, time.Second, committed, "another instance")
			// The publisher hears its own NOTIFY too, later than the
			// commit that delivered it: it must not deliver it again (a
			// cache filled meanwhile would be dropped for nothing).
			time.Sleep(200 * time.Millisecond)
			if n := here.times(committed); n != 1 {
				t.Fatalf("delivered %d times by its publisher, want 1", n)
			}
		}

		closing := topic()
		a.PublishSoon(ctx, closing)
		if !here.has(closing) {
			t.Fatal("published outside a transaction, not delivered at once")
		}
		a.Close()
		if there != nil {
			there.within(t, time.Second, closing, "another instance, after the publisher closed,")
		}
		if here.has(rolledBack) || (there != nil && there.has(rolledBack)) {
			t.Fatal("a rolled back transaction's topic was delivered")
		}
	})
}
