package dek_test

import (
	"os"
	"testing"
	"time"

	"github.com/credvault/credvault/internal/platform/store/storetest"
	"github.com/credvault/credvault/internal/vault/dek"
)

// BenchmarkReencrypt100k times the re-encryption of one tenant's 100,000
// credentials after a DEK rotation, in batches of dek.BatchSize written
// concurrently (as the server's job), on PostgreSQL. Setup (inserting and
// sealing the credentials, and the rotation itself) is not timed. Run it with
//
//	CREDVAULT_TEST_DATABASE_URL=postgres://… go test ./internal/vault/dek -run x -bench Reencrypt100k -benchtime 1x
func BenchmarkReencrypt100k(b *testing.B) {
	if os.Getenv(storetest.EnvURL) == "" {
		b.Skip(storetest.EnvURL + " is not set: this benchmark runs on PostgreSQL")
	}
	const n = 100_000
	st := storetest.Open(b, "postgres")
	ctx := bg()
	mk := master(b)
	tenant := newTenant(b, st)
	seeded := time.Now()
	creds := seed(b, st, dek.New(st.Client, mk, nil), tenant, n)
	b.Logf("seeded %d credentials in %s", len(creds), time.Since(seeded).Round(time.Millisecond))

	var elapsed time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		if _, err := dek.New(st.Client, mk, nil).Rotate(ctx, st.Client, tenant); err != nil {
			b.Fatal(err)
		}
		// A fresh manager, as the job of a (re)started server has.
		m := serverManager(st, mk)
		b.StartTimer()
		start := time.Now()
		remaining, err := m.Reencrypt(ctx, tenant, dek.BatchSize, 0)
		elapsed += time.Since(start)
		if err != nil || remaining != 0 {
			b.Fatalf("Reencrypt: remaining %d, err %v", remaining, err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(n*b.N)/elapsed.Seconds(), "creds/s")

	// Spot-check the result outside the timing: every row on the last
	// version, a sample of them readable.
	if got := versions(b, st, tenant); len(got) != 1 || got[b.N+1] != n {
		b.Fatalf("credentials by version %v, want all %d on v%d", got, n, b.N+1)
	}
	readAll(b, st, dek.New(st.Client, mk, nil), creds[:200])
}
