package apikeys

import (
	"context"
	"io"
	"log/slog"
	"net/netip"
	"testing"

	"github.com/credvault/credvault/internal/audit"
	"github.com/credvault/credvault/internal/platform/invalidate"
	"github.com/credvault/credvault/internal/platform/metrics"
	"github.com/credvault/credvault/internal/platform/secret"
	"github.com/credvault/credvault/internal/platform/store"
	"github.com/credvault/credvault/internal/platform/store/storetest"
)

// benchKey stores a tenant and one API key, returning a verifier and the key.
func benchKey(b *testing.B, backend string) (*Verifier, string) {
	b.Helper()
	st := storetest.Open(b, backend)
	ctx := store.Unrestricted(context.Background())
	t, err := st.Client.Tenant.Create().SetName("Bench").SetSlug("bench").Save(ctx)
	if err != nil {
		b.Fatal(err)
	}
	key, err := secret.New(Prefix, 32)
	if err != nil {
		b.Fatal(err)
	}
	err = st.Client.APIKey.Create().SetTenantID(t.ID).SetName("bench").SetPrefix(key[4:12]).
		SetKeyHash(secret.Hash(key)).SetScopes([]string{"api_keys:read"}).Exec(ctx)
	if err != nil {
		b.Fatal(err)
	}
	bus, err := invalidate.New(st.Dialect, "", slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	return NewVerifier(st.Client, bus, NewUsage(st.Client, logger), audit.NewBatcher(st.Client, logger), metrics.New()), key
}

// BenchmarkVerifyWarm is the hot path: a key already in the cache.
func BenchmarkVerifyWarm(b *testing.B) {
	v, key := benchKey(b, "sqlite")
	ip := netip.MustParseAddr("127.0.0.1")
	ctx := context.Background()
	if res, err := v.Check(ctx, key, ip); err != nil || !res.Valid() {
		b.Fatalf("check: %v %+v", err, res)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if res, _ := v.Check(ctx, key, ip); !res.Valid() {
			b.Fatal("refused")
		}
	}
}

// BenchmarkVerifyWarmParallel is the warm path from every core at once.
func BenchmarkVerifyWarmParallel(b *testing.B) {
	v, key := benchKey(b, "sqlite")
	ip := netip.MustParseAddr("127.0.0.1")
	ctx := context.Background()
	if _, err := v.Check(ctx, key, ip); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if res, _ := v.Check(ctx, key, ip); !res.Valid() {
				b.Fatal("refused")
			}
		}
	})
}

// BenchmarkVerifyCold misses the cache every time: one database look-up.
func BenchmarkVerifyCold(b *testing.B) {
	for _, backend := range storetest.Backends() {
		b.Run(backend, func(b *testing.B) {
			v, key := benchKey(b, backend)
			ip := netip.MustParseAddr("127.0.0.1")
			ctx := context.Background()
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				v.cache.dropAll()
				if res, err := v.Check(ctx, key, ip); err != nil || !res.Valid() {
					b.Fatalf("check: %v", err)
				}
			}
		})
	}
}
