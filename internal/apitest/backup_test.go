package apitest_test

// Backup and restore (internal/backup), on SQLite and PostgreSQL: a backup
// taken while writers create tenants, API keys and credentials over HTTP is
// restored into a fresh database, and a server started on it with the same
// master key decrypts every credential and accepts every API key the backup
// holds; what was written before the backup began is all there, what began
// after it ended is not. A backup is refused, when taken and when restored,
// under a master key that does not open its DEKs, and a restore does not
// replace a database in use without force.

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/credvault/credvault/internal/apitest"
	"github.com/credvault/credvault/internal/backup"
	"github.com/credvault/credvault/internal/platform/store"
	"github.com/credvault/credvault/internal/platform/store/storetest"
	"github.com/credvault/credvault/internal/vault/crypt"
	"github.com/credvault/credvault/server"
)

// needPGTools skips a PostgreSQL backup test where the client tools are
// missing (CI installs them).
func needPGTools(t *testing.T, st *store.Store) {
	t.Helper()
	if st.Dialect != "postgres" {
		return
	}
	for _, tool := range []string{"pg_dump", "pg_restore"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed (apt-get install postgresql-client)", tool)
		}
	}
}

// restoreTarget returns the URL of a fresh, empty database of src's kind to
// restore a backup of src into. On PostgreSQL it is a new database, dropped
// when t ends, selecting the schema of src: a pg_dump keeps its schema.
func restoreTarget(t *testing.T, src *store.Store) string {
	t.Helper()
	if src.Dialect != "postgres" {
		return storetest.URL(t, "sqlite")
	}
	u, err := url.Parse(src.URL)
	if err != nil {
		t.Fatal(err)
	}
	name := "cvrestore_" + randTag()
	admin, err := sql.Open("pgx", os.Getenv(storetest.EnvURL))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Exec("CREATE DATABASE " + name); err != nil {
		admin.Close()
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		_, _ = admin.Exec("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)")
		admin.Close()
	})
	u.Path = "/" + name
	return u.String()
}

