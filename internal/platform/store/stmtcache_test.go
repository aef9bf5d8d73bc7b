package store

import (
	"context"
	"database/sql"
	"fmt"
	"slices"
	"testing"
)

// oneConn returns a connection of st's SQLite file store, whose table t
// holds a, b and c.
func oneConn(t *testing.T) *sql.Conn {
	t.Helper()
	st, _ := openGroup(t)
	if _, err := st.DB.Exec("INSERT INTO t (v) VALUES ('a'), ('b'), ('c')"); err != nil {
		t.Fatal(err)
	}
	conn, err := st.DB.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// values runs query on q (a connection or the pool) and returns its first column.
func values(t *testing.T, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, query string, args ...any) []string {
	t.Helper()
	r, err := q.QueryContext(context.Background(), query, args...)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	var out []string
	for r.Next() {
		var v string
		if err := r.Scan(&v); err != nil {
			t.Fatal(err)
		}
		out = append(out, v)
	}
	if err := r.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// kept returns the statements conn keeps prepared, by query.
func kept(t *testing.T, conn *sql.Conn) map[string]*cachedStmt {
	t.Helper()
	out := map[string]*cachedStmt{}
	err := conn.Raw(func(dc any) error {
		c, ok := dc.(*stmtCachingConn)
		if !ok {
			return fmt.Errorf("a SQLite connection is a %T, want *stmtCachingConn", dc)
		}
		for q, e := range c.stmts {
			out[q] = e.Value.(*cachedStmt)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

const above = "SELECT v FROM t WHERE v > ? ORDER BY v"

func TestSQLiteQueryIsPreparedOnce(t *testing.T) {
	conn := oneConn(t)
	if got := values(t, conn, above, "a"); !slices.Equal(got, []string{"b", "c"}) {
		t.Fatalf("first run: %q", got)
	}
	first := kept(t, conn)[above]
	if first == nil {
		t.Fatal("the query's statement is not kept")
	}
	if got := values(t, conn, above, "b"); !slices.Equal(got, []string{"c"}) {
		t.Fatalf("second run, another argument: %q", got)
	}
	if kept(t, conn)[above] != first {
		t.Error("the second run prepared the query again")
	}
}

// The same query asked while its kept statement's rows are open runs on
// a statement of its own, and neither disturbs the other.
func TestSQLiteQueryAskedWhileItsRowsAreOpen(t *testing.T) {
	conn := oneConn(t)
	outer, err := conn.QueryContext(context.Background(), above, "")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for outer.Next() {
		var v string
		if err := outer.Scan(&v); err != nil {
			t.Fatal(err)
		}
		got = append(got, v+fmt.Sprint(values(t, conn, above, v)))
	}
	if err := outer.Close(); err != nil {
		t.Fatal(err)
	}
	if want := []string{"a[b c]", "b[c]", "c[]"}; !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
	if got := values(t, conn, above, "a"); !slices.Equal(got, []string{"b", "c"}) {
		t.Errorf("after the nested runs: %q", got)
	}
}

// Past stmtCacheSize queries the least recently used is forgotten, and a
// statement forgotten while its rows are open still reads them to the end.
func TestSQLiteKeepsAtMostStmtCacheSizeQueries(t *testing.T) {
	conn := oneConn(t)
	open, err := conn.QueryContext(context.Background(), above, "")
	if err != nil {
		t.Fatal(err)
	}
	if !open.Next() {
		t.Fatal("no first row")
	}
	for i := range stmtCacheSize + 5 {
		if got := values(t, conn, fmt.Sprintf("SELECT v FROM t WHERE v = ? AND %d = %d", i, i), "b"); !slices.Equal(got, []string{"b"}) {
			t.Fatalf("query %d: %q", i, got)
		}
	}
	k := kept(t, conn)
	if len(k) != stmtCacheSize || k[above] != nil {
		t.Errorf("%d statements kept, the first query's among them: %v; want %d, not it", len(k), k[above] != nil, stmtCacheSize)
	}
	var rest []string
	for open.Next() {
		var v string
		if err := open.Scan(&v); err != nil {
			t.Fatal(err)
		}
		rest = append(rest, v)
	}
	if err := open.Close(); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(rest, []string{"b", "c"}) {
		t.Errorf("rows of the forgotten statement: %q", rest)
	}
	if got := values(t, conn, above, "b"); !slices.Equal(got, []string{"c"}) {
		t.Errorf("the forgotten query asked again: %q", got)
	}
}

// A kept statement follows a change of the schema.
func TestSQLiteKeptQueryAfterSchemaChange(t *testing.T) {
	conn := oneConn(t)
	const all = "SELECT * FROM t ORDER BY v DESC LIMIT 1"
	cols := func() []string {
		r, err := conn.QueryContext(context.Background(), all)
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		c, err := r.Columns()
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	if got := cols(); !slices.Equal(got, []string{"id", "v"}) {
		t.Fatalf("columns %q", got)
	}
	if _, err := conn.ExecContext(context.Background(), "ALTER TABLE t ADD COLUMN w TEXT"); err != nil {
		t.Fatal(err)
	}
	if got := cols(); !slices.Equal(got, []string{"id", "v", "w"}) {
		t.Errorf("columns after ALTER TABLE: %q", got)
	}
}
