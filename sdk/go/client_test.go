package credvault

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestRetries: 429 and 503 are retried, after the Retry-After the server
// names; the last answer's error is an *Error.
func TestRetries(t *testing.T) {
	var calls atomic.Int32
	var gaps []time.Duration
	last := time.Now()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gaps = append(gaps, time.Since(last))
		last = time.Now()
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Request-ID", "req-1")
		switch calls.Add(1) {
		case 1:
			w.Header().Set("Retry-After", "1")
			w.WriteHeader(429)
			w.Write([]byte(`{"success":false,"error":{"code":"RATE_LIMIT_EXCEEDED","message":"slow down","details":{"retry_after":1}},"meta":{"request_id":"req-1"}}`))
		case 2:
			w.WriteHeader(503)
			w.Write([]byte(`{"success":false,"error":{"code":"SERVICE_UNAVAILABLE","message":"down"},"meta":{"request_id":"req-2"}}`))
		default:
			w.Write([]byte(`{"success":true,"data":{"id":"k1","name":"n","scopes":[],"status":"active","created_at":"2026-01-01T00:00:00Z","updated_at":"2026-01-01T00:00:00Z"},"meta":{"request_id":"req-3"}}`))
		}
	}))
	defer srv.Close()
	c, err := NewClient(srv.URL, WithAPIKey("cvk_x"), WithBackoff(10*time.Millisecond, 20*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	k, err := c.APIKeys.Get(context.Background(), "k1")
	if err != nil || k.ID != "k1" {
		t.Fatalf("Get = %+v, %v", k, err)
	}
	if calls.Load() != 3 || gaps[1] < 900*time.Millisecond {
		t.Fatalf("calls %d, gaps %v: want 3, the second after Retry-After", calls.Load(), gaps)
	}

	calls.Store(1) // next answer: 503, then success; with no retries, the 503 is the error
	c2, _ := NewClient(srv.URL, WithAPIKey("cvk_x"), WithRetries(0))
	_, err = c2.APIKeys.Get(context.Background(), "k1")
	var e *Error
	if !errors.As(err, &e) || e.Status != 503 || e.Code != CodeUnavailable || e.RequestID != "req-2" {
		t.Fatalf("err = %#v", err)
	}
	if !errors.Is(err, &Error{Code: CodeUnavailable}) || HasCode(err, CodeNotFound) {
		t.Fatal("errors.Is by code")
	}
}

// TestOperationsHaveMethods: every method Operations names exists.
func TestOperationsHaveMethods(t *testing.T) {
	c, _ := NewClient("http://localhost")
	funcs := map[string]bool{"NewVerifier": true}
	for op, m := range Operations {
		if funcs[m] {
			continue
		}
		svc, method, ok := strings.Cut(m, ".")
		if !ok {
			t.Errorf("%s: %q is no Service.Method", op, m)
			continue
		}
		f := reflect.ValueOf(c).Elem().FieldByName(svc)
		if !f.IsValid() || !f.MethodByName(method).IsValid() {
			t.Errorf("%s: no method %s", op, m)
		}
		if _, dup := Omitted[op]; dup {
			t.Errorf("%s is both mapped and omitted", op)
		}
	}
}
