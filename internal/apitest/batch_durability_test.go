package apitest_test

// Batched writes are durable through the real server: while the database
// refuses their inserts, key validations' audit entries and request counts
// stay queued (the queue length and the retries show it), and once it
// accepts them again every one is written, none twice.

import (
	"net/http"
	"testing"
	"time"

	"github.com/credvault/credvault/ent/usagecounter"
	"github.com/credvault/credvault/internal/apitest"
	"github.com/credvault/credvault/internal/platform/store/storetest"
)

func TestBatchedWritesSurviveARefusedFlush(t *testing.T) {
	t.Parallel()
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		tn := register(t, e, "Durable")
		k := tn.key(t, "api_keys:read")
		auditRefusal := storetest.RefuseInserts(t, e.Store, "audit_logs")
		usageRefusal := storetest.RefuseInserts(t, e.Store, "usage_counters")
		auditRefusal.On()
		usageRefusal.On()
		const n = 20
		for range n {
			wantStatus(t, do(e, http.MethodPost, "/api/v1/api-keys/"+k.ID.String()+"/validate", k.Key, map[string]string{"key": k.Key}), http.StatusOK)
		}
		audit := map[string]string{"kind": "audit"}
		eventually(t, 10*time.Second, "a refused audit flush retried", func() (bool, string) {
			fams := scrapeMetrics(t, e)
			retries := metricValue(fams, "credvault_batch_retries_total", audit)
			queued := metricValue(fams, "credvault_batch_queue_length", audit)
			return retries >= 1 && queued >= 1, "retries and queue length"
		})
		if es := readAudit(t, e, tn.TenantID, "api_key.validate", k.ID.String()); len(es) != 0 {
			t.Fatalf("%d validation entries written while the database refused them", len(es))
		}

		auditRefusal.Off()
		usageRefusal.Off()
		e.Flush()
		if got := len(expandTallies(readAudit(t, e, tn.TenantID, "api_key.validate", k.ID.String()))); got != n {
			t.Fatalf("%d validation entries after the refusal ended, want %d", got, n)
		}
		rows, err := e.Store.Client.UsageCounter.Query().Where(usagecounter.TenantID(tn.TenantID), usagecounter.PrincipalID(k.ID.String())).
			All(unrestricted())
		if err != nil {
			t.Fatal(err)
		}
		var counted int64
		for _, r := range rows {
			counted += r.Count
		}
		if counted != n {
			t.Fatalf("%d requests counted for the key, want %d", counted, n)
		}
		fams := scrapeMetrics(t, e)
		for _, kind := range []string{"audit", "usage_counts", "api_key_last_used"} {
			if q := metricValue(fams, "credvault_batch_queue_length", map[string]string{"kind": kind}); q != 0 {
				t.Errorf("%s queue length %v after the flush, want 0", kind, q)
			}
			if d := metricValue(fams, "credvault_batch_dropped_total", map[string]string{"kind": kind}); d != 0 {
				t.Errorf("%s: %v entries dropped, want none", kind, d)
			}
		}
	})
}
