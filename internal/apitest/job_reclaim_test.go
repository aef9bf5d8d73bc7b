package apitest_test

// A DEK rotation whose server dies mid-way is finished by another server on
// the same database within 10 s, and every credential still decrypts.

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/ent/credential"
	"github.com/credvault/credvault/ent/datakey"
	"github.com/credvault/credvault/ent/job"
	"github.com/credvault/credvault/internal/apitest"
	"github.com/credvault/credvault/internal/platform/store"
	"github.com/credvault/credvault/internal/platform/store/storetest"
	"github.com/credvault/credvault/internal/vault/crypt"
	"github.com/credvault/credvault/internal/vault/dek"
)

// TestInterruptedDEKRotationResumesOnAnotherServer: server A, on a
// connection pool of its own, rotates the DEK of a tenant with 10,000
// credentials (five batches of the job on PostgreSQL, written two at a
// time, twenty on SQLite) and loses its database once the first batch is
// re-encrypted — its pool closed, as in a crash, while its next batches are
// held (so that A cannot finish first, however the machine schedules): the
// job row stays running under A's lease. Server B, started then on the same
// database, finishes the rotation within 10 s; every credential opens.
func TestInterruptedDEKRotationResumesOnAnotherServer(t *testing.T) {
	t.Parallel()
	mk := newMaster(t)
	storetest.EachParallel(t, func(t *testing.T, st *store.Store) {
		dying := openStoreAt(t, st.URL)
		held := storetest.CountStatements(dying)
		ea := apitest.New(t, dying, withMaster(mk))
		o := register(t, ea, "Reclaim")
		ctx := store.Unrestricted(t.Context())

		// 10,000 credentials in 100 integrations (a read returns up to 200),
		// sealed as the server does, inserted directly.
		v, k, err := dek.New(st.Client, mk, nil).Active(ctx, st.Client, o.TenantID)
		if err != nil {
			t.Fatal(err)
		}
		const integrations = 100
		want := map[uuid.UUID]map[string]any{}
		for i := range integrations {
			var batch []*ent.CredentialCreate
			for range 100 {
				id := uuid.New()
				data := map[string]any{"api_key": vaultSecret(randTag(), "api_key", "reclaim")}
				pt, err := json.Marshal(data)
				if err != nil {
					t.Fatal(err)
				}
				ct, err := crypt.Credential.Seal(k, pt, o.TenantID, id, v)
				if err != nil {
					t.Fatal(err)
				}
				want[id] = data
				batch = append(batch, st.Client.Credential.Create().SetID(id).SetTenantID(o.TenantID).
					SetIntegrationID(fmt.Sprintf("reclaim-%d", i)).SetAuthType("api_key").SetCiphertext(ct).SetDekVersion(v))
			}
			if err := st.Client.Credential.CreateBulk(batch...).Exec(ctx); err != nil {
				t.Fatal(err)
			}
		}

		batches := 0
		release := held.Hold(func(q string) bool {
			if !strings.HasPrefix(q, "UPDATE credentials SET ciphertext") {
				return false
			}
			batches++
			return batches > 1
		})
		t.Cleanup(release)
		rot := rotateDEK(t, ea, o.AccessToken, map[string]any{})
		moved := func() int {
			n, err := st.Client.Credential.Query().Where(credential.TenantID(o.TenantID), credential.DekVersion(rot.DEKVersion)).Count(ctx)
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		eventually(t, 10*time.Second, "server A re-encrypts its first batch", func() (bool, string) {
			n := moved()
			return n > 0, fmt.Sprintf("%d moved", n)
		})
		if err := dying.Close(); err != nil {
			t.Fatal(err)
		}
		release()
		died := time.Now()
		// The batch A had under way, if any, commits or not; nothing after it.
		time.Sleep(time.Second)
		atDeath := moved()
		if j, err := st.Client.Job.Get(ctx, rot.JobID); err != nil || j.Status != job.StatusRunning || atDeath == len(want) {
			t.Fatalf("after server A died the rotation job is %v (%v) with %d of %d credentials moved, want running mid-way",
				j, err, atDeath, len(want))
		}

		eb := apitest.New(t, st, withMaster(mk))
		j := waitJob(t, eb, rot.JobID, 10*time.Second)
		took := time.Since(died)
		if j.Attempts != 2 {
			t.Fatalf("the rotation completed after %d attempts, want 2 (A's, then B's)", j.Attempts)
		}
		if got := dekVersions(t, eb, o.TenantID); len(got) != 1 || got[rot.DEKVersion] != len(want) {
			t.Fatalf("credentials by DEK version %v, want all %d on v%d", got, len(want), rot.DEKVersion)
		}
		wantDEKs(t, eb, o.TenantID, map[int]datakey.Status{v: datakey.StatusDestroyed, rot.DEKVersion: datakey.StatusActive})
		// Every credential opens with the DEKs as B finds them; one
		// integration reads back through B's API.
		fresh := dek.New(st.Client, mk, nil)
		for _, c := range credRows(t, eb, o.TenantID) {
			key, err := fresh.Key(ctx, c.TenantID, c.DekVersion)
			var pt []byte
			if err == nil {
				pt, err = crypt.Credential.Open(key, c.Ciphertext, c.TenantID, c.ID, c.DekVersion)
			}
			var got map[string]any
			if err == nil {
				err = json.Unmarshal(pt, &got)
			}
			if err != nil || !sameJSON(got, want[c.ID]) {
				t.Fatalf("credential %s does not open as stored after the rotation (%v)", c.ID, err)
			}
		}
		for _, c := range readCreds(t, eb, o.AccessToken, "reclaim-0").Credentials {
			if !sameJSON(c.Data, want[c.ID]) {
				t.Fatalf("credential %s does not read back as stored", c.ID)
			}
		}
		t.Logf("rotation resumed and finished %v after server A died (%d of %d credentials re-encrypted by A)",
			took.Round(time.Millisecond), atDeath, len(want))
	})
}
