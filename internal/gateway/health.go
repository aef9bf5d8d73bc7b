package gateway

import (
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"
)

// The circuit states of a provider.
const (
	CircuitClosed   = "closed"
	CircuitOpen     = "open"
	CircuitHalfOpen = "half_open"
)

// The health statuses of a provider.
const (
	StatusHealthy  = "healthy"
	StatusDegraded = "degraded"
	StatusDown     = "down"
)

// Breaker defaults: a provider failing this many calls in a row is left
// alone for the cooldown, then given one trial call.
const (
	DefaultFailureThreshold = 5
	DefaultCooldown         = 30 * time.Second
	// window is how many recent calls the success rate and latency
	// percentiles are computed over.
	window = 200
	// degradedBelow is the success rate under which a provider is degraded.
	degradedBelow = 0.9
)

// Health is the circuit breaker and call statistics of every provider, in
// memory per instance: each instance learns for itself which upstreams
// answer it.
type Health struct {
	Threshold int
	Cooldown  time.Duration
	// Now is the clock; nil is time.Now.
	Now func() time.Time

	mu        sync.Mutex
	providers map[uuid.UUID]*providerState
}

type providerState struct {
	failures    int
	circuit     string
	openedAt    time.Time
	probing     bool
	calls       []call
	next        int
	lastError   string
	lastChecked time.Time
}

type call struct {
	ok bool
	ms float64
}

// NewHealth returns a breaker with the defaults.
func NewHealth() *Health {
	return &Health{Threshold: DefaultFailureThreshold, Cooldown: DefaultCooldown}
}

func (h *Health) now() time.Time {
	if h.Now != nil {
		return h.Now()
	}
	return time.Now()
}

func (h *Health) state(id uuid.UUID) *providerState {
	if h.providers == nil {
		h.providers = map[uuid.UUID]*providerState{}
	}
	s, ok := h.providers[id]
	if !ok {
		s = &providerState{circuit: CircuitClosed}
		h.providers[id] = s
	}
	return s
}

// Allow reports whether a call may go to provider id now: always while its
// circuit is closed; after the cooldown of an open circuit, one trial call
// at a time (half-open).
func (h *Health) Allow(id uuid.UUID) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.state(id)
	switch s.circuit {
	case CircuitOpen:
		if h.now().Sub(s.openedAt) < h.Cooldown {
			return false
		}
		s.circuit, s.probing = CircuitHalfOpen, true
		return true
	case CircuitHalfOpen:
		if s.probing {
			return false
		}
		s.probing = true
	}
	return true
}

// Record notes a call's outcome: a success closes the circuit; the
// threshold's consecutive failure, or a failed trial, opens it. errMsg
// describes a failure without any of the call's content.
func (h *Health) Record(id uuid.UUID, ok bool, d time.Duration, errMsg string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.state(id)
	now := h.now()
	c := call{ok: ok, ms: float64(d.Microseconds()) / 1000}
	if len(s.calls) < window {
		s.calls = append(s.calls, c)
	} else {
		s.calls[s.next] = c
		s.next = (s.next + 1) % window
	}
	s.lastChecked = now
	s.probing = false
	if ok {
		s.failures, s.circuit = 0, CircuitClosed
		return
	}
	s.failures++
	s.lastError = errMsg
	if s.circuit == CircuitHalfOpen || s.failures >= h.Threshold {
		s.circuit, s.openedAt = CircuitOpen, now
	}
}

// ProviderHealth is one provider's row of GET /admin/router/health.
type ProviderHealth struct {
	ProviderID    uuid.UUID  `json:"provider_id"`
	Name          string     `json:"name"`
	Status        string     `json:"status"`
	Circuit       string     `json:"circuit"`
	SuccessRate   float64    `json:"success_rate"`
	P50Ms         float64    `json:"p50_ms"`
	P95Ms         float64    `json:"p95_ms"`
	LastError     *string    `json:"last_error"`
	LastCheckedAt *time.Time `json:"last_checked_at"`
}

// Snapshot is provider id's health now. A provider without calls is
// healthy with a success rate of 1.
func (h *Health) Snapshot(id uuid.UUID, name string) *ProviderHealth {
	h.mu.Lock()
	defer h.mu.Unlock()
	s := h.state(id)
	out := &ProviderHealth{ProviderID: id, Name: name, Circuit: s.circuit, SuccessRate: 1}
	if s.circuit == CircuitOpen && h.now().Sub(s.openedAt) >= h.Cooldown {
		out.Circuit = CircuitHalfOpen
	}
	if n := len(s.calls); n > 0 {
		ok := 0
		ms := make([]float64, n)
		for i, c := range s.calls {
			if c.ok {
				ok++
			}
			ms[i] = c.ms
		}
		slices.Sort(ms)
		out.SuccessRate = float64(ok) / float64(n)
		out.P50Ms, out.P95Ms = percentile(ms, 0.50), percentile(ms, 0.95)
		at := s.lastChecked
		out.LastCheckedAt = &at
	}
	if s.lastError != "" {
		e := s.lastError
		out.LastError = &e
	}
	switch {
	case out.Circuit == CircuitOpen:
		out.Status = StatusDown
	case out.Circuit == CircuitHalfOpen || out.SuccessRate < degradedBelow:
		out.Status = StatusDegraded
	default:
		out.Status = StatusHealthy
	}
	return out
}

// Forget drops a deleted provider's state.
func (h *Health) Forget(id uuid.UUID) {
	h.mu.Lock()
	defer h.mu.Unlock()
	delete(h.providers, id)
}

// percentile is the nearest-rank percentile of sorted values.
func percentile(sorted []float64, p float64) float64 {
	i := int(p*float64(len(sorted))+0.999999) - 1
	return sorted[max(0, min(i, len(sorted)-1))]
}
