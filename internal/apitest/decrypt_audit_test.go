package apitest_test

// A decrypt is audited before its answer leaves, through a group commit:
// concurrent decrypts' entries share statements, no request writes for
// itself (last_accessed_at follows in a batch), and a decrypt whose entry
// cannot commit answers 503 without the plaintext.

import (
	"bytes"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"entgo.io/ent/dialect"
	"github.com/google/uuid"

	"github.com/credvault/credvault/internal/apitest"
	"github.com/credvault/credvault/internal/platform/store/storetest"
)

// TestDecryptsAreAuditedByGroupCommit: 32 concurrent decrypts of one
// credential each answer 200 with the data and leave exactly one
// credential.decrypt entry carrying their request id; none of them sends a
// write of its own (the per-request transaction made it 3N+3 statements);
// while the two groups being written are held, the other entries wait in
// the queue and then share one insert; last_accessed_at is one update at the next flush.
func TestDecryptsAreAuditedByGroupCommit(t *testing.T) {
	for _, backend := range storetest.Backends() {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			st := storetest.Open(t, backend)
			counter := storetest.CountStatements(st)
			e := apitest.New(t, st)
			tn := register(t, e, "Group")
			reader := tn.key(t, "credentials:decrypt")
			secret := vaultSecretPrefix + randTag()
			c := storeCred(t, e, tn.AccessToken, map[string]any{"integration_id": "group", "auth_type": "bearer_token",
				"data": map[string]any{"token": secret}})
			wantStatus(t, do(e, http.MethodGet, credPath("group"), reader.Key, nil), http.StatusOK) // warm the caches
			e.Flush()
			_, before := counter.Of("")
			const n = 32
			ids := make([]string, n)
			answers := make([]*apitest.Response, n)
			var wg sync.WaitGroup
			decrypt := func(i int) {
				ids[i] = "decrypt-" + uuid.NewString()
				wg.Go(func() {
					answers[i] = do(e, http.MethodGet, credPath("group"), reader.Key, nil, map[string]string{"X-Request-ID": ids[i]})
				})
			}
			held := func(k int) func() (bool, string) {
				return func() (bool, string) {
					_, sql := counter.Of("")
					inserts := 0
					for _, s := range sql[len(before):] {
						if isAuditInsert(s) {
							inserts++
						}
					}
					return inserts == k, fmt.Sprintf("%d audit inserts", inserts)
				}
			}
			queued := func(k float64) func() (bool, string) {
				return func() (bool, string) {
					q := metricValue(scrapeMetrics(t, e), "credvault_batch_queue_length", map[string]string{"kind": "audit_commit"})
					return q == k, fmt.Sprintf("%v queued", q)
				}
			}
			// The committer writes two groups at once: both are held (on
			// SQLite the second waits for the first's transaction instead).
			release := counter.HoldNext(isAuditInsert)
			defer release()
			decrypt(0)
			eventually(t, 10*time.Second, "the first group's insert", held(1))
			releaseSecond := counter.HoldNext(isAuditInsert)
			defer releaseSecond()
			decrypt(1)
			if st.Dialect == dialect.Postgres {
				eventually(t, 10*time.Second, "the second group's insert", held(2))
			} else {
				eventually(t, 10*time.Second, "the second decrypt's entry queued", queued(2))
			}
			for i := 2; i < n; i++ {
				decrypt(i)
			}
			eventually(t, 10*time.Second, "every decrypt's entry queued or held", queued(n))
			releaseSecond()
			release()
			wg.Wait()
			for i, r := range answers {
				var got integrationJSON
				wantOK(t, r, http.StatusOK, &got)
				if len(got.Credentials) != 1 || got.Credentials[0].Data["token"] != secret {
					t.Fatalf("decrypt %d: no data in the answer", i)
				}
				n, sql := counter.Of(ids[i])
				for _, s := range sql {
					if isWrite(s) {
						t.Fatalf("decrypt %d sent a write of its own among its %d statements: %q", i, n, s)
					}
				}
			}

			perRequest := map[string]int{}
			for _, a := range auditEntries(t, e, tn.TenantID, "credential.decrypt", c.ID.String()) {
				perRequest[a.RequestID]++
			}
			for i, id := range ids {
				if perRequest[id] != 1 {
					t.Fatalf("decrypt %d has %d credential.decrypt entries, want 1", i, perRequest[id])
				}
			}
			_, after := counter.Of("")
			inserts, updates := 0, 0
			for _, s := range after[len(before):] {
				switch {
				case isAuditInsert(s):
					inserts++
				case strings.HasPrefix(s, "UPDATE") && strings.Contains(s, "credentials"):
					updates++
				}
			}
			t.Logf("%d concurrent decrypts: %d audit inserts, %d last_accessed_at updates, no write by a request", n, inserts, updates)
			if inserts > 3 {
				t.Fatalf("%d decrypts took %d audit inserts, want at most 3 (the two held groups, then the others together)", n, inserts)
			}
			if updates != 1 {
				t.Fatalf("%d decrypts of one credential took %d last_accessed_at updates, want 1", n, updates)
			}
			if row := credRow(t, e, c.ID); row.LastAccessedAt == nil {
				t.Fatal("last_accessed_at not set after the flush")
			}
		})
	}
}

