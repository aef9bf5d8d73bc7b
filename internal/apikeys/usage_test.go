package apikeys

// Usage: last_used_at is collected in memory and written in batches, one
// update per key with its latest time, never backwards.

import (
	"context"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/credvault/credvault/ent"
)

// countUpdates counts the API key updates that reach the database.
func countUpdates(f *fixture) *atomic.Int64 {
	var n atomic.Int64
	f.st.Client.APIKey.Use(func(next ent.Mutator) ent.Mutator {
		return ent.MutateFunc(func(ctx context.Context, m ent.Mutation) (ent.Value, error) {
			if m.Op().Is(ent.OpUpdate | ent.OpUpdateOne) {
				n.Add(1)
			}
			return next.Mutate(ctx, m)
		})
	})
	return &n
}

func (f *fixture) lastUsed(t *testing.T, id uuid.UUID) *time.Time {
	t.Helper()
	k, err := f.st.Client.APIKey.Get(f.ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	return k.LastUsedAt
}

func expectLastUsed(t *testing.T, f *fixture, id uuid.UUID, want time.Time) {
	t.Helper()
	got := f.lastUsed(t, id)
	want = want.UTC().Truncate(time.Microsecond)
	if got == nil || !got.Equal(want) {
		t.Fatalf("last_used_at = %v, want %v", got, want)
	}
}

func TestUsageFlushWritesTheLatestTimeOncePerKey(t *testing.T) {
	t.Parallel()
	eachFixture(t, func(t *testing.T, f *fixture) {
		_, k1 := f.newKey(t)
		_, k2 := f.newKey(t)
		_, idle := f.newKey(t)
		updates := countUpdates(f)
		base := time.Now().Add(-time.Hour)
		// 500 uses of key 1 and 20 of key 2, out of order, with nanoseconds.
		var times1, times2 []time.Time
		for i := range 500 {
			times1 = append(times1, base.Add(time.Duration(i)*time.Second+time.Duration(i)*1001*time.Nanosecond))
		}
		for i := range 20 {
			times2 = append(times2, base.Add(time.Duration(i)*time.Minute))
		}
		rand.Shuffle(len(times1), func(i, j int) { times1[i], times1[j] = times1[j], times1[i] })
		rand.Shuffle(len(times2), func(i, j int) { times2[i], times2[j] = times2[j], times2[i] })
		for _, at := range times1 {
			f.usage.Touch(k1.ID, at)
		}
		for _, at := range times2 {
			f.usage.Touch(k2.ID, at)
		}
		if n := updates.Load(); n != 0 {
			t.Fatalf("Touch wrote to the database (%d updates); it must only collect", n)
		}
		if err := f.usage.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
		if n := updates.Load(); n != 2 {
			t.Fatalf("flush of 2 used keys made %d updates, want 2", n)
		}
		expectLastUsed(t, f, k1.ID, base.Add(499*time.Second+499*1001*time.Nanosecond))
		expectLastUsed(t, f, k2.ID, base.Add(19*time.Minute))
		if got := f.lastUsed(t, idle.ID); got != nil {
			t.Fatalf("an unused key got last_used_at %v", got)
		}

		// The batch is gone once written: a second flush writes nothing.
		if err := f.usage.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
		if n := updates.Load(); n != 2 {
			t.Fatalf("an empty flush made %d more updates", n-2)
		}
	})
}

func TestUsageFlushNeverMovesLastUsedBackwards(t *testing.T) {
	t.Parallel()
	eachFixture(t, func(t *testing.T, f *fixture) {
		recent := time.Now().UTC().Truncate(time.Microsecond)
		_, k := f.newKey(t, func(c *ent.APIKeyCreate) { c.SetLastUsedAt(recent) })
		// Another instance wrote a later time; this one flushes an older one.
		f.usage.Touch(k.ID, recent.Add(-time.Minute))
		if err := f.usage.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
		expectLastUsed(t, f, k.ID, recent)
		f.usage.Touch(k.ID, recent.Add(time.Second))
		if err := f.usage.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
		expectLastUsed(t, f, k.ID, recent.Add(time.Second))
	})
}

func TestUsageFlushSkipsKeysThatNoLongerExist(t *testing.T) {
	t.Parallel()
	eachFixture(t, func(t *testing.T, f *fixture) {
		_, k := f.newKey(t)
		f.usage.Touch(uuid.New(), time.Now())
		f.usage.Touch(k.ID, time.Now())
		if err := f.usage.Flush(context.Background()); err != nil {
			t.Fatalf("flush with a deleted key: %v", err)
		}
		if f.lastUsed(t, k.ID) == nil {
			t.Fatal("the existing key was not written")
		}
	})
}

func TestUsageTouchIsSafeConcurrently(t *testing.T) {
	t.Parallel()
	eachFixture(t, func(t *testing.T, f *fixture) {
		_, k := f.newKey(t)
		base := time.Now().Add(-time.Hour)
		var wg sync.WaitGroup
		for g := range 8 {
			wg.Go(func() {
				for i := range 200 {
					f.usage.Touch(k.ID, base.Add(time.Duration(g*200+i)*time.Millisecond))
				}
			})
		}
		wg.Wait()
		if err := f.usage.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
		expectLastUsed(t, f, k.ID, base.Add(1599*time.Millisecond))
	})
}

func TestUsageRunFlushesEveryIntervalAndOnStop(t *testing.T) {
	t.Parallel()
	eachFixture(t, func(t *testing.T, f *fixture) {
		_, k1 := f.newKey(t)
		_, k2 := f.newKey(t)

		// Every interval.
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { f.usage.Run(ctx, 20*time.Millisecond); close(done) }()
		at := time.Now()
		f.usage.Touch(k1.ID, at)
		deadline := time.Now().Add(3 * time.Second)
		for f.lastUsed(t, k1.ID) == nil {
			if time.Now().After(deadline) {
				cancel()
				<-done
				t.Fatal("Run did not flush within 3 s at a 20 ms interval")
			}
			time.Sleep(10 * time.Millisecond)
		}
		cancel()
		<-done
		expectLastUsed(t, f, k1.ID, at)

		// And once more when stopped, whatever the interval.
		ctx, cancel = context.WithCancel(context.Background())
		done = make(chan struct{})
		go func() { f.usage.Run(ctx, time.Hour); close(done) }()
		at = time.Now()
		f.usage.Touch(k2.ID, at)
		cancel()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("Run did not return after its context ended")
		}
		expectLastUsed(t, f, k2.ID, at)
	})
}
