package dek_test

// The DEK manager on every backend (SQLite always, PostgreSQL when
// CREDVAULT_TEST_DATABASE_URL is set): version 1 created on first use,
// rotation, re-encryption in batches that resumes after an interruption
// with another manager (a restart), reads that keep working while a
// rotation runs, destruction of unused DEKs, and rewrapping under a new
// master key.
//
// Plaintexts and keys never reach a failure message: they are compared,
// never printed.

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"
	"github.com/google/uuid"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/ent/credential"
	"github.com/credvault/credvault/ent/datakey"
	"github.com/credvault/credvault/internal/platform/ids"
	"github.com/credvault/credvault/internal/platform/store"
	"github.com/credvault/credvault/internal/platform/store/storetest"
	"github.com/credvault/credvault/internal/vault/crypt"
	"github.com/credvault/credvault/internal/vault/dek"
)

// ---------------------------------------------------------------------------
// helpers

// bg is a context that may touch every tenant's rows, as background jobs do.
func bg() context.Context { return store.Unrestricted(context.Background()) }

func master(t testing.TB) *crypt.MasterKey {
	t.Helper()
	k, err := crypt.GenerateMasterKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// newTenant creates a tenant row.
func newTenant(t testing.TB, st *store.Store) uuid.UUID {
	t.Helper()
	slug := "dek-" + strings.ReplaceAll(uuid.NewString(), "-", "")[:16]
	tn, err := st.Client.Tenant.Create().SetName(slug).SetSlug(slug).Save(bg())
	if err != nil {
		t.Fatal(err)
	}
	return tn.ID
}

// serverManager is a manager as the server builds it: on PostgreSQL it
// locks DEK rows and writes re-encryption batches concurrently.
func serverManager(st *store.Store, mk *crypt.MasterKey) *dek.Manager {
	m := dek.New(st.Client, mk, nil)
	if st.Dialect == "postgres" {
		m.LockRows()
	}
	return m
}

// fixture is a stored credential and the plaintext it must open to.
type fixture struct {
	id uuid.UUID
	pt []byte
}

// seed stores n credentials of tenant, each sealed under the tenant's active
// DEK (as storeCredential does), in bulk inserts of up to chunk rows.
func seed(t testing.TB, st *store.Store, m *dek.Manager, tenant uuid.UUID, n int) []fixture {
	t.Helper()
	ctx := bg()
	version, key, err := m.Active(ctx, st.Client, tenant)
	if err != nil {
		t.Fatalf("active DEK: %v", err)
	}
	const chunk = 500
	out := make([]fixture, 0, n)
	for start := 0; start < n; start += chunk {
		end := min(start+chunk, n)
		builders := make([]*ent.CredentialCreate, 0, end-start)
		for i := start; i < end; i++ {
			id := ids.New() // as the schema's default: rows in id order are in insert order
			pt := fmt.Appendf(nil, `{"api_key":"dek-test-secret-%d-%s"}`, i, uuid.NewString())
			ct, err := crypt.Credential.Seal(key, pt, tenant, id, version)
			if err != nil {
				t.Fatal(err)
			}
			builders = append(builders, st.Client.Credential.Create().SetID(id).SetTenantID(tenant).
				SetIntegrationID(fmt.Sprintf("integration-%d", i%7)).SetAuthType(credential.AuthTypeAPIKey).
				SetCiphertext(ct).SetDekVersion(version))
			out = append(out, fixture{id: id, pt: pt})
		}
		if err := st.Client.Credential.CreateBulk(builders...).Exec(ctx); err != nil {
			t.Fatalf("insert credentials: %v", err)
		}
	}
	return out
}

// read opens a credential as a reader does: its row, then the DEK of the
// row's version.
func read(ctx context.Context, st *store.Store, m *dek.Manager, id uuid.UUID) ([]byte, *ent.Credential, error) {
	c, err := st.Client.Credential.Get(store.Unrestricted(ctx), id)
	if err != nil {
		return nil, nil, err
	}
	k, err := m.Key(ctx, c.TenantID, c.DekVersion)
	if err != nil {
		return nil, c, err
	}
	pt, err := crypt.Credential.Open(k, c.Ciphertext, c.TenantID, c.ID, c.DekVersion)
	return pt, c, err
}

// readAll fails unless every fixture opens, through m, to its plaintext.
func readAll(t testing.TB, st *store.Store, m *dek.Manager, fixtures []fixture) {
	t.Helper()
	for i, f := range fixtures {
		pt, c, err := read(bg(), st, m, f.id)
		if err != nil {
			v := 0
			if c != nil {
				v = c.DekVersion
			}
			t.Fatalf("credential %d (%s, DEK v%d) does not open: %v", i, f.id, v, err)
		}
		if !bytes.Equal(pt, f.pt) {
			t.Fatalf("credential %d (%s) opens to other bytes than it was sealed with", i, f.id)
		}
	}
}

// versions counts the tenant's credentials by DEK version.
func versions(t testing.TB, st *store.Store, tenant uuid.UUID) map[int]int {
	t.Helper()
	rows, err := st.Client.Credential.Query().Where(credential.TenantID(tenant)).All(bg())
	if err != nil {
		t.Fatal(err)
	}
	out := map[int]int{}
	for _, r := range rows {
		out[r.DekVersion]++
	}
	return out
}

// dataKeys returns the tenant's data_keys rows by version.
func dataKeys(t testing.TB, st *store.Store, tenant uuid.UUID) map[int]*ent.DataKey {
	t.Helper()
	rows, err := st.Client.DataKey.Query().Where(datakey.TenantID(tenant)).All(bg())
	if err != nil {
		t.Fatal(err)
	}
	out := map[int]*ent.DataKey{}
	for _, r := range rows {
		out[r.Version] = r
	}
	return out
}

// expectKey checks a data_keys row's status, and that its wrapped_key
// column is NULL exactly when the DEK is destroyed. (ent reads a NULL
// bytes column as a pointer to a nil slice, so the column is asked directly.)
func expectKey(t testing.TB, st *store.Store, tenant uuid.UUID, version int, status datakey.Status) {
	t.Helper()
	k, ok := dataKeys(t, st, tenant)[version]
	if !ok {
		t.Fatalf("no data_keys row for v%d", version)
	}
	if k.Status != status {
		t.Fatalf("DEK v%d is %s, want %s", version, k.Status, status)
	}
	null, err := st.Client.DataKey.Query().
		Where(datakey.TenantID(tenant), datakey.Version(version), datakey.WrappedKeyIsNil()).Exist(bg())
	if err != nil {
		t.Fatal(err)
	}
	if destroyed := status == datakey.StatusDestroyed; destroyed != null {
		t.Fatalf("DEK v%d (%s): wrapped_key IS NULL = %v", version, k.Status, null)
	}
	if !null && (k.WrappedKey == nil || len(*k.WrappedKey) == 0) {
		t.Fatalf("DEK v%d (%s) has an empty wrapped_key", version, k.Status)
	}
}

func sameCounts(got, want map[int]int) bool {
	if len(got) != len(want) {
		return false
	}
	for k, v := range want {
		if got[k] != v {
			return false
		}
	}
	return true
}

func expectVersions(t testing.TB, st *store.Store, tenant uuid.UUID, want map[int]int) {
	t.Helper()
	if got := versions(t, st, tenant); !sameCounts(got, want) {
		t.Fatalf("credentials by DEK version %v, want %v", got, want)
	}
}

// ciphertexts maps the tenant's credential ids to their ciphertexts.
func ciphertexts(t testing.TB, st *store.Store, tenant uuid.UUID) map[uuid.UUID][]byte {
	t.Helper()
	rows, err := st.Client.Credential.Query().Where(credential.TenantID(tenant)).All(bg())
	if err != nil {
		t.Fatal(err)
	}
	out := map[uuid.UUID][]byte{}
	for _, r := range rows {
		out[r.ID] = r.Ciphertext
	}
	return out
}

// updatedAts returns the tenant's credentials' updated_at by id.
func updatedAts(t testing.TB, st *store.Store, tenant uuid.UUID) map[uuid.UUID]time.Time {
	t.Helper()
	rows, err := st.Client.Credential.Query().Where(credential.TenantID(tenant)).All(bg())
	if err != nil {
		t.Fatal(err)
	}
	out := map[uuid.UUID]time.Time{}
	for _, r := range rows {
		out[r.ID] = r.UpdatedAt
	}
	return out
}

// sortedIDs returns the fixtures' ids in the order re-encryption takes them.
func sortedIDs(fixtures []fixture) []uuid.UUID {
	ids := make([]uuid.UUID, len(fixtures))
	for i, f := range fixtures {
		ids[i] = f.id
	}
	slices.SortFunc(ids, func(a, b uuid.UUID) int { return bytes.Compare(a[:], b[:]) })
	return ids
}

// ---------------------------------------------------------------------------
// Active and Key

func TestActiveCreatesVersionOneOnce(t *testing.T) {
	t.Parallel()
	storetest.EachParallel(t, func(t *testing.T, st *store.Store) {
		ctx := bg()
		mk := master(t)
		m := dek.New(st.Client, mk, nil)
		tenant := newTenant(t, st)

		v, k, err := m.Active(ctx, st.Client, tenant)
		if err != nil {
			t.Fatal(err)
		}
		if v != 1 || len(k) != crypt.KeySize {
			t.Fatalf("first DEK: v%d of %d bytes, want v1 of %d", v, len(k), crypt.KeySize)
		}
		v2, k2, err := m.Active(ctx, st.Client, tenant)
		if err != nil || v2 != 1 || !bytes.Equal(k2, k) {
			t.Fatalf("second Active: v%d, same key %v, err %v; want v1, the same key", v2, bytes.Equal(k2, k), err)
		}
		keys := dataKeys(t, st, tenant)
		if len(keys) != 1 {
			t.Fatalf("%d data_keys rows, want 1", len(keys))
		}
		expectKey(t, st, tenant, 1, datakey.StatusActive)
		wrapped := *keys[1].WrappedKey
		if bytes.Contains(wrapped, k) || bytes.Contains(wrapped, k[:16]) || bytes.Contains(wrapped, k[16:]) {
			t.Fatal("data_keys.wrapped_key holds the DEK in clear")
		}
		if got, err := mk.UnwrapDEK(wrapped, tenant, 1); err != nil || !bytes.Equal(got, k) {
			t.Fatalf("the stored DEK does not unwrap under the master key to the active DEK (err %v)", err)
		}

		// Another manager with the same master key (another instance, or a
		// restart) finds the same DEK.
		fresh := dek.New(st.Client, mk, nil)
		if got, err := fresh.Key(ctx, tenant, 1); err != nil || !bytes.Equal(got, k) {
			t.Fatalf("a fresh manager's Key(v1): same key %v, err %v", bytes.Equal(got, k), err)
		}
		if v, got, err := fresh.Active(ctx, st.Client, tenant); err != nil || v != 1 || !bytes.Equal(got, k) {
			t.Fatalf("a fresh manager's Active: v%d, same key %v, err %v", v, bytes.Equal(got, k), err)
		}

		// Every tenant has a DEK of its own.
		other := newTenant(t, st)
		ov, ok, err := m.Active(ctx, st.Client, other)
		if err != nil || ov != 1 || bytes.Equal(ok, k) {
			t.Fatalf("other tenant: v%d, shares the key %v, err %v", ov, bytes.Equal(ok, k), err)
		}

		// A version that does not exist is destroyed, as far as readers know.
		if _, err := m.Key(ctx, tenant, 7); !errors.Is(err, dek.ErrDestroyed) {
			t.Fatalf("Key(v7) of a tenant with only v1: err = %v, want dek.ErrDestroyed", err)
		}
		if _, err := m.Key(ctx, uuid.New(), 1); !errors.Is(err, dek.ErrDestroyed) {
			t.Fatalf("Key of an unknown tenant: err = %v, want dek.ErrDestroyed", err)
		}

		// Another master key does not open it, and says so without showing a key.
		wrong := master(t)
		_, err = dek.New(st.Client, wrong, nil).Key(ctx, tenant, 1)
		if err == nil || errors.Is(err, dek.ErrDestroyed) {
			t.Fatalf("Key under the wrong master key: err = %v, want a master-key error", err)
		}
		if !strings.Contains(err.Error(), "master key") {
			t.Errorf("the error does not mention the master key: %v", err)
		}
		for _, leak := range []string{mk.Encode(), wrong.Encode(), string(k)} {
			if strings.Contains(err.Error(), leak) {
				t.Error("the error shows key material")
			}
		}
		// ... unless the right one is still there as the previous key (a
		// master-key rotation under way).
		if got, err := dek.New(st.Client, wrong, mk).Key(ctx, tenant, 1); err != nil || !bytes.Equal(got, k) {
			t.Fatalf("Key with the right master key as previous: same key %v, err %v", bytes.Equal(got, k), err)
		}
	})
}

// TestActiveInARolledBackTransaction: a DEK created in a transaction that
// rolls back is forgotten, never served from a cache afterwards.
func TestActiveInARolledBackTransaction(t *testing.T) {
	t.Parallel()
	storetest.EachParallel(t, func(t *testing.T, st *store.Store) {
		ctx := bg()
		m := dek.New(st.Client, master(t), nil)
		tenant := newTenant(t, st)

		tx, err := st.Client.Tx(ctx)
		if err != nil {
			t.Fatal(err)
		}
		v, lost, err := m.Active(ctx, tx.Client(), tenant)
		if err != nil || v != 1 {
			t.Fatalf("Active in tx: v%d, err %v", v, err)
		}
		if err := tx.Rollback(); err != nil {
			t.Fatal(err)
		}
		if keys := dataKeys(t, st, tenant); len(keys) != 0 {
			t.Fatalf("%d data_keys rows after the rollback, want 0", len(keys))
		}
		if _, err := m.Key(ctx, tenant, 1); !errors.Is(err, dek.ErrDestroyed) {
			t.Fatalf("Key(v1) after the rollback: err = %v, want dek.ErrDestroyed (not a cached key)", err)
		}
		v, k, err := m.Active(ctx, st.Client, tenant)
		if err != nil || v != 1 {
			t.Fatalf("Active after the rollback: v%d, err %v", v, err)
		}
		if bytes.Equal(k, lost) {
			t.Fatal("the DEK of the rolled-back transaction came back")
		}
		if got, err := m.Key(ctx, tenant, 1); err != nil || !bytes.Equal(got, k) {
			t.Fatalf("Key(v1) after the new DEK was created: same key %v, err %v", bytes.Equal(got, k), err)
		}
	})
}

// ---------------------------------------------------------------------------
// Rotate

func TestRotate(t *testing.T) {
	t.Parallel()
	storetest.EachParallel(t, func(t *testing.T, st *store.Store) {
		ctx := bg()
		mk := master(t)
		m := dek.New(st.Client, mk, nil)

		// A tenant without a DEK gets version 1.
		empty := newTenant(t, st)
		if v, err := m.Rotate(ctx, st.Client, empty); err != nil || v != 1 {
			t.Fatalf("Rotate of a tenant without DEK: v%d, err %v; want v1", v, err)
		}
		expectKey(t, st, empty, 1, datakey.StatusActive)

		tenant, other := newTenant(t, st), newTenant(t, st)
		old := seed(t, st, m, tenant, 5)
		otherCreds := seed(t, st, m, other, 3)
		_, k1, err := m.Active(ctx, st.Client, tenant)
		if err != nil {
			t.Fatal(err)
		}

		v, err := m.Rotate(ctx, st.Client, tenant)
		if err != nil || v != 2 {
			t.Fatalf("Rotate: v%d, err %v; want v2", v, err)
		}
		av, k2, err := m.Active(ctx, st.Client, tenant)
		if err != nil || av != 2 {
			t.Fatalf("Active after Rotate: v%d, err %v; want v2", av, err)
		}
		if bytes.Equal(k1, k2) {
			t.Fatal("the rotated DEK equals the old one")
		}
		expectKey(t, st, tenant, 1, datakey.StatusRetired)
		expectKey(t, st, tenant, 2, datakey.StatusActive)
		// The retired DEK still opens what it sealed, through this manager
		// and through a fresh one.
		readAll(t, st, m, old)
		readAll(t, st, dek.New(st.Client, mk, nil), old)
		// New writes use v2 at once.
		fresh := seed(t, st, m, tenant, 2)
		expectVersions(t, st, tenant, map[int]int{1: 5, 2: 2})
		readAll(t, st, dek.New(st.Client, mk, nil), fresh)

		// A rotation that rolls back changes nothing.
		tx, err := st.Client.Tx(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if v, err := m.Rotate(ctx, tx.Client(), tenant); err != nil || v != 3 {
			t.Fatalf("Rotate in tx: v%d, err %v", v, err)
		}
		if err := tx.Rollback(); err != nil {
			t.Fatal(err)
		}
		if av, _, err := m.Active(ctx, st.Client, tenant); err != nil || av != 2 {
			t.Fatalf("Active after a rolled-back rotation: v%d, err %v; want v2", av, err)
		}
		if keys := dataKeys(t, st, tenant); len(keys) != 2 {
			t.Fatalf("%d data_keys rows after a rolled-back rotation, want 2", len(keys))
		}

		if v, err := m.Rotate(ctx, st.Client, tenant); err != nil || v != 3 {
			t.Fatalf("second Rotate: v%d, err %v; want v3", v, err)
		}
		expectKey(t, st, tenant, 1, datakey.StatusRetired)
		expectKey(t, st, tenant, 2, datakey.StatusRetired)
		expectKey(t, st, tenant, 3, datakey.StatusActive)
		readAll(t, st, dek.New(st.Client, mk, nil), append(old, fresh...))

		// The other tenant is untouched.
		okeys := dataKeys(t, st, other)
		if len(okeys) != 1 {
			t.Fatalf("other tenant has %d DEKs, want 1", len(okeys))
		}
		expectKey(t, st, other, 1, datakey.StatusActive)
		readAll(t, st, m, otherCreds)
	})
}

// ---------------------------------------------------------------------------
// Reencrypt

// TestReencryptInterruptedThenResumedByAnotherManager: a rotation job that
// stops after two batches leaves every credential readable, on either
// version; a new manager (a restarted server) finishes it.
func TestReencryptInterruptedThenResumedByAnotherManager(t *testing.T) {
	t.Parallel()
	storetest.EachParallel(t, func(t *testing.T, st *store.Store) {
		ctx := bg()
		mk := master(t)
		m := serverManager(st, mk)
		tenant, other := newTenant(t, st), newTenant(t, st)
		creds := seed(t, st, m, tenant, 50)
		otherCreds := seed(t, st, m, other, 5)
		before := ciphertexts(t, st, tenant)
		edited := updatedAts(t, st, tenant)

		if v, err := m.Rotate(ctx, st.Client, tenant); err != nil || v != 2 {
			t.Fatalf("Rotate: v%d, err %v", v, err)
		}

		remaining, err := m.Reencrypt(ctx, tenant, 10, 2)
		if err != nil {
			t.Fatalf("Reencrypt, two batches: %v", err)
		}
		if remaining != 30 {
			t.Fatalf("remaining after two batches of 10 = %d, want 30", remaining)
		}
		expectVersions(t, st, tenant, map[int]int{1: 30, 2: 20})
		// Half way: the old DEK is still there, retired, and everything opens,
		// through the manager that did the work and through a fresh one.
		expectKey(t, st, tenant, 1, datakey.StatusRetired)
		expectKey(t, st, tenant, 2, datakey.StatusActive)
		readAll(t, st, m, creds)
		readAll(t, st, dek.New(st.Client, mk, nil), creds)
		// The moved rows were sealed anew.
		mid := ciphertexts(t, st, tenant)
		moved := 0
		for id, ct := range mid {
			if !bytes.Equal(ct, before[id]) {
				moved++
			}
		}
		if moved != 20 {
			t.Fatalf("%d ciphertexts changed after two batches, want 20", moved)
		}

		// "Restart": a new manager resumes where the first stopped.
		restarted := serverManager(st, mk)
		remaining, err = restarted.Reencrypt(ctx, tenant, 10, 0)
		if err != nil || remaining != 0 {
			t.Fatalf("resumed Reencrypt: remaining %d, err %v; want 0", remaining, err)
		}
		expectVersions(t, st, tenant, map[int]int{2: 50})
		expectKey(t, st, tenant, 1, datakey.StatusDestroyed)
		expectKey(t, st, tenant, 2, datakey.StatusActive)
		for id, ct := range ciphertexts(t, st, tenant) {
			if bytes.Equal(ct, before[id]) {
				t.Fatalf("credential %s kept its v1 ciphertext", id)
			}
		}
		// A re-seal is not an edit.
		for id, at := range updatedAts(t, st, tenant) {
			if !at.Equal(edited[id]) {
				t.Fatalf("credential %s: updated_at moved from %s to %s on a re-seal", id, edited[id], at)
			}
		}
		readAll(t, st, restarted, creds)
		readAll(t, st, dek.New(st.Client, mk, nil), creds)
		for _, mgr := range []*dek.Manager{restarted, dek.New(st.Client, mk, nil)} {
			if _, err := mgr.Key(ctx, tenant, 1); !errors.Is(err, dek.ErrDestroyed) {
				t.Fatalf("Key(v1) after the rotation: err = %v, want dek.ErrDestroyed", err)
			}
		}

		// Once done, running again changes nothing and destroys no active key.
		done := ciphertexts(t, st, tenant)
		if remaining, err := restarted.Reencrypt(ctx, tenant, 10, 0); err != nil || remaining != 0 {
			t.Fatalf("Reencrypt when done: remaining %d, err %v", remaining, err)
		}
		for id, ct := range ciphertexts(t, st, tenant) {
			if !bytes.Equal(ct, done[id]) {
				t.Fatalf("credential %s re-sealed although it was on the active DEK", id)
			}
		}
		expectKey(t, st, tenant, 2, datakey.StatusActive)

		// The other tenant was never touched.
		expectVersions(t, st, other, map[int]int{1: 5})
		okeys := dataKeys(t, st, other)
		if len(okeys) != 1 {
			t.Fatalf("other tenant has %d DEKs, want 1", len(okeys))
		}
		expectKey(t, st, other, 1, datakey.StatusActive)
		readAll(t, st, dek.New(st.Client, mk, nil), otherCreds)
	})
}

// TestReencryptRollsBackAFailedBatchWhole: each batch is one transaction; a
// credential that does not open fails its batch, which leaves every row of
// it on the old DEK, and keeps the old DEK alive.
func TestReencryptRollsBackAFailedBatchWhole(t *testing.T) {
	t.Parallel()
	storetest.EachParallel(t, func(t *testing.T, st *store.Store) {
		ctx := bg()
		mk := master(t)
		m := serverManager(st, mk)
		tenant := newTenant(t, st)
		creds := seed(t, st, m, tenant, 30)
		if _, err := m.Rotate(ctx, st.Client, tenant); err != nil {
			t.Fatal(err)
		}
		ids := sortedIDs(creds)
		broken := ids[14] // in the second batch of 10
		row, err := st.Client.Credential.Get(ctx, broken)
		if err != nil {
			t.Fatal(err)
		}
		good := bytes.Clone(row.Ciphertext)
		bad := bytes.Clone(good)
		bad[len(bad)-1] ^= 1
		if err := st.Client.Credential.UpdateOneID(broken).SetCiphertext(bad).Exec(ctx); err != nil {
			t.Fatal(err)
		}

		_, err = m.Reencrypt(ctx, tenant, 10, 0)
		if !errors.Is(err, crypt.ErrOpen) {
			t.Fatalf("Reencrypt over a corrupt credential: err = %v, want crypt.ErrOpen", err)
		}
		if !strings.Contains(err.Error(), broken.String()) {
			t.Errorf("the error does not name the credential: %v", err)
		}
		for _, f := range creds {
			if strings.Contains(err.Error(), string(f.pt)) {
				t.Fatal("the error shows a plaintext")
			}
		}
		// The first batch moved and the failed one not at all. Batches
		// written concurrently (PostgreSQL) may have moved the third before
		// the second failed: whole, if at all.
		got := versions(t, st, tenant)
		if !sameCounts(got, map[int]int{1: 20, 2: 10}) && (st.Dialect != "postgres" || !sameCounts(got, map[int]int{1: 10, 2: 20})) {
			t.Fatalf("credentials by version after the failed batch %v, want {1:20 2:10}", got)
		}
		third := 1
		if got[2] == 20 {
			third = 2
		}
		for i, id := range ids {
			c, err := st.Client.Credential.Get(ctx, id)
			if err != nil {
				t.Fatal(err)
			}
			if want := []int{2, 1, third}[i/10]; c.DekVersion != want {
				t.Fatalf("credential %d in re-encryption order is on v%d, want v%d", i, c.DekVersion, want)
			}
		}
		expectKey(t, st, tenant, 1, datakey.StatusRetired)
		var readable []fixture
		for _, f := range creds {
			if f.id != broken {
				readable = append(readable, f)
			}
		}
		readAll(t, st, dek.New(st.Client, mk, nil), readable)

		// Repaired, the rotation resumes and finishes.
		if err := st.Client.Credential.UpdateOneID(broken).SetCiphertext(good).Exec(ctx); err != nil {
			t.Fatal(err)
		}
		if remaining, err := serverManager(st, mk).Reencrypt(ctx, tenant, 10, 0); err != nil || remaining != 0 {
			t.Fatalf("Reencrypt after the repair: remaining %d, err %v", remaining, err)
		}
		expectVersions(t, st, tenant, map[int]int{2: 30})
		expectKey(t, st, tenant, 1, datakey.StatusDestroyed)
		readAll(t, st, dek.New(st.Client, mk, nil), creds)
	})
}

// TestReadsSucceedWhileAReencryptionRuns: a rotation runs in another
// goroutine through the manager the readers share (as one server does);
// after every batch's write, with the batch's transaction still open, the
// rotation waits until every credential has been read, through the shared
// manager and through a fresh one.
func TestReadsSucceedWhileAReencryptionRuns(t *testing.T) {
	t.Parallel()
	storetest.EachParallel(t, func(t *testing.T, st *store.Store) {
		ctx := bg()
		mk := master(t)
		m := dek.New(st.Client, mk, nil)
		tenant := newTenant(t, st)
		const n, batch = 40, 5
		creds := seed(t, st, m, tenant, n)
		if _, err := m.Rotate(ctx, st.Client, tenant); err != nil {
			t.Fatal(err)
		}

		paused := make(chan struct{})
		resume := make(chan struct{})
		// committed hears each batch's commit: on PostgreSQL two workers
		// write batches, and the next one pauses before the one resumed
		// has committed.
		committed := make(chan struct{}, n)
		var armed atomic.Bool
		// The rotation's manager writes through a driver that holds each
		// batch's transaction open after its UPDATE of the credentials.
		pausing := ent.NewClient(ent.Driver(&pausingDriver{Driver: entsql.OpenDB(st.Dialect, st.DB), committed: committed, after: func(query string) {
			if !armed.Load() || !strings.HasPrefix(query, "UPDATE credentials") {
				return
			}
			select {
			case paused <- struct{}{}:
				select {
				case <-resume:
				case <-time.After(30 * time.Second):
				}
			case <-time.After(30 * time.Second):
			}
		}}))
		m = dek.New(pausing, mk, nil)
		if st.Dialect == "postgres" {
			m.LockRows()
		}
		armed.Store(true)

		type result struct {
			remaining int
			err       error
		}
		done := make(chan result, 1)
		go func() {
			r, err := m.Reencrypt(ctx, tenant, batch, 0)
			done <- result{r, err}
		}()

		passes := 0
		deadline := time.After(60 * time.Second)
	loop:
		for {
			select {
			case <-paused:
				// Inside an open batch transaction: every credential reads.
				seen := map[int]int{}
				for i, f := range creds {
					for _, mgr := range []*dek.Manager{m, dek.New(st.Client, mk, nil)} {
						pt, c, err := read(ctx, st, mgr, f.id)
						if err != nil {
							resume <- struct{}{}
							t.Fatalf("pass %d: credential %d does not open during the rotation: %v", passes, i, err)
						}
						if !bytes.Equal(pt, f.pt) {
							resume <- struct{}{}
							t.Fatalf("pass %d: credential %d opens to other bytes", passes, i)
						}
						seen[c.DekVersion]++
					}
				}
				if passes > 0 && (seen[1] == 0 || seen[2] == 0) {
					resume <- struct{}{}
					t.Fatalf("pass %d read versions %v: want both DEKs in use mid-rotation", passes, seen)
				}
				passes++
				resume <- struct{}{}
				select {
				case <-committed:
				case <-time.After(30 * time.Second):
					t.Fatalf("pass %d: the batch resumed did not commit within 30s", passes)
				}
			case r := <-done:
				if r.err != nil || r.remaining != 0 {
					t.Fatalf("Reencrypt: remaining %d, err %v", r.remaining, r.err)
				}
				break loop
			case <-deadline:
				t.Fatal("the rotation did not finish within 60s")
			}
		}
		armed.Store(false)
		if passes != n/batch {
			t.Fatalf("read every credential during %d batches, want %d", passes, n/batch)
		}
		expectVersions(t, st, tenant, map[int]int{2: n})
		expectKey(t, st, tenant, 1, datakey.StatusDestroyed)
		readAll(t, st, m, creds)
		readAll(t, st, dek.New(st.Client, mk, nil), creds)
	})
}

// pausingDriver calls after once each statement of a transaction that ran
// through ExecContext (as the batch UPDATE does) has run, inside the
// transaction, and tells committed when such a transaction has committed.
type pausingDriver struct {
	*entsql.Driver
	after     func(query string)
	committed chan<- struct{}
}

func (d *pausingDriver) Tx(ctx context.Context) (dialect.Tx, error) {
	tx, err := d.Driver.Tx(ctx)
	if err != nil {
		return nil, err
	}
	return &pausingTx{Tx: tx.(*entsql.Tx), after: d.after, committed: d.committed}, nil
}

type pausingTx struct {
	*entsql.Tx
	after     func(query string)
	committed chan<- struct{}
	executed  bool
}

func (t *pausingTx) Commit() error {
	err := t.Tx.Commit()
	if err == nil && t.executed {
		t.committed <- struct{}{}
	}
	return err
}

func (t *pausingTx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	r, err := t.Tx.ExecContext(ctx, query, args...)
	if err == nil {
		t.executed = true
		t.after(query)
	}
	return r, err
}

// TestWritesDuringAReencryptionUseTheActiveDEK: credentials stored, and
// secrets replaced, while a rotation runs in another goroutine end up on
// the new DEK and readable; the old DEK is destroyed once the rotation is
// done.
func TestWritesDuringAReencryptionUseTheActiveDEK(t *testing.T) {
	t.Parallel()
	storetest.EachParallel(t, func(t *testing.T, st *store.Store) {
		ctx := bg()
		mk := master(t)
		m := serverManager(st, mk)
		tenant := newTenant(t, st)
		creds := seed(t, st, m, tenant, 40)
		if _, err := m.Rotate(ctx, st.Client, tenant); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() {
			r, err := m.Reencrypt(ctx, tenant, 2, 0)
			if err == nil && r != 0 {
				err = fmt.Errorf("%d credentials remain", r)
			}
			done <- err
		}()
		var added []fixture
		replaced := map[uuid.UUID][]byte{}
		for i := range 10 {
			added = append(added, seed(t, st, m, tenant, 1)...)
			// Replace the secret of one old credential, as updateCredential does.
			f := creds[i*3]
			pt := fmt.Appendf(nil, `{"api_key":"replaced-during-rotation-%d"}`, i)
			err := store.WithTx(ctx, st.Client, func(ctx context.Context, tx *ent.Client) error {
				v, k, err := m.Active(ctx, tx, tenant)
				if err != nil {
					return err
				}
				if v != 2 {
					return fmt.Errorf("active DEK v%d during the rotation, want v2", v)
				}
				ct, err := crypt.Credential.Seal(k, pt, tenant, f.id, v)
				if err != nil {
					return err
				}
				return tx.Credential.UpdateOneID(f.id).SetCiphertext(ct).SetDekVersion(v).Exec(ctx)
			})
			if err != nil {
				t.Fatalf("replace a secret during the rotation: %v", err)
			}
			replaced[f.id] = pt
		}
		select {
		case err := <-done:
			if err != nil {
				t.Fatalf("Reencrypt: %v", err)
			}
		case <-time.After(60 * time.Second):
			t.Fatal("the rotation did not finish within 60s")
		}
		for i := range creds {
			if pt, ok := replaced[creds[i].id]; ok {
				creds[i].pt = pt
			}
		}
		all := append(creds, added...)
		expectVersions(t, st, tenant, map[int]int{2: len(all)})
		expectKey(t, st, tenant, 1, datakey.StatusDestroyed)
		readAll(t, st, dek.New(st.Client, mk, nil), all)
	})
}

// TestReencryptWithAStaleActiveVersion: a re-encryption that learned the
// active version before another rotation (and that rotation's own
// re-encryption) completed must not re-seal credentials under a DEK that
// is no longer active, let alone one that has been destroyed.
//
// Each batch reads the active version in its own transaction and moves only
// older rows, so the rotation injected here, between the stale job's read
// of the active DEK and its batch, is followed rather than undone. SQLite
// serialises writers, so the injection (a writer inside another's write
// transaction) only makes sense on PostgreSQL.
func TestReencryptWithAStaleActiveVersion(t *testing.T) {
	t.Parallel()
	storetest.EachParallel(t, func(t *testing.T, st *store.Store) {
		if st.Dialect != "postgres" {
			t.Skip("SQLite serialises writers: no rotation can run inside another's batch")
		}
		ctx := bg()
		mk := master(t)
		m := dek.New(st.Client, mk, nil)
		tenant := newTenant(t, st)
		creds := seed(t, st, m, tenant, 12)
		if _, err := m.Rotate(ctx, st.Client, tenant); err != nil {
			t.Fatal(err)
		}

		// The stale job's manager runs on a client of its own, whose DataKey
		// queries let the test act right after the job read the active
		// version (v2): a second rotation (v3), a write under v3, and the v3
		// job run to completion.
		slow := ent.NewClient(ent.Driver(entsql.OpenDB(st.Dialect, st.DB)))
		var armed atomic.Bool
		var meanwhile error
		slow.DataKey.Intercept(ent.InterceptFunc(func(next ent.Querier) ent.Querier {
			return ent.QuerierFunc(func(ctx context.Context, q ent.Query) (ent.Value, error) {
				v, err := next.Query(ctx, q)
				if err == nil && armed.CompareAndSwap(true, false) {
					meanwhile = func() error {
						ctx := bg() // not the stale job's transaction
						other := dek.New(st.Client, mk, nil)
						if _, err := other.Rotate(ctx, st.Client, tenant); err != nil {
							return err
						}
						creds = append(creds, seed(t, st, other, tenant, 1)...)
						r, err := other.Reencrypt(ctx, tenant, 5, 0)
						if err == nil && r != 0 {
							err = fmt.Errorf("%d remain", r)
						}
						return err
					}()
				}
				return v, err
			})
		}))
		armed.Store(true)
		_, err := dek.New(slow, mk, nil).Reencrypt(ctx, tenant, 5, 0)
		if meanwhile != nil {
			t.Fatalf("the concurrent rotation: %v", meanwhile)
		}
		if armed.Load() {
			t.Fatal("the interceptor never ran")
		}
		if err != nil {
			t.Logf("the stale Reencrypt failed (acceptable): %v", err)
		}
		keys := dataKeys(t, st, tenant)
		expectKey(t, st, tenant, 3, datakey.StatusActive)
		for v, c := range versions(t, st, tenant) {
			if k := keys[v]; k == nil || k.Status != datakey.StatusActive {
				t.Errorf("%d credentials sealed under DEK v%d, which is not the active one", c, v)
			}
		}
		readAll(t, st, dek.New(st.Client, mk, nil), creds)
	})
}

// ---------------------------------------------------------------------------
// Rewrap

func TestRewrapUnderANewMasterKey(t *testing.T) {
	t.Parallel()
	storetest.EachParallel(t, func(t *testing.T, st *store.Store) {
		ctx := bg()
		a, b := master(t), master(t)
		m := dek.New(st.Client, a, nil)
		t1, t2 := newTenant(t, st), newTenant(t, st)
		creds := seed(t, st, m, t1, 6)
		if _, err := m.Rotate(ctx, st.Client, t1); err != nil {
			t.Fatal(err)
		}
		if r, err := m.Reencrypt(ctx, t1, 4, 0); err != nil || r != 0 {
			t.Fatalf("Reencrypt: %d, %v", r, err)
		}
		creds = append(creds, seed(t, st, m, t2, 4)...)
		// t1: v1 destroyed, v2 active; t2: v1 active. A retired key too:
		if _, err := m.Rotate(ctx, st.Client, t2); err != nil {
			t.Fatal(err)
		}
		creds = append(creds, seed(t, st, m, t2, 2)...)

		// A manager that cannot open the DEKs rewraps nothing.
		tx, err := st.Client.Tx(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := dek.New(tx.Client(), b, nil).Rewrap(ctx, tx.Client(), b); err == nil {
			t.Fatal("Rewrap with a manager that does not hold the old key succeeded")
		}
		if err := tx.Rollback(); err != nil {
			t.Fatal(err)
		}

		err = store.WithTx(ctx, st.Client, func(ctx context.Context, tx *ent.Client) error {
			n, err := dek.New(tx, b, a).Rewrap(ctx, tx, b)
			if err == nil && n != 3 {
				err = fmt.Errorf("rewrapped %d DEKs, want 3 (t1 v2, t2 v1 and v2)", n)
			}
			return err
		})
		if err != nil {
			t.Fatalf("Rewrap: %v", err)
		}
		for _, tn := range []uuid.UUID{t1, t2} {
			for v, k := range dataKeys(t, st, tn) {
				if k.Status == datakey.StatusDestroyed {
					expectKey(t, st, tn, v, datakey.StatusDestroyed)
					continue
				}
				if _, err := b.UnwrapDEK(*k.WrappedKey, tn, v); err != nil {
					t.Fatalf("DEK v%d does not unwrap under the new master key: %v", v, err)
				}
				if _, err := a.UnwrapDEK(*k.WrappedKey, tn, v); !errors.Is(err, crypt.ErrOpen) {
					t.Fatalf("DEK v%d still unwraps under the old master key: %v", v, err)
				}
			}
		}
		expectKey(t, st, t1, 1, datakey.StatusDestroyed)
		readAll(t, st, dek.New(st.Client, b, nil), creds)
		if _, _, err := read(ctx, st, dek.New(st.Client, a, nil), creds[0].id); err == nil ||
			!strings.Contains(err.Error(), "master key") {
			t.Fatalf("the old master key alone: err = %v, want a master-key error", err)
		}
	})
}