// openRestored opens the restored database at dbURL, closed when t ends,
// and migrates it as a starting server does.
func openRestored(t *testing.T, dbURL string) *store.Store {
	t.Helper()
	st, err := store.Open(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	return st
}

// written is one write of the load: an API key or a credential, with what
// it takes to check it and when it started and ended.
type written struct {
	key         bool
	owner       *tenantFixture
	id          uuid.UUID
	secret      string // the API key
	integration string
	data        map[string]any
	start, end  time.Time
}

func TestBackupUnderWriteLoadRestores(t *testing.T) {
	t.Parallel()
	master := newMaster(t)
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		needPGTools(t, e.Store)
		ctx := context.Background()

		var (
			mu      sync.Mutex
			tenants = []*tenantFixture{register(t, e, "Backup Seed")}
			writes  []written
			failed  atomic.Int64
			n       atomic.Int64
		)
		tenantAt := func(i int) *tenantFixture {
			mu.Lock()
			defer mu.Unlock()
			return tenants[i%len(tenants)]
		}
		// op writes one thing: every fifth a new tenant (whose first
		// credential makes its DEK), then API keys and credentials in turn.
		op := func(i int) {
			w := written{start: time.Now()}
			switch {
			case i%5 == 0:
				w.owner = register(t, e, "Backup Load")
				mu.Lock()
				tenants = append(tenants, w.owner)
				mu.Unlock()
			default:
				w.owner = tenantAt(i)
			}
			if i%2 == 1 {
				w.key = true
				r := do(e, http.MethodPost, "/api/v1/api-keys", w.owner.AccessToken, map[string]any{"name": fmt.Sprintf("load %d", i)})
				var k apiKeyJSON
				if r.Status != http.StatusCreated || dataInto(r, &k) != nil {
					failed.Add(1)
					return
				}
				w.id, w.secret = k.ID, k.Key
			} else {
				w.integration = fmt.Sprintf("backup-%d", i)
				w.data = secretData("basic_auth", fmt.Sprintf("backup%d", i), true)
				r := do(e, http.MethodPost, "/api/v1/credentials", w.owner.AccessToken, map[string]any{
					"integration_id": w.integration, "auth_type": "basic_auth", "name": "load", "data": w.data})
				var c credJSON
				if r.Status != http.StatusCreated || dataInto(r, &c) != nil {
					failed.Add(1)
					return
				}
				w.id = c.ID
			}
			w.end = time.Now()
			mu.Lock()
			writes = append(writes, w)
			mu.Unlock()
		}

		const writers = 4
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for range writers {
			wg.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
						op(int(n.Add(1)))
					}
				}
			})
		}
		apitest.Eventually(t, 30*time.Second, "40 writes before the backup", func() (bool, string) {
			return n.Load() >= 40, fmt.Sprintf("%d writes", n.Load())
		})

		// The backup, from a store of its own as the backup command opens.
		src, err := store.Open(e.Store.URL)
		if err != nil {
			t.Fatal(err)
		}
		defer src.Close()
		file := filepath.Join(t.TempDir(), "credvault.backup")
		backupStart := time.Now()
		sum, err := backup.Take(ctx, src, file, []*crypt.MasterKey{master})
		backupEnd := time.Now()
		if err != nil {
			close(stop)
			wg.Wait()
			t.Fatalf("backup under load: %v", err)
		}
		after := n.Load()
		apitest.Eventually(t, 30*time.Second, "20 writes after the backup", func() (bool, string) {
			return n.Load() >= after+20, fmt.Sprintf("%d writes", n.Load()-after)
		})
		close(stop)
		wg.Wait()
		if f := failed.Load(); f > 0 {
			t.Fatalf("%d writes of the load failed", f)
		}
		if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("backup file: %v, mode %v, want 0600", err, fi.Mode().Perm())
		}
		if sum.DEKs == 0 || sum.SigningKeys == 0 || sum.Previous != 0 {
			t.Fatalf("backup summary %+v: want DEKs and signing keys, all opened by the master key", sum)
		}

		// Restored into a fresh database: refused under another master key,
		// which leaves the target untouched; then restored with the right one.
		target := restoreTarget(t, e.Store)
		var keyErr *backup.KeyError
		if _, err := backup.Restore(ctx, target, file, []*crypt.MasterKey{newMaster(t)}, false); !errors.As(err, &keyErr) ||
			keyErr.FailedDEKs != sum.DEKs || keyErr.FailedSigningKeys != sum.SigningKeys {
			t.Fatalf("restore under another master key: err = %v, want a KeyError failing all %d DEKs and %d signing keys", err, sum.DEKs, sum.SigningKeys)
		}
		restoredSum, err := backup.Restore(ctx, target, file, []*crypt.MasterKey{master}, false)
		if err != nil {
			t.Fatalf("restore: %v", err)
		}
		if restoredSum != sum {
			t.Fatalf("restore summary %+v, backup summary %+v", restoredSum, sum)
		}
		restored := apitest.Start(t, openRestored(t, target), apitest.Config(t, withMaster(master)), server.Keys{Master: master})

		credIDs, err := restored.Store.Client.Credential.Query().IDs(unrestricted())
		if err != nil {
			t.Fatal(err)
		}
		keyIDs, err := restored.Store.Client.APIKey.Query().IDs(unrestricted())
		if err != nil {
			t.Fatal(err)
		}
		present := map[uuid.UUID]bool{}
		for _, id := range append(credIDs, keyIDs...) {
			present[id] = true
		}
		var before, during, later, inBackup, keys, creds int
		for _, w := range writes {
			switch {
			case w.end.Before(backupStart):
				before++
				if !present[w.id] {
					t.Errorf("a write that ended before the backup began is not in it (key: %v)", w.key)
				}
			case w.start.After(backupEnd):
				later++
				if present[w.id] {
					t.Errorf("a write that began after the backup ended is in it (key: %v)", w.key)
				}
			default:
				during++
			}
			if !present[w.id] {
				if w.key {
					wantUnauthorized(t, whoami(restored, w.secret))
				}
				continue
			}
			inBackup++
			if w.key {
				keys++
				if got := me(t, restored, w.secret); got.Tenant.ID != w.owner.TenantID.String() {
					t.Errorf("a restored API key signs in to tenant %s, want %s", got.Tenant.ID, w.owner.TenantID)
				}
				continue
			}
			creds++
			c := findCred(t, readCreds(t, restored, w.owner.AccessToken, w.integration).Credentials, w.id)
			if fmt.Sprint(c.Data) != fmt.Sprint(w.data) {
				t.Errorf("a restored credential of %s opens to other data than was stored", w.integration)
			}
		}
		if keys != len(keyIDs) || creds != len(credIDs) {
			t.Errorf("the restored database holds %d API keys and %d credentials, the load wrote %d and %d of them",
				len(keyIDs), len(credIDs), keys, creds)
		}
		if during == 0 || later == 0 {
			t.Errorf("%d writes overlapped the backup and %d followed it: the load did not run through it", during, later)
		}
		t.Logf("%s: %d writes (%d before the backup, %d overlapping its %v, %d after); the backup holds %d (%d API keys, %d credentials), %d DEKs, %d signing keys; every one checked on the restored server",
			e.Store.Dialect, len(writes), before, during, backupEnd.Sub(backupStart).Round(time.Millisecond), later,
			inBackup, keys, creds, sum.DEKs, sum.SigningKeys)
	}, withMaster(master))
}

// dataInto decodes a success envelope's data into v, without failing the
// test: for the load's goroutines.
func dataInto(r *apitest.Response, v any) error {
	if !r.Envelope.Success {
		return errors.New("not a success envelope")
	}
	return json.Unmarshal(r.Envelope.Data, v)
}

