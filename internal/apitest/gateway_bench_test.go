package apitest_test

import (
	"bytes"
	"io"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/credvault/credvault/internal/apitest"
	"github.com/credvault/credvault/internal/platform/store/storetest"
)

// BenchmarkGatewayOverhead times one non-streamed chat completion against
// a local upstream directly and through CredVault (API key, router,
// vault key, guardrails, usage, audit), alternating the two so both see the
// same machine, and reports each one's p50 and p99 and what CredVault adds.
func BenchmarkGatewayOverhead(b *testing.B) {
	for _, backend := range storetest.Backends() {
		b.Run(backend, func(b *testing.B) {
			e := apitest.New(b, storetest.Open(b, backend))
			tn := register(b, e, "Bench Gateway")
			g := &gwTenant{tenantFixture: tn, invoke: tn.key(b, "gateway:invoke").Key}
			up := newUpstream(b, "bench")
			g.provider(b, up, "bench-key", "sk-bench", "gpt-bench")
			// One guardrail, so the input check runs as it would in use.
			wantStatus(b, do(e, http.MethodPost, "/api/v1/admin/guardrails", tn.AccessToken, map[string]any{
				"name": "pii", "kind": "pii", "action": "redact", "applies_to": "input"}), http.StatusCreated)
			body := []byte(`{"model":"gpt-bench","messages":[{"role":"system","content":"You are terse."},{"role":"user","content":"Say hello in one word."}]}`)
			client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4}}
			call := func(url, key string) time.Duration {
				req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Authorization", "Bearer "+key)
				start := time.Now()
				resp, err := client.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				d := time.Since(start)
				if resp.StatusCode != http.StatusOK {
					b.Fatalf("%s: %d", url, resp.StatusCode)
				}
				return d
			}
			direct, via := up.URL+"/v1/chat/completions", e.Server.URL+"/api/v1/chat/completions"
			for range 200 { // warm both paths: connections, caches, the DEK
				call(direct, "sk-bench")
				call(via, g.invoke)
			}
			up.mu.Lock()
			up.got = nil
			up.mu.Unlock()
			var ds, vs []time.Duration
			b.ResetTimer()
			for range b.N {
				ds = append(ds, call(direct, "sk-bench"))
				vs = append(vs, call(via, g.invoke))
			}
			b.StopTimer()
			if n := len(up.calls()); n != 2*b.N {
				b.Fatalf("the upstream got %d calls, want %d", n, 2*b.N)
			}
			slices.Sort(ds)
			slices.Sort(vs)
			pct := func(s []time.Duration, p float64) float64 {
				return float64(s[min(len(s)-1, int(p*float64(len(s))))].Microseconds()) / 1000
			}
			b.ReportMetric(pct(ds, 0.50), "direct-p50-ms")
			b.ReportMetric(pct(ds, 0.99), "direct-p99-ms")
			b.ReportMetric(pct(vs, 0.50), "gateway-p50-ms")
			b.ReportMetric(pct(vs, 0.99), "gateway-p99-ms")
			b.ReportMetric(pct(vs, 0.50)-pct(ds, 0.50), "added-p50-ms")
			b.ReportMetric(pct(vs, 0.99)-pct(ds, 0.99), "added-p99-ms")
		})
	}
}
