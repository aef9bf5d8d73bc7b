package gateway

import (
	"testing"
	"time"

	"github.com/google/uuid"
)

// TestCircuitOpensAndCloses: five failures in a row open a provider's
// circuit; after the cooldown one trial call goes through (half-open); a
// failed trial opens it again, a successful one closes it.
func TestCircuitOpensAndCloses(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	h := NewHealth()
	h.Now = func() time.Time { return now }
	id := uuid.New()
	for i := range DefaultFailureThreshold {
		if !h.Allow(id) {
			t.Fatalf("call %d refused before the threshold", i)
		}
		h.Record(id, false, 20*time.Millisecond, "status 503")
	}
	if h.Allow(id) {
		t.Fatal("the circuit did not open after 5 consecutive failures")
	}
	if s := h.Snapshot(id, "p"); s.Circuit != CircuitOpen || s.Status != StatusDown || s.SuccessRate != 0 || *s.LastError != "status 503" {
		t.Fatalf("open snapshot = %+v", s)
	}

	now = now.Add(DefaultCooldown)
	if s := h.Snapshot(id, "p"); s.Circuit != CircuitHalfOpen || s.Status != StatusDegraded {
		t.Fatalf("after the cooldown = %+v", s)
	}
	if !h.Allow(id) {
		t.Fatal("no trial call after the cooldown")
	}
	if h.Allow(id) {
		t.Fatal("a second call during the trial")
	}
	h.Record(id, false, 20*time.Millisecond, "timeout")
	if h.Allow(id) {
		t.Fatal("a failed trial did not open the circuit again")
	}

	now = now.Add(DefaultCooldown)
	if !h.Allow(id) {
		t.Fatal("no trial call after the second cooldown")
	}
	h.Record(id, true, 10*time.Millisecond, "")
	s := h.Snapshot(id, "p")
	if s.Circuit != CircuitClosed || !h.Allow(id) {
		t.Fatalf("a successful trial did not close the circuit: %+v", s)
	}
	// 1 success in 7 calls: closed but degraded.
	if s.Status != StatusDegraded || s.SuccessRate != 1.0/7 || s.LastCheckedAt == nil {
		t.Fatalf("closed snapshot = %+v", s)
	}
}

// TestHealthPercentiles: p50 and p95 over the recent calls, and a provider
// without calls healthy.
func TestHealthPercentiles(t *testing.T) {
	h := NewHealth()
	id := uuid.New()
	if s := h.Snapshot(id, "idle"); s.Status != StatusHealthy || s.SuccessRate != 1 || s.LastCheckedAt != nil {
		t.Fatalf("idle = %+v", s)
	}
	for i := 1; i <= 100; i++ {
		h.Record(id, true, time.Duration(i)*time.Millisecond, "")
	}
	if s := h.Snapshot(id, "busy"); s.P50Ms != 50 || s.P95Ms != 95 || s.Status != StatusHealthy {
		t.Fatalf("busy = %+v", s)
	}
}
