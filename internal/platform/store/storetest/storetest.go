// Package storetest runs one suite of behaviour against every database
// CredVault supports: SQLite always, PostgreSQL when
// CREDVAULT_TEST_DATABASE_URL is set. Each test gets a fresh, migrated
// database: a file in a temporary folder, or a schema of its own.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"

	"github.com/credvault/credvault/internal/platform/store"
)

// EnvURL names the variable holding the PostgreSQL server for tests.
const EnvURL = "CREDVAULT_TEST_DATABASE_URL"

// Backends lists the databases to run on.
func Backends() []string {
	if os.Getenv(EnvURL) != "" {
		return []string{"sqlite", "postgres"}
	}
	return []string{"sqlite"}
}

// Each runs fn as a subtest on a fresh store of every backend.
func Each(t *testing.T, fn func(t *testing.T, st *store.Store)) {
	t.Helper()
	for _, b := range Backends() {
		t.Run(b, func(t *testing.T) { fn(t, Open(t, b)) })
	}
}

// EachParallel is Each with the backends' subtests running in parallel,
// each opening its database only once it runs, so a paused subtest holds no
// PostgreSQL connection.
func EachParallel(t *testing.T, fn func(t *testing.T, st *store.Store)) {
	t.Helper()
	for _, b := range Backends() {
		t.Run(b, func(t *testing.T) {
			t.Parallel()
			fn(t, Open(t, b))
		})
	}
}

// Open returns a fresh migrated store on backend, closed and dropped when t ends.
func Open(t testing.TB, backend string) *store.Store {
	t.Helper()
	st, err := store.Open(URL(t, backend))
	if err != nil {
		t.Fatalf("open %s: %v", backend, err)
	}
	t.Cleanup(func() { st.Close() })
	if err := st.Migrate(context.Background()); err != nil {
		t.Fatalf("migrate %s: %v", backend, err)
	}
	return st
}

// URL returns the database URL of a fresh, empty database on backend. On
// PostgreSQL it is a new schema, selected through search_path and dropped
// when t ends.
func URL(t testing.TB, backend string) string {
	t.Helper()
	switch backend {
	case "sqlite":
		return "sqlite://" + filepath.Join(t.TempDir(), "credvault.db")
	case "postgres":
		base := os.Getenv(EnvURL)
		if base == "" {
			t.Skip(EnvURL + " is not set")
		}
		schema := "cvtest_" + randomHex(t)
		admin, err := sql.Open("pgx", base)
		if err != nil {
			t.Fatalf("postgres: %v", err)
		}
		if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
			admin.Close()
			t.Fatalf("create schema: %v", err)
		}
		t.Cleanup(func() {
			_, _ = admin.Exec("DROP SCHEMA " + schema + " CASCADE")
			if dropped.Add(1)%vacuumEvery == 0 {
				_, _ = admin.Exec(vacuumCatalogs)
			}
			admin.Close()
		})
		u, err := url.Parse(base)
		if err != nil {
			t.Fatalf("%s: %v", EnvURL, err)
		}
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		return u.String()
	}
	t.Fatalf("unknown backend %q", backend)
	return ""
}

// dropped counts the schemas this process has dropped.
var dropped atomic.Int64

// vacuumEvery is how many dropped schemas the system catalogs are vacuumed
// after. Each schema leaves about a thousand dead rows in them, which pile
// up through a run when autovacuum is off (as on the machines here) or
// lags: on a database that had seen a few runs, a migration's
// look at an existing schema took 1 s, against 65 ms once vacuumed. A role
// that does not own the catalogs is warned, and nothing is vacuumed.
const vacuumEvery = 25

// vacuumCatalogs vacuums the catalogs that a schema's tables, indexes,
// constraints, defaults and triggers add rows to.
const vacuumCatalogs = "VACUUM pg_catalog.pg_class, pg_catalog.pg_attribute, pg_catalog.pg_attrdef, " +
	"pg_catalog.pg_index, pg_catalog.pg_constraint, pg_catalog.pg_depend, pg_catalog.pg_type, " +
	"pg_catalog.pg_namespace, pg_catalog.pg_trigger, pg_catalog.pg_proc, pg_catalog.pg_sequence"

func randomHex(t testing.TB) string {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}
