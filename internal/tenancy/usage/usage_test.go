package usage_test

// Request counting on SQLite and PostgreSQL: counts per tenant, day and
// principal (an API key's own id, a client's client_id) wait in memory and
// are added to the database in batches; a flush never loses one tenant's
// counts because of another's.

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/ent/usagecounter"
	"github.com/credvault/credvault/internal/access"
	"github.com/credvault/credvault/internal/platform/metrics"
	"github.com/credvault/credvault/internal/platform/store"
	"github.com/credvault/credvault/internal/platform/store/storetest"
	"github.com/credvault/credvault/internal/tenancy/usage"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

func bg() context.Context { return store.Unrestricted(context.Background()) }

func newTenant(t *testing.T, c *ent.Client, name string) uuid.UUID {
	t.Helper()
	tn, err := c.Tenant.Create().SetName(name).SetSlug(strings.ToLower(name) + "-" + uuid.NewString()[:8]).Save(bg())
	if err != nil {
		t.Fatal(err)
	}
	return tn.ID
}

// counts maps "type:id" to the stored count of tenant tid today.
func counts(t *testing.T, c *ent.Client, tid uuid.UUID) map[string]int64 {
	t.Helper()
	rows, err := c.UsageCounter.Query().Where(usagecounter.TenantID(tid)).All(bg())
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int64{}
	today := time.Now().UTC().Format(time.DateOnly)
	for _, r := range rows {
		if r.Day != today {
			t.Errorf("counter of day %s, want %s", r.Day, today)
		}
		out[r.PrincipalType+":"+r.PrincipalID] += r.Count
	}
	return out
}

func TestCounterCountsPerPrincipalAndAddsUp(t *testing.T) {
	t.Parallel()
	storetest.EachParallel(t, func(t *testing.T, st *store.Store) {
		c := st.Client
		a := newTenant(t, c, "A")
		b := newTenant(t, c, "B")
		user := &access.Principal{Kind: access.KindUser, ID: uuid.New(), TenantID: a, HomeTenantID: a}
		keyID := uuid.New()
		key := &access.Principal{Kind: access.KindAPIKey, ID: keyID, APIKeyID: keyID, TenantID: a, HomeTenantID: a}
		saKeyID := uuid.New()
		sa := &access.Principal{Kind: access.KindServiceAccount, ID: uuid.New(), APIKeyID: saKeyID, TenantID: a, HomeTenantID: a}
		client := &access.Principal{Kind: access.KindOAuthClient, ID: uuid.New(), ClientID: "cvc_abc", TenantID: a, HomeTenantID: a}
		// A platform admin acting in A counts in its home tenant, B.
		admin := &access.Principal{Kind: access.KindUser, ID: uuid.New(), TenantID: a, HomeTenantID: b}

		u := usage.New(c, quiet)
		for p, n := range map[*access.Principal]int{user: 2, key: 5, sa: 3, client: 4, admin: 1} {
			for range n {
				u.Count(p)
			}
		}
		if got := counts(t, c, a); len(got) != 0 {
			t.Fatalf("counts written before a flush: %v", got)
		}
		if err := u.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
		want := map[string]int64{"user:" + user.ID.String(): 2, "api_key:" + keyID.String(): 5, "api_key:" + saKeyID.String(): 3,
			"oauth_client:cvc_abc": 4}
		got := counts(t, c, a)
		if len(got) != len(want) {
			t.Fatalf("counts of A = %v, want %v", got, want)
		}
		for k, n := range want {
			if got[k] != n {
				t.Fatalf("count %s = %d, want %d (all: %v)", k, got[k], n, got)
			}
		}
		if gb := counts(t, c, b); len(gb) != 1 || gb["user:"+admin.ID.String()] != 1 {
			t.Fatalf("counts of B = %v, want the admin's one request", gb)
		}
		// Later batches add to the same rows.
		u.Count(key)
		u.Count(key)
		if err := u.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
		if err := u.Flush(context.Background()); err != nil { // nothing pending: a no-op
			t.Fatal(err)
		}
		if got := counts(t, c, a)["api_key:"+keyID.String()]; got != 7 {
			t.Fatalf("key count after a second batch = %d, want 7", got)
		}
		n, err := c.UsageCounter.Query().Where(usagecounter.TenantID(a)).Count(bg())
		if err != nil || n != 4 {
			t.Fatalf("%d counter rows for A (%v), want 4", n, err)
		}
	})
}

