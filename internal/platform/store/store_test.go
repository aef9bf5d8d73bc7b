package store_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode/utf8"

	"entgo.io/ent/dialect"
	"github.com/google/uuid"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/ent/tenant"
	"github.com/credvault/credvault/internal/platform/store"
	"github.com/credvault/credvault/internal/platform/store/storetest"
)

// newTenant creates a tenant with a unique slug, unrestricted (tenants can
// only be created so), with client, which may be a transaction's.
func newTenant(ctx context.Context, client *ent.Client, name string) (*ent.Tenant, error) {
	slug := strings.ToLower(name) + "-" + uuid.NewString()[:8]
	return client.Tenant.Create().SetName(name).SetSlug(slug).Save(store.Unrestricted(ctx))
}

func mustTenant(t *testing.T, client *ent.Client, name string) *ent.Tenant {
	t.Helper()
	tn, err := newTenant(context.Background(), client, name)
	if err != nil {
		t.Fatalf("create tenant %s: %v", name, err)
	}
	return tn
}

// tenantExists reports whether a tenant with id is stored, looking across tenants.
func tenantExists(t *testing.T, client *ent.Client, id uuid.UUID) bool {
	t.Helper()
	ok, err := client.Tenant.Query().Where(tenant.ID(id)).Exist(store.Unrestricted(context.Background()))
	if err != nil {
		t.Fatalf("look up tenant: %v", err)
	}
	return ok
}

func TestMigrateEmptyThenAgain(t *testing.T) {
	t.Parallel()
	for _, backend := range storetest.Backends() {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			ctx := store.Unrestricted(context.Background())
			st, err := store.Open(storetest.URL(t, backend))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			if want := map[string]string{"sqlite": dialect.SQLite, "postgres": dialect.Postgres}[backend]; st.Dialect != want {
				t.Errorf("Dialect = %q, want %q", st.Dialect, want)
			}

			// The database is empty: there is no table to query yet.
			if _, err := st.Client.Tenant.Query().Count(ctx); err == nil {
				t.Fatal("query on an unmigrated database succeeded")
			}
			if err := st.Migrate(context.Background()); err != nil {
				t.Fatalf("migrate empty database: %v", err)
			}
			before := mustTenant(t, st.Client, "Before")
			if backend == "postgres" {
				// A DEK rotation's re-seal updates credentials in place.
				var opts string
				if err := st.DB.QueryRow("SELECT array_to_string(reloptions, ',') FROM pg_class WHERE oid = 'credentials'::regclass").Scan(&opts); err != nil || opts != "fillfactor=50" {
					t.Errorf("credentials' storage options %q (%v), want fillfactor=50", opts, err)
				}
			}
			catalogRow := func() string { // the version of credentials' row in pg_class
				var xmin string
				if backend == "postgres" {
					if err := st.DB.QueryRow("SELECT xmin::text FROM pg_class WHERE oid = 'credentials'::regclass").Scan(&xmin); err != nil {
						t.Fatal(err)
					}
				}
				return xmin
			}
			altered := catalogRow()

			// Migrating an already-migrated database changes nothing and keeps the data.
			for i := range 2 {
				if err := st.Migrate(context.Background()); err != nil {
					t.Fatalf("migrate again (%d): %v", i+1, err)
				}
			}
			if now := catalogRow(); now != altered {
				t.Errorf("migrating again rewrote credentials' catalog row (xmin %s, then %s)", altered, now)
			}
			after := mustTenant(t, st.Client, "After")
			n, err := st.Client.Tenant.Query().Where(tenant.IDIn(before.ID, after.ID)).Count(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if n != 2 {
				t.Errorf("found %d of the 2 tenants after migrating again", n)
			}
			got, err := st.Client.Tenant.Get(ctx, before.ID)
			if err != nil {
				t.Fatal(err)
			}
			if got.Name != "Before" || got.Plan != "free" || got.Status != tenant.StatusActive {
				t.Errorf("tenant read back as %+v", got)
			}
		})
	}
}

func TestMigrateConcurrentlyOnPostgres(t *testing.T) {
	t.Parallel()
	if !slices.Contains(storetest.Backends(), "postgres") {
		t.Skip(storetest.EnvURL + " is not set")
	}
	url := storetest.URL(t, "postgres")
	var stores []*store.Store
	for range 3 {
		st, err := store.Open(url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		stores = append(stores, st)
	}
	errs := make([]error, len(stores))
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, st := range stores {
		wg.Go(func() {
			<-start
			errs[i] = st.Migrate(context.Background())
		})
	}
	close(start)
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("migrate %d: %v", i, err)
		}
	}
	// Both see the one schema: a row written through one is read through the other.
	tn := mustTenant(t, stores[0].Client, "Shared")
	if !tenantExists(t, stores[1].Client, tn.ID) {
		t.Error("the second store does not see the first one's row")
	}
}

