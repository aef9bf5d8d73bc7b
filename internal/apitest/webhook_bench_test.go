package apitest_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/credvault/credvault/ent/webhookdelivery"
	"github.com/credvault/credvault/internal/apitest"
	"github.com/credvault/credvault/internal/platform/config"
	"github.com/credvault/credvault/internal/platform/store/storetest"
)

// benchEvents is how many events each iteration of a delivery benchmark
// queues, from benchProducers concurrent callers.
const benchEvents, benchProducers = 1000, 4

// hookBench is one endpoint of one tenant on a server, and a receiver for
// it answering 204 once its gate is open.
type hookBench struct {
	e        *apitest.Env
	hook     uuid.UUID
	path     string
	key      string
	h        http.Handler
	received atomic.Int64
	gate     atomic.Pointer[chan struct{}]
}

func newHookBench(b *testing.B, backend string, opts ...func(*config.Config)) *hookBench {
	hb := &hookBench{}
	open := make(chan struct{})
	close(open)
	hb.gate.Store(&open)
	recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		<-*hb.gate.Load()
		if r.Header.Get("webhook-id") != "" && r.Header.Get("webhook-signature") != "" {
			hb.received.Add(1)
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	b.Cleanup(recv.Close)
	hb.e = apitest.New(b, storetest.Open(b, backend), opts...)
	tn := register(b, hb.e, "Bench Hooks")
	var hook struct {
		ID string `json:"id"`
	}
	wantOK(b, do(hb.e, http.MethodPost, "/api/v1/webhooks", tn.AccessToken,
		map[string]any{"url": recv.URL, "events": []string{"webhook.test"}}), http.StatusCreated, &hook)
	hb.hook = uid(b, hook.ID)
	hb.key = tn.key(b, "webhooks:write").Key
	hb.path = "/api/v1/webhooks/" + hook.ID + "/test"
	hb.h = hb.e.Handler()
	return hb
}

// queue sends benchEvents POST …/test requests through the whole handler
// chain: each records its event and delivery in its own transaction and
// wakes the dispatcher, as every change that emits an event does.
func (hb *hookBench) queue(b *testing.B) {
	var wg sync.WaitGroup
	var refused atomic.Value
	for p := range benchProducers {
		wg.Go(func() {
			for i := p; i < benchEvents; i += benchProducers {
				req := httptest.NewRequest(http.MethodPost, hb.path, nil)
				req.Header.Set("X-API-Key", hb.key)
				rec := httptest.NewRecorder()
				hb.h.ServeHTTP(rec, req)
				if rec.Code != http.StatusAccepted {
					refused.CompareAndSwap(nil, fmt.Sprintf("POST %s: %d %s", hb.path, rec.Code, redact(rec.Body.Bytes())))
					return
				}
			}
		})
	}
	wg.Wait()
	if msg := refused.Load(); msg != nil {
		b.Fatal(msg)
	}
}

// count is how many of the endpoint's deliveries have one of statuses.
func (hb *hookBench) count(b *testing.B, statuses ...webhookdelivery.Status) int {
	q := hb.e.Store.Client.WebhookDelivery.Query().Where(webhookdelivery.WebhookID(hb.hook))
	if len(statuses) > 0 {
		q = q.Where(webhookdelivery.StatusIn(statuses...))
	}
	n, err := q.Count(unrestricted())
	if err != nil {
		b.Fatal(err)
	}
	return n
}

// awaitSucceeded polls the database until want deliveries are recorded
// succeeded; a delivery retrying or failed, or a minute gone, fails.
func (hb *hookBench) awaitSucceeded(b *testing.B, want int) {
	deadline := time.Now().Add(time.Minute)
	for {
		n := hb.count(b, webhookdelivery.StatusSucceeded)
		if n >= want {
			return
		}
		if bad := hb.count(b, webhookdelivery.StatusRetrying, webhookdelivery.StatusFailed); bad > 0 {
			b.Fatalf("%d deliveries retrying or failed, %d of %d succeeded", bad, n, want)
		}
		if time.Now().After(deadline) {
			b.Fatalf("%d of %d deliveries succeeded after a minute", n, want)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// checkAllSucceeded fails unless each of the iterations' deliveries
// succeeded and reached the receiver, signed, exactly once.
func (hb *hookBench) checkAllSucceeded(b *testing.B, iterations int) {
	want := benchEvents * iterations
	if total, ok := hb.count(b), hb.count(b, webhookdelivery.StatusSucceeded); total != want || ok != want {
		b.Fatalf("%d deliveries, %d succeeded, want %d, all succeeded", total, ok, want)
	}
	if got := hb.received.Load(); got != int64(want) {
		b.Fatalf("the receiver got %d signed requests, want %d", got, want)
	}
}

// BenchmarkWebhookDelivery1000 measures delivery throughput (issue 14: 1,000
// events to one endpoint delivered within 10 s): per iteration 1,000
// webhook.test events are queued for one endpoint, a local receiver
// answering 204, by POST /api/v1/webhooks/{id}/test from 4 concurrent callers
// through the whole handler chain, and the clock runs from the first request
// to the 1,000th delivery recorded succeeded in the database. It fails
// unless every delivery succeeded, each received once.
func BenchmarkWebhookDelivery1000(b *testing.B) {
	for _, backend := range storetest.Backends() {
		b.Run(backend, func(b *testing.B) {
			hb := newHookBench(b, backend)
			var deliver, produce time.Duration
			iterations := 0
			for b.Loop() {
				start := time.Now()
				hb.queue(b)
				produce += time.Since(start)
				hb.awaitSucceeded(b, benchEvents*(iterations+1))
				deliver += time.Since(start)
				iterations++
			}
			b.StopTimer()
			hb.checkAllSucceeded(b, iterations)
			perThousand := deliver.Seconds() / float64(iterations)
			b.ReportMetric(float64(benchEvents)/perThousand, "events/s")
			b.ReportMetric(perThousand, "s/1000events")
			b.ReportMetric(produce.Seconds()/float64(iterations), "s/1000queued")
		})
	}
}

// BenchmarkWebhookDeliveryBacklog1000 measures the dispatcher alone: per
// iteration 1,000 webhook.test deliveries are queued while the receiver
// holds every request, then it is released, and the clock runs from the
// release to the 1,000th delivery recorded succeeded. The timeout is a
// minute, so held requests do not time out while the backlog is queued.
func BenchmarkWebhookDeliveryBacklog1000(b *testing.B) {
	for _, backend := range storetest.Backends() {
		b.Run(backend, func(b *testing.B) {
			hb := newHookBench(b, backend, func(c *config.Config) { c.WebhookTimeout = time.Minute })
			var drain time.Duration
			iterations := 0
			for b.Loop() {
				b.StopTimer()
				gate := make(chan struct{})
				hb.gate.Store(&gate)
				hb.queue(b)
				b.StartTimer()
				start := time.Now()
				close(gate)
				hb.awaitSucceeded(b, benchEvents*(iterations+1))
				drain += time.Since(start)
				iterations++
			}
			b.StopTimer()
			hb.checkAllSucceeded(b, iterations)
			perThousand := drain.Seconds() / float64(iterations)
			b.ReportMetric(float64(benchEvents)/perThousand, "events/s")
			b.ReportMetric(perThousand, "s/1000events")
		})
	}
}