func TestBackupRefusals(t *testing.T) {
	t.Parallel()
	master := newMaster(t)
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		needPGTools(t, e.Store)
		ctx := context.Background()
		tn := register(t, e, "Backup Refusals")
		storeCred(t, e, tn.AccessToken, map[string]any{"integration_id": "refusals", "auth_type": "api_key",
			"name": "one", "data": secretData("api_key", "refusals", false)})
		dir := t.TempDir()
		wrong := newMaster(t)

		// Taken under another master key: refused, and no file is left.
		file := filepath.Join(dir, "wrong.backup")
		var keyErr *backup.KeyError
		if _, err := backup.Take(ctx, e.Store, file, []*crypt.MasterKey{wrong}); !errors.As(err, &keyErr) || keyErr.FailedDEKs != 1 {
			t.Fatalf("backup under another master key: err = %v, want a KeyError failing the 1 DEK", err)
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 0 {
			t.Fatalf("a refused backup left %d files", len(entries))
		}
		if msg := keyErr.Error(); !strings.Contains(msg, "does not open 1 of 1 DEKs") || !strings.Contains(msg, "CREDVAULT_MASTER_KEY") {
			t.Errorf("the refusal says %q: want how many DEKs failed and which key to set", msg)
		}

		file = filepath.Join(dir, "credvault.backup")
		sum, err := backup.Take(ctx, e.Store, file, []*crypt.MasterKey{master})
		if err != nil {
			t.Fatal(err)
		}
		if sum.DEKs != 1 {
			t.Fatalf("backup summary %+v, want the 1 DEK", sum)
		}
		// The old key as the previous one during a rotation opens it too.
		if s, err := backup.Verify(ctx, file, []*crypt.MasterKey{wrong, master}); err != nil || s.Previous != s.DEKs+s.SigningKeys {
			t.Fatalf("verify with the key as the previous one: %+v, %v: want every key opened by it", s, err)
		}

		// Restored into the running server's own database: refused without
		// force, before anything changes.
		if _, err := backup.Restore(ctx, e.Store.URL, file, []*crypt.MasterKey{master}, false); !errors.Is(err, backup.ErrTargetInUse) {
			t.Fatalf("restore over a database in use: err = %v, want ErrTargetInUse", err)
		}
		readCreds(t, e, tn.AccessToken, "refusals")

		// A backup of the other kind, or not a backup at all.
		other := "postgres://127.0.0.1:1/none"
		if e.Store.Dialect == "postgres" {
			other = "sqlite://" + filepath.Join(dir, "other.db")
		}
		if _, err := backup.Restore(ctx, other, file, []*crypt.MasterKey{master}, false); err == nil || !strings.Contains(err.Error(), "restore it to a") {
			t.Errorf("restore to a database of the other kind: err = %v", err)
		}
		junk := filepath.Join(dir, "junk")
		if err := os.WriteFile(junk, []byte("not a backup"), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := backup.Verify(ctx, junk, []*crypt.MasterKey{master}); err == nil || !strings.Contains(err.Error(), "neither") {
			t.Errorf("verify a file that is no backup: err = %v", err)
		}

		// Restored into a fresh database that then takes a write: a second
		// restore is refused without force and, with it, brings back the
		// backup, without that write.
		target := restoreTarget(t, e.Store)
		if _, err := backup.Restore(ctx, target, file, []*crypt.MasterKey{master}, false); err != nil {
			t.Fatal(err)
		}
		first := openRestored(t, target)
		firstEnv := apitest.Start(t, first, apitest.Config(t, withMaster(master)), server.Keys{Master: master})
		storeCred(t, firstEnv, tn.AccessToken, map[string]any{"integration_id": "after-restore", "auth_type": "api_key",
			"name": "two", "data": secretData("api_key", "after", false)})
		if _, err := backup.Restore(ctx, target, file, []*crypt.MasterKey{master}, false); !errors.Is(err, backup.ErrTargetInUse) {
			t.Fatalf("restore over a restored database: err = %v, want ErrTargetInUse", err)
		}
		// The server stops before a forced restore, as the README says.
		firstEnv.Flush()
		firstEnv.Server.Close()
		first.Close()
		if _, err := backup.Restore(ctx, target, file, []*crypt.MasterKey{master}, true); err != nil {
			t.Fatalf("restore with force: %v", err)
		}
		restored := apitest.Start(t, openRestored(t, target), apitest.Config(t, withMaster(master)), server.Keys{Master: master})
		if got := readCreds(t, restored, tn.AccessToken, "refusals"); len(got.Credentials) != 1 {
			t.Fatalf("the forced restore holds %d credentials of the backup, want 1", len(got.Credentials))
		}
		// What was written after the backup is gone with the database it was in.
		wantError(t, restored.Get(credPath("after-restore", "details"), tn.AccessToken), http.StatusNotFound, "NOT_FOUND")
	}, withMaster(master))
}