func TestWithTx(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		t.Parallel()
		ctx := context.Background()

		t.Run("commits when fn returns nil", func(t *testing.T) {
			var id uuid.UUID
			err := store.WithTx(ctx, st.Client, func(ctx context.Context, tx *ent.Client) error {
				tn, err := newTenant(ctx, tx, "Committed")
				if err != nil {
					return err
				}
				id = tn.ID
				return nil
			})
			if err != nil {
				t.Fatalf("WithTx: %v", err)
			}
			if !tenantExists(t, st.Client, id) {
				t.Error("the committed row is missing")
			}
		})

		t.Run("rolls back when fn fails", func(t *testing.T) {
			errAbort := errors.New("abort")
			var id uuid.UUID
			err := store.WithTx(ctx, st.Client, func(ctx context.Context, tx *ent.Client) error {
				tn, err := newTenant(ctx, tx, "RolledBack")
				if err != nil {
					return err
				}
				id = tn.ID
				// Inside the transaction the row exists.
				if ok, err := tx.Tenant.Query().Where(tenant.ID(id)).Exist(store.Unrestricted(ctx)); err != nil || !ok {
					t.Errorf("row not visible inside its transaction: %v, %v", ok, err)
				}
				return errAbort
			})
			if !errors.Is(err, errAbort) {
				t.Fatalf("WithTx = %v, want the error of fn", err)
			}
			if id == uuid.Nil {
				t.Fatal("fn did not run")
			}
			if tenantExists(t, st.Client, id) {
				t.Error("the row of a rolled-back transaction exists")
			}
		})

		t.Run("rolls back and re-panics when fn panics", func(t *testing.T) {
			var id uuid.UUID
			func() {
				defer func() {
					if v := recover(); v != "boom" {
						t.Errorf("recovered %v, want the panic of fn", v)
					}
				}()
				_ = store.WithTx(ctx, st.Client, func(ctx context.Context, tx *ent.Client) error {
					tn, err := newTenant(ctx, tx, "Panicked")
					if err != nil {
						return err
					}
					id = tn.ID
					panic("boom")
				})
			}()
			if id == uuid.Nil {
				t.Fatal("fn did not run")
			}
			if tenantExists(t, st.Client, id) {
				t.Error("the row of a panicked transaction exists")
			}
			// The connection went back to the pool usable.
			mustTenant(t, st.Client, "AfterPanic")
		})

		t.Run("joins an outer transaction", func(t *testing.T) {
			for _, outerCommits := range []bool{false, true} {
				outer, err := st.Client.Tx(ctx)
				if err != nil {
					t.Fatal(err)
				}
				txCtx := ent.NewTxContext(ctx, outer)
				var id uuid.UUID
				err = store.WithTx(txCtx, st.Client, func(ctx context.Context, tx *ent.Client) error {
					tn, err := newTenant(txCtx, tx, "Inner")
					if err != nil {
						return err
					}
					id = tn.ID
					return nil
				})
				if err != nil {
					_ = outer.Rollback()
					t.Fatalf("inner WithTx: %v", err)
				}
				// The inner call did not commit on its own: the outer
				// transaction sees the row and decides its fate.
				if ok, err := outer.Tenant.Query().Where(tenant.ID(id)).Exist(store.Unrestricted(ctx)); err != nil || !ok {
					t.Errorf("outer transaction does not see the inner row: %v, %v", ok, err)
				}
				if outerCommits {
					err = outer.Commit()
				} else {
					err = outer.Rollback()
				}
				if err != nil {
					t.Fatalf("end outer transaction: %v", err)
				}
				if got := tenantExists(t, st.Client, id); got != outerCommits {
					t.Errorf("outer commits=%v: inner row exists=%v", outerCommits, got)
				}
			}
		})

	})
}

func TestOpenRejectsBadURLs(t *testing.T) {
	t.Parallel()
	for _, url := range []string{
		"",
		"mysql://x",
		"sqlite://",
		"sqlite:/relative.db",
		"file:credvault.db",
		"postgre://host/db",
		"  postgres://host/db",
	} {
		st, err := store.Open(url)
		if err == nil {
			st.Close()
			t.Errorf("Open(%q) succeeded", url)
		}
	}
}

func TestOpenUnreachablePostgres(t *testing.T) {
	t.Parallel()
	// Port 1 on the loopback refuses connections at once.
	st, err := store.Open("postgres://nobody@127.0.0.1:1/none?sslmode=disable&connect_timeout=2")
	if err == nil {
		st.Close()
		t.Fatal("Open succeeded without a server")
	}
	if !strings.Contains(err.Error(), "connect") {
		t.Errorf("error %q does not say it could not connect", err)
	}
}