func isAuditInsert(sql string) bool {
	return strings.HasPrefix(sql, "INSERT INTO") && strings.Contains(sql, "audit_logs")
}

// isWrite tells a statement that changes the database, or ends a
// transaction, from a read.
func isWrite(sql string) bool {
	for _, w := range []string{"INSERT", "UPDATE", "DELETE", "COMMIT"} {
		if strings.HasPrefix(strings.ToUpper(strings.TrimSpace(sql)), w) {
			return true
		}
	}
	return false
}

// TestDecryptFailsClosedWhenItsAuditCannotCommit: while the database
// refuses audit inserts, a decrypt answers 503 SERVICE_UNAVAILABLE with
// Retry-After and no plaintext, on REST and GraphQL; once it accepts them
// again, the same decrypt answers the data.
func TestDecryptFailsClosedWhenItsAuditCannotCommit(t *testing.T) {
	t.Parallel()
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		tn := register(t, e, "Closed")
		reader := tn.key(t, "credentials:decrypt")
		secret := vaultSecretPrefix + randTag()
		storeCred(t, e, tn.AccessToken, map[string]any{"integration_id": "closed", "auth_type": "bearer_token",
			"data": map[string]any{"token": secret}})
		refusal := storetest.RefuseInserts(t, e.Store, "audit_logs")
		before := len(auditEntries(t, e, tn.TenantID, "credential.decrypt", ""))

		refusal.On()
		r := do(e, http.MethodGet, credPath("closed"), reader.Key, nil)
		wantError(t, r, http.StatusServiceUnavailable, "SERVICE_UNAVAILABLE")
		if r.Header.Get("Retry-After") == "" {
			t.Error("503 without Retry-After")
		}
		noSecret(t, "refused decrypt", r.Body, []string{secret})
		g := gqlDo(e, reader.Key, vrGQLWithData, map[string]any{"i": "closed"})
		if len(g.Errors) == 0 || g.Code() != "SERVICE_UNAVAILABLE" || bytes.Contains(g.Data, []byte(secret)) {
			t.Fatalf("GraphQL decrypt without its audit entry: %s", showGQL(g))
		}
		refusal.Off()
		if n := len(auditEntries(t, e, tn.TenantID, "credential.decrypt", "")); n != before {
			t.Fatalf("%d decrypt entries written while the database refused them", n-before)
		}

		var got integrationJSON
		wantOK(t, do(e, http.MethodGet, credPath("closed"), reader.Key, nil), http.StatusOK, &got)
		if len(got.Credentials) != 1 || got.Credentials[0].Data["token"] != secret {
			t.Fatal("decrypt after the database came back: no data")
		}
		if n := len(auditEntries(t, e, tn.TenantID, "credential.decrypt", "")); n != before+1 {
			t.Fatalf("%d decrypt entries after one more decrypt, want %d", n, before+1)
		}
	})
}
