package apikeys

// The cache alone: lifetimes, and what each drop forgets.

import (
	"fmt"
	"testing"
	"time"

	"github.com/google/uuid"
)

func TestCacheLifetimes(t *testing.T) {
	t.Parallel()
	c := newCache()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c.put("pos", &entry{found: true, id: uuid.New(), tenantID: uuid.New(), loaded: t0}, c.generation())
	c.put("neg", &entry{loaded: t0}, c.generation())
	for _, tc := range []struct {
		hash string
		at   time.Duration
		hit  bool
	}{
		{"pos", 0, true},
		{"pos", time.Minute, true},
		{"pos", time.Minute + time.Nanosecond, false},
		{"neg", 0, true},
		{"neg", 10 * time.Second, true},
		{"neg", 10*time.Second + time.Nanosecond, false},
		{"absent", 0, false},
	} {
		if got := c.get(tc.hash, t0.Add(tc.at)) != nil; got != tc.hit {
			t.Errorf("get(%s) at +%v: hit %v, want %v", tc.hash, tc.at, got, tc.hit)
		}
	}
}

func TestCacheDropKeyForgetsEveryHashOfThatKeyOnly(t *testing.T) {
	t.Parallel()
	c := newCache()
	now := time.Now()
	key, other, tenant := uuid.New(), uuid.New(), uuid.New()
	// A rotated key in its grace period has two hashes.
	c.put("current", &entry{found: true, id: key, tenantID: tenant, loaded: now}, c.generation())
	c.put("previous", &entry{found: true, id: key, tenantID: tenant, loaded: now}, c.generation())
	c.put("other", &entry{found: true, id: other, tenantID: tenant, loaded: now}, c.generation())
	c.put("unknown", &entry{loaded: now}, c.generation())
	c.dropKey(key)
	for hash, want := range map[string]bool{"current": false, "previous": false, "other": true, "unknown": true} {
		if got := c.get(hash, now) != nil; got != want {
			t.Errorf("after dropKey: %s cached %v, want %v", hash, got, want)
		}
	}
	if _, ok := c.byKey[key]; ok {
		t.Error("dropKey left the key in the index")
	}
	c.dropKey(uuid.New()) // unknown: nothing to do, no panic
}

func TestCacheDropTenantForgetsThatTenantOnly(t *testing.T) {
	t.Parallel()
	c := newCache()
	now := time.Now()
	t1, t2 := uuid.New(), uuid.New()
	k1, k2, k3 := uuid.New(), uuid.New(), uuid.New()
	c.put("a", &entry{found: true, id: k1, tenantID: t1, loaded: now}, c.generation())
	c.put("b", &entry{found: true, id: k2, tenantID: t1, loaded: now}, c.generation())
	c.put("c", &entry{found: true, id: k3, tenantID: t2, loaded: now}, c.generation())
	c.put("neg", &entry{loaded: now}, c.generation())
	c.dropTenant(t1)
	for hash, want := range map[string]bool{"a": false, "b": false, "c": true, "neg": true} {
		if got := c.get(hash, now) != nil; got != want {
			t.Errorf("after dropTenant: %s cached %v, want %v", hash, got, want)
		}
	}
	if _, ok := c.byKey[k1]; ok {
		t.Error("dropTenant left a dropped key in the index")
	}
	if len(c.byKey[k3]) != 1 {
		t.Error("dropTenant touched another tenant's index entry")
	}
	c.dropAll()
	if c.get("c", now) != nil || c.get("neg", now) != nil || len(c.byKey) != 0 {
		t.Error("dropAll kept entries")
	}
}

func TestCacheStartsOverWhenFull(t *testing.T) {
	t.Parallel()
	c := newCache()
	now := time.Now()
	tenant := uuid.New()
	for i := range maxEntries {
		c.put(fmt.Sprint(i), &entry{found: true, id: uuid.New(), tenantID: tenant, loaded: now}, c.generation())
	}
	if len(c.entries) != maxEntries {
		t.Fatalf("%d entries, want %d", len(c.entries), maxEntries)
	}
	c.put("one more", &entry{found: true, id: uuid.New(), tenantID: tenant, loaded: now}, c.generation())
	if len(c.entries) != 1 || len(c.byKey) != 1 || c.get("one more", now) == nil {
		t.Fatalf("full cache: %d entries and %d index keys after one more put, want 1 and 1", len(c.entries), len(c.byKey))
	}
}

// A hot key is reloaded once a minute; each reload must not add its hash to
// the key's index again, or the index of a long-lived key grows without end.
func TestCacheIndexHoldsEachHashOnce(t *testing.T) {
	t.Parallel()
	c := newCache()
	now := time.Now()
	id, tenant := uuid.New(), uuid.New()
	for i := range 60 {
		c.put("hash", &entry{found: true, id: id, tenantID: tenant, loaded: now.Add(time.Duration(i) * time.Minute)}, c.generation())
	}
	if n := len(c.byKey[id]); n != 1 {
		t.Fatalf("index holds the hash %d times after 60 reloads, want 1", n)
	}
}