func TestOpenSQLiteMemory(t *testing.T) {
	t.Parallel()
	st, err := store.Open("sqlite://:memory:")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if st.Dialect != dialect.SQLite {
		t.Errorf("Dialect = %q", st.Dialect)
	}
	// Every connection to :memory: is a database of its own, so the store keeps one.
	if n := st.DB.Stats().MaxOpenConnections; n != 1 {
		t.Errorf("MaxOpenConnections = %d, want 1", n)
	}
	if err := st.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	var ids []uuid.UUID
	for _, name := range []string{"One", "Two", "Three"} {
		ids = append(ids, mustTenant(t, st.Client, name).ID)
	}
	n, err := st.Client.Tenant.Query().Where(tenant.IDIn(ids...)).Count(store.Unrestricted(context.Background()))
	if err != nil {
		t.Fatal(err)
	}
	if n != 3 {
		t.Errorf("counted %d tenants, want 3", n)
	}
	if err := st.Ping(context.Background()); err != nil {
		t.Errorf("Ping: %v", err)
	}
}

func TestOpenSQLiteFileCreatesFolder(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "a", "b")
	st, err := store.Open("sqlite://" + filepath.Join(dir, "credvault.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(context.Background()); err != nil {
		t.Fatal(err)
	}
	mustTenant(t, st.Client, "OnDisk")
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if mode := fi.Mode().Perm(); mode != 0o700 {
		t.Errorf("folder mode %o, want 700", mode)
	}
	for _, name := range []string{"credvault.db", "credvault.db-wal"} {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		if mode := fi.Mode().Perm(); mode != 0o600 {
			t.Errorf("%s mode %o, want 600", name, mode)
		}
	}
	// Every connection's pragmas: foreign keys enforced, WAL, deleted content
	// overwritten, temporary files (statement journals) kept in memory.
	for pragma, want := range map[string]string{"foreign_keys": "1", "journal_mode": "wal", "synchronous": "1",
		"secure_delete": "1", "temp_store": "2"} {
		var got string
		if err := st.DB.QueryRow("PRAGMA " + pragma).Scan(&got); err != nil || got != want {
			t.Errorf("%s = %q, %v; want %q", pragma, got, err, want)
		}
	}
}

func TestPingFailsWhenClosed(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		t.Parallel()
		if err := st.Ping(context.Background()); err != nil {
			t.Fatalf("Ping on an open store: %v", err)
		}
		if err := st.Close(); err != nil {
			t.Fatalf("Close: %v", err)
		}
		if err := st.Ping(context.Background()); err == nil {
			t.Error("Ping on a closed store succeeded")
		}
	})
}

func TestMigrateDropsIndexesTheSchemaNoLongerDeclares(t *testing.T) {
	t.Parallel()
	for _, backend := range storetest.Backends() {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			ctx := context.Background()
			st, err := store.Open(storetest.URL(t, backend))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			if err := st.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			// An index of an earlier release, replaced since.
			if _, err := st.DB.ExecContext(ctx, "CREATE INDEX apikey_stale_name ON api_keys (name)"); err != nil {
				t.Fatal(err)
			}
			exists := func() bool {
				q := "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = 'apikey_stale_name'"
				if st.Dialect == dialect.Postgres {
					q = "SELECT count(*) FROM pg_indexes WHERE schemaname = current_schema() AND indexname = 'apikey_stale_name'"
				}
				var n int
				if err := st.DB.QueryRowContext(ctx, q).Scan(&n); err != nil {
					t.Fatal(err)
				}
				return n > 0
			}
			if !exists() {
				t.Fatal("the stale index was not created")
			}
			if err := st.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			if exists() {
				t.Error("the index the schema does not declare is still there after migrating")
			}
		})
	}
}

func TestText(t *testing.T) {
	for _, c := range []struct {
		in   string
		n    int
		want string
	}{
		{"agent/1.0", 512, "agent/1.0"},
		{"a\xff\xfeb", 512, "a\uFFFDb"},
		{"abé", 3, "ab"}, // the é's first byte would end it
		{"abé", 4, "abé"},
		{"ééé", 5, "éé"},
		{"\xff", 2, ""}, // U+FFFD is three bytes
		{"é", 0, ""},
	} {
		if got := store.Text(c.in, c.n); got != c.want || !utf8.ValidString(got) {
			t.Errorf("Text(%q, %d) = %q, want %q", c.in, c.n, got, c.want)
		}
	}
}
