package credvault

import (
	"bufio"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Errors of Verifier.Verify.
var (
	// ErrInvalidKey: no usable key has this secret (unknown, revoked, or
	// of a suspended tenant or disabled service account).
	ErrInvalidKey = errors.New("credvault: invalid API key")
	// ErrKeyExpired: the key is past its expiry (or a rotated-out secret
	// past its grace period).
	ErrKeyExpired = errors.New("credvault: API key expired")
	// ErrIPNotAllowed: the key (or its tenant) does not work from the
	// client's address.
	ErrIPNotAllowed = errors.New("credvault: API key not allowed from this address")
	// ErrStale: the verifier has not heard from the server for longer than
	// its staleness bound (or has not synced yet), so it refuses every key
	// rather than accept a revoked one: it fails closed.
	ErrStale = errors.New("credvault: verifier is stale: the key stream is down")
)

// DefaultStaleness is how long a verifier keeps verifying after its stream
// to the server is lost.
const DefaultStaleness = 30 * time.Second

// streamIdle is how long a stream may stay silent (the server sends a
// heartbeat every 15 s) before the verifier drops it and reconnects.
const streamIdle = 40 * time.Second

// VerifiedKey is a key the verifier accepted. It is shared: do not modify it.
type VerifiedKey struct {
	// ID is the key's id.
	ID string
	// Scopes are the key's scopes.
	Scopes []string
	// ExpiresAt is when the key stops working, if ever.
	ExpiresAt *time.Time

	allow, tenantAllow []netip.Prefix
}

// HasScope reports whether the key holds scope.
func (k *VerifiedKey) HasScope(scope string) bool {
	for _, s := range k.Scopes {
		if s == scope {
			return true
		}
	}
	return false
}

// AllowsIP reports whether the key (and its tenant) work from addr: an
// empty allowlist allows every address.
func (k *VerifiedKey) AllowsIP(addr netip.Addr) bool {
	return allows(k.allow, addr) && allows(k.tenantAllow, addr)
}

func allows(list []netip.Prefix, addr netip.Addr) bool {
	if len(list) == 0 {
		return true
	}
	addr = addr.Unmap()
	for _, p := range list {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// VerifierOption configures a Verifier.
type VerifierOption func(*Verifier)

// WithStaleness sets how long the verifier keeps verifying once its stream
// is lost (DefaultStaleness by default); past it, Verify fails with ErrStale.
func WithStaleness(d time.Duration) VerifierOption { return func(v *Verifier) { v.staleness = d } }

// WithStartTimeout bounds how long NewVerifier waits for the first snapshot
// (10 s by default).
func WithStartTimeout(d time.Duration) VerifierOption {
	return func(v *Verifier) { v.startTimeout = d }
}

// WithReconnectBackoff sets the first and the largest wait between
// reconnection attempts (100 ms and 5 s by default).
func WithReconnectBackoff(first, largest time.Duration) VerifierOption {
	return func(v *Verifier) { v.backoffMin, v.backoffMax = first, max(first, largest) }
}

// Verifier verifies API keys locally: it keeps the tenant's usable keys in
// memory, fed by the key stream (GET /api/v1/api-keys/stream), so a
// verification is a SHA-256 and a map lookup, with no network round trip.
// A revocation reaches it within a second. When the stream is lost it
// reconnects, resuming after the last event it saw; when it stays lost
// longer than the staleness bound, Verify fails closed with ErrStale.
//
// The client needs the scope api_keys:read. A Verifier is safe for
// concurrent use; Close stops it.
type Verifier struct {
	client       *Client
	staleness    time.Duration
	startTimeout time.Duration
	backoffMin   time.Duration
	backoffMax   time.Duration

	mu   sync.RWMutex
	keys map[[sha256.Size]byte]*keyEntry
	byID map[string][][sha256.Size]byte

	// synced is set once a snapshot arrived; connected while a stream is
	// open; lostAt is when the last stream was lost (Unix nanoseconds).
	synced    atomic.Bool
	connected atomic.Bool
	lostAt    atomic.Int64
	lastID    string // the stream goroutine's only
	lastErr   atomic.Pointer[error]

	snapshots, upserts, removes, reconnects atomic.Int64

	ready chan struct{}
	// refused is closed when the server refuses the stream (401, 403)
	// before the first snapshot: NewVerifier fails at once.
	refused     chan struct{}
	refusedOnce sync.Once
	cancel      context.CancelFunc
	done        chan struct{}
}

type keyEntry struct {
	hash [sha256.Size]byte
	// expires is when this secret stops working: the key's expiry, or for
	// a rotated-out secret the end of its grace period.
	expires *time.Time
	key     *VerifiedKey
}

// streamKey is a key as the stream carries it.
type streamKey struct {
	ID                string     `json:"id"`
	Hash              string     `json:"hash"`
	Scopes            []string   `json:"scopes"`
	ExpiresAt         *time.Time `json:"expires_at"`
	IPAllowlist       []string   `json:"ip_allowlist"`
	TenantIPAllowlist []string   `json:"tenant_ip_allowlist"`
	PreviousHash      string     `json:"previous_hash"`
	PreviousExpiresAt *time.Time `json:"previous_expires_at"`
}

// NewVerifier starts a verifier over c's key stream and waits for its first
// snapshot (see WithStartTimeout); it fails when the server refuses the
// stream (c lacks api_keys:read, say) or does not answer in time.
func NewVerifier(c *Client, opts ...VerifierOption) (*Verifier, error) {
	if c.apiKey == "" && c.token == "" {
		return nil, ErrNoAuth
	}
	v := &Verifier{client: c, staleness: DefaultStaleness, startTimeout: 10 * time.Second,
		backoffMin: 100 * time.Millisecond, backoffMax: 5 * time.Second,
		keys: map[[sha256.Size]byte]*keyEntry{}, byID: map[string][][sha256.Size]byte{},
		ready: make(chan struct{}), refused: make(chan struct{}), done: make(chan struct{})}
	for _, o := range opts {
		o(v)
	}
	ctx, cancel := context.WithCancel(context.Background())
	v.cancel = cancel
	go v.run(ctx)
	t := time.NewTimer(v.startTimeout)
	defer t.Stop()
	select {
	case <-v.ready:
		return v, nil
	case <-v.refused:
		v.Close()
		return nil, *v.lastErr.Load()
	case <-t.C:
		v.Close()
		if err := v.lastErr.Load(); err != nil {
			return nil, *err
		}
		return nil, fmt.Errorf("credvault: verifier: no snapshot within %v", v.startTimeout)
	}
}

// Close stops the verifier; Verify fails with ErrStale from then on.
func (v *Verifier) Close() error {
	v.cancel()
	<-v.done
	v.synced.Store(false)
	return nil
}

// Verify checks key locally: the key must be one of the tenant's usable
// keys and not expired, and the verifier not stale. It does not check an
// IP allowlist (see VerifiedKey.AllowsIP, and Middleware, which does).
func (v *Verifier) Verify(key string) (*VerifiedKey, error) {
	sum := sha256.Sum256([]byte(key))
	if err := v.fresh(); err != nil {
		return nil, err
	}
	v.mu.RLock()
	e := v.keys[sum]
	v.mu.RUnlock()
	if e == nil || subtle.ConstantTimeCompare(e.hash[:], sum[:]) != 1 {
		return nil, ErrInvalidKey
	}
	if e.expires != nil && !time.Now().Before(*e.expires) {
		return nil, ErrKeyExpired
	}
	return e.key, nil
}

// fresh is nil while the verifier may answer: synced, and connected or lost
// for less than the staleness bound.
func (v *Verifier) fresh() error {
	if !v.synced.Load() {
		return ErrStale
	}
	if !v.connected.Load() && time.Since(time.Unix(0, v.lostAt.Load())) > v.staleness {
		return ErrStale
	}
	return nil
}

// Stale reports whether Verify fails closed now.
func (v *Verifier) Stale() bool { return v.fresh() != nil }

// VerifierStats count what a verifier has received.
type VerifierStats struct {
	// Keys is how many secrets (keys, and rotated-out secrets in their
	// grace period) the verifier holds.
	Keys int
	// Snapshots, Upserts and Removes count the stream's events; Reconnects
	// the streams opened after the first.
	Snapshots, Upserts, Removes, Reconnects int64
	// Connected is set while a stream is open.
	Connected bool
	// LastEventID is the id of the last event applied.
	LastEventID string
}

// Stats returns the verifier's counters.
func (v *Verifier) Stats() VerifierStats {
	v.mu.RLock()
	n, last := len(v.keys), v.lastID
	v.mu.RUnlock()
	return VerifierStats{Keys: n, Snapshots: v.snapshots.Load(), Upserts: v.upserts.Load(), Removes: v.removes.Load(),
		Reconnects: v.reconnects.Load(), Connected: v.connected.Load(), LastEventID: last}
}

// run keeps a stream open until ctx is done.
func (v *Verifier) run(ctx context.Context) {
	defer close(v.done)
	wait := v.backoffMin
	for attempt := 0; ; attempt++ {
		if attempt > 0 {
			v.reconnects.Add(1)
		}
		got, err := v.connect(ctx)
		if v.connected.Swap(false) {
			v.lostAt.Store(time.Now().UnixNano())
		}
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			v.lastErr.Store(&err)
			var e *Error
			if errors.As(err, &e) && (e.Status == http.StatusUnauthorized || e.Status == http.StatusForbidden) && !v.synced.Load() {
				v.refusedOnce.Do(func() { close(v.refused) })
			}
		}
		if got {
			wait = v.backoffMin
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
		wait = min(wait*2, v.backoffMax)
	}
}

// connect reads one stream until it ends; got reports whether it received
// anything.
func (v *Verifier) connect(ctx context.Context) (got bool, err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	header := http.Header{}
	if v.lastID != "" {
		header.Set("Last-Event-ID", v.lastID)
	}
	resp, err := v.client.stream(ctx, "/api-keys/stream", nil, "text/event-stream", header)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	idle := time.AfterFunc(streamIdle, cancel)
	defer idle.Stop()
	v.connected.Store(true)
	r := bufio.NewReaderSize(resp.Body, 64<<10)
	var id, event string
	var data strings.Builder
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return got, err
		}
		got = true
		idle.Reset(streamIdle)
		line = strings.TrimRight(line, "\r\n")
		if line == "" { // dispatch
			if event != "" || data.Len() > 0 {
				if err := v.apply(id, event, data.String()); err != nil {
					return got, err
				}
			}
			id, event = "", ""
			data.Reset()
			continue
		}
		if strings.HasPrefix(line, ":") {
			continue // a heartbeat
		}
		field, value, _ := strings.Cut(line, ":")
		value = strings.TrimPrefix(value, " ")
		switch field {
		case "id":
			id = value
		case "event":
			event = value
		case "data":
			if data.Len() > 0 {
				data.WriteByte('\n')
			}
			data.WriteString(value)
		case "retry":
			if ms, err := strconv.Atoi(value); err == nil && ms > 0 {
				v.backoffMin = min(time.Duration(ms)*time.Millisecond, v.backoffMax)
			}
		}
	}
}

// apply applies one event to the key set.
func (v *Verifier) apply(id, event, data string) error {
	switch event {
	case "snapshot":
		var snap struct {
			Keys []streamKey `json:"keys"`
		}
		if err := json.Unmarshal([]byte(data), &snap); err != nil {
			return fmt.Errorf("credvault: verifier: snapshot: %w", err)
		}
		keys := make(map[[sha256.Size]byte]*keyEntry, len(snap.Keys))
		byID := make(map[string][][sha256.Size]byte, len(snap.Keys))
		for i := range snap.Keys {
			addKey(keys, byID, &snap.Keys[i])
		}
		v.mu.Lock()
		v.keys, v.byID, v.lastID = keys, byID, id
		v.mu.Unlock()
		v.snapshots.Add(1)
		if !v.synced.Swap(true) {
			select {
			case <-v.ready:
			default:
				close(v.ready)
			}
		}
	case "upsert":
		var k streamKey
		if err := json.Unmarshal([]byte(data), &k); err != nil {
			return fmt.Errorf("credvault: verifier: upsert: %w", err)
		}
		v.mu.Lock()
		removeKey(v.keys, v.byID, k.ID)
		addKey(v.keys, v.byID, &k)
		v.lastID = id
		v.mu.Unlock()
		v.upserts.Add(1)
	case "remove":
		var k struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal([]byte(data), &k); err != nil {
			return fmt.Errorf("credvault: verifier: remove: %w", err)
		}
		v.mu.Lock()
		removeKey(v.keys, v.byID, k.ID)
		v.lastID = id
		v.mu.Unlock()
		v.removes.Add(1)
	default:
		if id != "" {
			v.mu.Lock()
			v.lastID = id
			v.mu.Unlock()
		}
	}
	return nil
}

func addKey(keys map[[sha256.Size]byte]*keyEntry, byID map[string][][sha256.Size]byte, k *streamKey) {
	vk := &VerifiedKey{ID: k.ID, Scopes: k.Scopes, ExpiresAt: k.ExpiresAt,
		allow: parsePrefixes(k.IPAllowlist), tenantAllow: parsePrefixes(k.TenantIPAllowlist)}
	add := func(hash string, expires *time.Time) {
		var sum [sha256.Size]byte
		if n, err := hex.Decode(sum[:], []byte(hash)); err != nil || n != sha256.Size {
			return
		}
		keys[sum] = &keyEntry{hash: sum, expires: expires, key: vk}
		byID[k.ID] = append(byID[k.ID], sum)
	}
	add(k.Hash, k.ExpiresAt)
	if k.PreviousHash != "" && k.PreviousExpiresAt != nil {
		until := k.PreviousExpiresAt
		if k.ExpiresAt != nil && k.ExpiresAt.Before(*until) {
			until = k.ExpiresAt
		}
		add(k.PreviousHash, until)
	}
}

func removeKey(keys map[[sha256.Size]byte]*keyEntry, byID map[string][][sha256.Size]byte, id string) {
	for _, h := range byID[id] {
		delete(keys, h)
	}
	delete(byID, id)
}

// parsePrefixes parses addresses and CIDRs; an address is a one-address prefix.
func parsePrefixes(list []string) []netip.Prefix {
	var out []netip.Prefix
	for _, s := range list {
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p.Masked())
		} else if a, err := netip.ParseAddr(s); err == nil {
			out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
		}
	}
	return out
}

