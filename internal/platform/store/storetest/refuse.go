package storetest

import (
	"context"
	"testing"

	"entgo.io/ent/dialect"

	"github.com/credvault/credvault/internal/platform/store"
)

// Refusal makes the database itself refuse every insert into a table while
// it is on, as a failing database would: a trigger raising an error that is
// no constraint's, so writers take it for a passing failure and retry.
type Refusal struct {
	t     testing.TB
	st    *store.Store
	table string
}

// RefuseInserts installs the refusal on table, off until On.
func RefuseInserts(t testing.TB, st *store.Store, table string) *Refusal {
	t.Helper()
	stmts := []string{
		"CREATE TABLE refuse_" + table + " (on_ integer)",
		"CREATE TRIGGER refuse_" + table + " BEFORE INSERT ON " + table +
			" WHEN EXISTS (SELECT 1 FROM refuse_" + table + ") BEGIN SELECT RAISE(ABORT, 'inserts refused by the test'); END",
	}
	if st.Dialect == dialect.Postgres {
		stmts = []string{
			"CREATE TABLE refuse_" + table + " (on_ integer)",
			"CREATE FUNCTION refuse_" + table + "() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$ BEGIN " +
				"IF EXISTS (SELECT 1 FROM refuse_" + table + ") THEN RAISE EXCEPTION 'inserts refused by the test'; END IF; RETURN NEW; END $$",
			"CREATE TRIGGER refuse_" + table + " BEFORE INSERT ON " + table + " FOR EACH ROW EXECUTE FUNCTION refuse_" + table + "()",
		}
	}
	for _, s := range stmts {
		if _, err := st.DB.ExecContext(context.Background(), s); err != nil {
			t.Fatalf("refuse inserts into %s: %v", table, err)
		}
	}
	return &Refusal{t: t, st: st, table: table}
}

// On makes the inserts fail.
func (r *Refusal) On() {
	r.t.Helper()
	r.exec("INSERT INTO refuse_" + r.table + " VALUES (1)")
}

// Off lets them through again.
func (r *Refusal) Off() {
	r.t.Helper()
	r.exec("DELETE FROM refuse_" + r.table)
}

func (r *Refusal) exec(stmt string) {
	r.t.Helper()
	if _, err := r.st.DB.ExecContext(context.Background(), stmt); err != nil {
		r.t.Fatalf("%s: %v", stmt, err)
	}
}
