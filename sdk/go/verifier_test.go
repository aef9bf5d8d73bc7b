package credvault

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// loaded returns a verifier holding n keys, as a snapshot left it, without
// a stream: for the benchmark and the set's rules.
func loaded(t testing.TB, n int) (*Verifier, []string) {
	v := &Verifier{staleness: time.Minute, keys: map[[sha256.Size]byte]*keyEntry{}, byID: map[string][][sha256.Size]byte{},
		ready: make(chan struct{}), refused: make(chan struct{}), done: make(chan struct{})}
	var keys []string
	var snap struct {
		Keys []streamKey `json:"keys"`
	}
	for i := range n {
		key := fmt.Sprintf("cvk_%043d", i)
		sum := sha256.Sum256([]byte(key))
		keys = append(keys, key)
		snap.Keys = append(snap.Keys, streamKey{ID: fmt.Sprint(i), Hash: hex.EncodeToString(sum[:]), Scopes: []string{"credentials:read"}})
	}
	data, _ := json.Marshal(snap)
	if err := v.apply("e-1", "snapshot", string(data)); err != nil {
		t.Fatal(err)
	}
	v.connected.Store(true)
	return v, keys
}

// BenchmarkVerifierVerify is a warm verification: SHA-256, a map lookup, a
// constant-time compare and the expiry check, no network.
func BenchmarkVerifierVerify(b *testing.B) {
	v, keys := loaded(b, 10_000)
	key := keys[4242]
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		if _, err := v.Verify(key); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifierVerifyParallel(b *testing.B) {
	v, keys := loaded(b, 10_000)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, err := v.Verify(keys[i%len(keys)]); err != nil {
				b.Fatal(err)
			}
			i++
		}
	})
}

func TestVerifierRules(t *testing.T) {
	v, keys := loaded(t, 3)
	if k, err := v.Verify(keys[1]); err != nil || k.ID != "1" || !k.HasScope("credentials:read") {
		t.Fatalf("Verify = %+v, %v", k, err)
	}
	if _, err := v.Verify("cvk_nope"); !errors.Is(err, ErrInvalidKey) {
		t.Fatalf("unknown key: %v", err)
	}
	if err := v.apply("e-2", "remove", `{"id":"1"}`); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(keys[1]); !errors.Is(err, ErrInvalidKey) {
		t.Fatalf("removed key: %v", err)
	}
	sum := sha256.Sum256([]byte(keys[2]))
	past := time.Now().Add(-time.Second)
	up, _ := json.Marshal(streamKey{ID: "2", Hash: hex.EncodeToString(sum[:]), ExpiresAt: &past, IPAllowlist: []string{"10.0.0.0/8"}})
	if err := v.apply("e-3", "upsert", string(up)); err != nil {
		t.Fatal(err)
	}
	if _, err := v.Verify(keys[2]); !errors.Is(err, ErrKeyExpired) {
		t.Fatalf("expired key: %v", err)
	}
	if got := v.Stats(); got.LastEventID != "e-3" || got.Snapshots != 1 || got.Upserts != 1 || got.Removes != 1 {
		t.Fatalf("stats %+v", got)
	}
	// Lost longer than the bound: fail closed.
	v.connected.Store(false)
	v.lostAt.Store(time.Now().Add(-2 * time.Minute).UnixNano())
	if _, err := v.Verify(keys[0]); !errors.Is(err, ErrStale) {
		t.Fatalf("stale: %v", err)
	}
	v.lostAt.Store(time.Now().UnixNano())
	if _, err := v.Verify(keys[0]); err != nil {
		t.Fatalf("lost within the bound: %v", err)
	}
}

func TestMiddleware(t *testing.T) {
	v, keys := loaded(t, 2)
	sum := sha256.Sum256([]byte(keys[1]))
	up, _ := json.Marshal(streamKey{ID: "1", Hash: hex.EncodeToString(sum[:]), IPAllowlist: []string{"10.1.2.3"}})
	if err := v.apply("e-2", "upsert", string(up)); err != nil {
		t.Fatal(err)
	}
	h := v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		k, _ := VerifiedKeyFrom(r.Context())
		fmt.Fprint(w, k.ID)
	}))
	for _, tc := range []struct {
		header, value string
		remote        string
		want          int
	}{
		{"X-API-Key", keys[0], "192.0.2.1:1234", 200},
		{"Authorization", "Bearer " + keys[0], "192.0.2.1:1234", 200},
		{"X-API-Key", "cvk_bad", "192.0.2.1:1234", 401},
		{"", "", "192.0.2.1:1234", 401},
		{"X-API-Key", keys[1], "192.0.2.1:1234", 401},
		{"X-API-Key", keys[1], "10.1.2.3:1234", 200},
	} {
		r := httptest.NewRequest("GET", "/", nil)
		r.RemoteAddr = tc.remote
		if tc.header != "" {
			r.Header.Set(tc.header, tc.value)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		if w.Code != tc.want {
			t.Errorf("%s %q from %s: %d %s, want %d", tc.header, tc.value, tc.remote, w.Code, w.Body, tc.want)
		}
	}
	v.connected.Store(false)
	v.lostAt.Store(time.Now().Add(-time.Hour).UnixNano())
	r := httptest.NewRequest("GET", "/", nil)
	r.Header.Set("X-API-Key", keys[0])
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != 503 || w.Header().Get("Retry-After") == "" {
		t.Fatalf("stale: %d %v", w.Code, w.Header())
	}
}