// TestCounterFlushKeepsCountsWhenAnotherTenantIsGone: the requests a
// tenant made just before its deletion are pending when the purge removes
// it; the flush must still write every other tenant's counts.
func TestCounterFlushKeepsCountsWhenAnotherTenantIsGone(t *testing.T) {
	t.Parallel()
	storetest.EachParallel(t, func(t *testing.T, st *store.Store) {
		c := st.Client
		a := newTenant(t, c, "A")
		gone := uuid.New()
		u := usage.New(c, quiet)
		kept := &access.Principal{Kind: access.KindUser, ID: uuid.New(), TenantID: a, HomeTenantID: a}
		u.Count(kept)
		u.Count(&access.Principal{Kind: access.KindUser, ID: uuid.New(), TenantID: gone, HomeTenantID: gone})
		m := metrics.New()
		u.Instrument(m)
		if err := u.Flush(context.Background()); err != nil {
			t.Fatalf("flush with a purged tenant's count: %v", err)
		}
		if got := counts(t, c, a)["user:"+kept.ID.String()]; got != 1 {
			t.Fatalf("A's count = %d, want 1", got)
		}
		if n := counted(t, m.BatchDropped.WithLabelValues("usage_counts")); n != 1 {
			t.Fatalf("dropped = %v, want 1 (the purged tenant's count)", n)
		}
	})
}

// TestCounterKeepsCountsUntilTheirWriteCommits: a flush the database
// refuses keeps every count, and counts keep adding up meanwhile; the next
// flush that commits writes them all, once.
func TestCounterKeepsCountsUntilTheirWriteCommits(t *testing.T) {
	t.Parallel()
	storetest.EachParallel(t, func(t *testing.T, st *store.Store) {
		c := st.Client
		a := newTenant(t, c, "A")
		refusal := storetest.RefuseInserts(t, st, "usage_counters")
		u := usage.New(c, quiet)
		p := &access.Principal{Kind: access.KindUser, ID: uuid.New(), TenantID: a, HomeTenantID: a}
		for range 3 {
			u.Count(p)
		}
		refusal.On()
		if err := u.Flush(context.Background()); err == nil {
			t.Fatal("a flush the database refused returned no error")
		}
		if n := u.Queued(); n != 1 {
			t.Fatalf("%d counters queued after a failed flush, want 1", n)
		}
		u.Count(p)
		refusal.Off()
		if err := u.Flush(context.Background()); err != nil {
			t.Fatal(err)
		}
		if got := counts(t, c, a)["user:"+p.ID.String()]; got != 4 {
			t.Fatalf("count = %d, want 4", got)
		}
	})
}

// TestFlushWaitsForTheFlushInProgress: a Flush called while another is
// writing (Run's, say) returns only once that one has committed, so what was
// counted before the call is in the database when it returns.
func TestFlushWaitsForTheFlushInProgress(t *testing.T) {
	t.Parallel()
	storetest.EachParallel(t, func(t *testing.T, st *store.Store) {
		statements := storetest.CountStatements(st)
		c := st.Client
		a := newTenant(t, c, "A")
		u := usage.New(c, quiet)
		p := &access.Principal{Kind: access.KindUser, ID: uuid.New(), TenantID: a, HomeTenantID: a}
		u.Count(p)
		isWrite := func(sql string) bool { return strings.Contains(sql, "usage_counters") }
		release := statements.HoldNext(isWrite)
		defer release()
		first := make(chan error, 1)
		go func() { first <- u.Flush(context.Background()) }()
		deadline := time.Now().Add(5 * time.Second)
		for !slices.ContainsFunc(statementsOf(statements), isWrite) {
			if time.Now().After(deadline) {
				t.Fatal("the first flush sent no write")
			}
			time.Sleep(time.Millisecond)
		}
		second := make(chan error, 1)
		go func() { second <- u.Flush(context.Background()) }()
		select {
		case err := <-second:
			t.Fatalf("a flush returned (%v) while the one before it was still writing", err)
		case <-time.After(200 * time.Millisecond):
		}
		release()
		for _, ch := range []chan error{first, second} {
			if err := <-ch; err != nil {
				t.Fatal(err)
			}
		}
		if got := counts(t, c, a)["user:"+p.ID.String()]; got != 1 {
			t.Fatalf("count = %d, want 1", got)
		}
	})
}

func statementsOf(s *storetest.Statements) []string {
	_, sql := s.Of("")
	return sql
}

// counted reads a counter.
func counted(t *testing.T, c prometheus.Counter) float64 {
	t.Helper()
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}
