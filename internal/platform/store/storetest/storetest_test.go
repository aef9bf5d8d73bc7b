package storetest

import (
	"database/sql"
	"net/url"
	"os"
	"testing"
)

// TestDroppedSchemasVacuumTheCatalogs: the vacuumEvery-th schema dropped
// vacuums the catalogs its tables added rows to.
func TestDroppedSchemasVacuumTheCatalogs(t *testing.T) {
	if os.Getenv(EnvURL) == "" {
		t.Skip(EnvURL + " is not set")
	}
	db, err := sql.Open("pgx", os.Getenv(EnvURL))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	vacuums := func() (n int64) {
		t.Helper()
		if err := db.QueryRow("SELECT vacuum_count FROM pg_stat_sys_tables WHERE relid = 'pg_catalog.pg_attribute'::regclass").Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}
	before := vacuums()
	for i := dropped.Load() % vacuumEvery; i < vacuumEvery; i++ {
		if i == vacuumEvery-1 && vacuums() != before {
			t.Fatalf("the catalogs were vacuumed after %d of %d drops", i, vacuumEvery)
		}
		t.Run("schema", func(t *testing.T) {
			if _, err := db.Exec("CREATE TABLE " + schemaOf(t, URL(t, "postgres")) + ".t (id uuid PRIMARY KEY, v text)"); err != nil {
				t.Fatal(err)
			}
		})
	}
	if after := vacuums(); after != before+1 {
		t.Fatalf("pg_attribute vacuumed %d times after %d schemas dropped, want once", after-before, vacuumEvery)
	}
}

// schemaOf is the schema that u, made by URL, selects.
func schemaOf(t *testing.T, u string) string {
	t.Helper()
	p, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	return p.Query().Get("search_path")
}