type verifiedKeyCtx struct{}

// VerifiedKeyFrom returns the key Middleware verified for the request.
func VerifiedKeyFrom(ctx context.Context) (*VerifiedKey, bool) {
	k, ok := ctx.Value(verifiedKeyCtx{}).(*VerifiedKey)
	return k, ok
}

// Middleware authenticates each request with the verifier: its API key is
// the X-API-Key header, or the bearer token of Authorization. A request
// without a usable key (or from an address its allowlist refuses) is
// answered 401 UNAUTHORIZED; while the verifier is stale, 503
// SERVICE_UNAVAILABLE with Retry-After. Otherwise next serves it, with the
// key in its context (VerifiedKeyFrom). The client address is the TCP peer
// (r.RemoteAddr): behind a proxy, set it from the proxy's header first.
func (v *Verifier) Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.Header.Get("X-API-Key")
		if key == "" {
			if auth := r.Header.Get("Authorization"); len(auth) > 7 && strings.EqualFold(auth[:7], "bearer ") {
				key = strings.TrimSpace(auth[7:])
			}
		}
		if key == "" {
			refuse(w, http.StatusUnauthorized, CodeUnauthorized, "an API key is required")
			return
		}
		k, err := v.Verify(key)
		switch {
		case errors.Is(err, ErrStale):
			w.Header().Set("Retry-After", "1")
			refuse(w, http.StatusServiceUnavailable, CodeUnavailable, "key verification is unavailable")
			return
		case err != nil:
			refuse(w, http.StatusUnauthorized, CodeUnauthorized, strings.TrimPrefix(err.Error(), "credvault: "))
			return
		}
		if len(k.allow) > 0 || len(k.tenantAllow) > 0 {
			host, _, err := net.SplitHostPort(r.RemoteAddr)
			if err != nil {
				host = r.RemoteAddr
			}
			addr, err := netip.ParseAddr(host)
			if err != nil || !k.AllowsIP(addr) {
				refuse(w, http.StatusUnauthorized, CodeUnauthorized, strings.TrimPrefix(ErrIPNotAllowed.Error(), "credvault: "))
				return
			}
		}
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), verifiedKeyCtx{}, k)))
	})
}

// refuse answers in CredVault's error envelope.
func refuse(w http.ResponseWriter, status int, code, message string) {
	if status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="credvault"`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"success": false,
		"error": map[string]string{"code": code, "message": message}})
}
