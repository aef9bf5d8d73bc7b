package server

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"
	"github.com/vektah/gqlparser/v2/validator"

	"github.com/credvault/credvault/graph"
)

// clockThreadCPUTime is Linux's CLOCK_THREAD_CPUTIME_ID: the CPU time of
// the calling thread alone, to the nanosecond, so tests running in
// parallel do not count.
const clockThreadCPUTime = 3

// threadCPU is the CPU time the current OS thread has used.
func threadCPU(t testing.TB) time.Duration {
	var ts syscall.Timespec
	if _, _, errno := syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clockThreadCPUTime, uintptr(unsafe.Pointer(&ts)), 0); errno != 0 {
		t.Fatal(errno)
	}
	return time.Duration(ts.Nano())
}

// serveCPU posts body to h on this goroutine, locked to its thread, and
// returns the answer and the CPU time the handler used: gqlgen answers a
// POST on the calling goroutine.
func serveCPU(t testing.TB, h http.Handler, body []byte) (*httptest.ResponseRecorder, time.Duration) {
	req := httptest.NewRequest(http.MethodPost, "/graphql", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	w := httptest.NewRecorder()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	start := threadCPU(t)
	h.ServeHTTP(w, req)
	return w, threadCPU(t) - start
}

// TestHugeDocumentsRejectedWithin100msCPU: every worst document under
// 1 MiB is refused with a VALIDATION_ERROR (422) using less than 100 ms of
// CPU in the handler, and every worst document the limits admit is
// parsed and validated within 100 ms of CPU too. CPU time is the thread's;
// for a refusal the smallest of three runs (a GC cycle may land in one).
func TestHugeDocumentsRejectedWithin100msCPU(t *testing.T) {
	const budget = 100 * time.Millisecond
	h := newGraphQL(&graph.Resolver{}, false)
	best := func(body []byte) (*httptest.ResponseRecorder, time.Duration) {
		var w *httptest.ResponseRecorder
		least := time.Duration(1 << 62)
		for range 3 {
			var cpu time.Duration
			w, cpu = serveCPU(t, h, body)
			least = min(least, cpu)
		}
		return w, least
	}
	for _, d := range hugeDocuments(t) {
		w, cpu := best(d.body)
		var g struct {
			Data   json.RawMessage
			Errors []struct {
				Message    string
				Extensions map[string]any
			}
		}
		if err := json.Unmarshal(w.Body.Bytes(), &g); err != nil {
			t.Fatalf("%s: %v", d.name, err)
		}
		switch {
		case w.Code != http.StatusUnprocessableEntity || len(g.Errors) == 0:
			t.Errorf("%s: status %d, %.300s", d.name, w.Code, w.Body)
		case g.Errors[0].Extensions["code"] != "VALIDATION_ERROR" || !strings.Contains(g.Errors[0].Message, d.want):
			t.Errorf("%s: %v %q, want VALIDATION_ERROR about %s", d.name, g.Errors[0].Extensions["code"], g.Errors[0].Message, d.want)
		case len(g.Data) > 0 && string(g.Data) != "null":
			t.Errorf("%s: ran: %.200s", d.name, g.Data)
		}
		t.Logf("%-50s %7d bytes refused in %v CPU", d.name, len(d.body), cpu)
		if cpu > budget {
			t.Errorf("%s: %v of CPU, more than %v", d.name, cpu, budget)
		}
	}
	schema := graph.NewSchema(&graph.Resolver{}).Schema()
	for name, query := range worstAdmitted() {
		runtime.LockOSThread()
		start := threadCPU(t)
		doc, err := parser.ParseQueryWithTokenLimit(&ast.Source{Input: query}, maxTokens)
		if err == nil && checkDocument(doc) == nil {
			validator.ValidateWithRules(schema, doc, rulesWithoutSuggestions())
		}
		cpu := threadCPU(t) - start
		runtime.UnlockOSThread()
		t.Logf("%-50s %7d bytes parsed, checked and validated in %v CPU", name, len(query), cpu)
		if cpu > budget {
			t.Errorf("%s: %v of CPU, more than %v", name, cpu, budget)
		}
	}
}

// BenchmarkRejectHugeDocument: the handler's time to refuse each worst
// document under 1 MiB, body decoding included: ns/op of wall time, and
// cpu-ns/op of its thread's CPU time, which a busy machine does not inflate.
func BenchmarkRejectHugeDocument(b *testing.B) {
	h := newGraphQL(&graph.Resolver{}, false)
	for _, d := range hugeDocuments(b) {
		b.Run(strings.ReplaceAll(d.name, " ", "_"), func(b *testing.B) {
			b.SetBytes(int64(len(d.body)))
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			start := threadCPU(b)
			for b.Loop() {
				req := httptest.NewRequest(http.MethodPost, "/graphql", bytes.NewReader(d.body))
				req.Header.Set("Content-Type", "application/json")
				w := httptest.NewRecorder()
				h.ServeHTTP(w, req)
				if w.Code != http.StatusUnprocessableEntity {
					b.Fatalf("status %d", w.Code)
				}
			}
			b.ReportMetric(float64(threadCPU(b)-start)/float64(b.N), "cpu-ns/op")
		})
	}
}
