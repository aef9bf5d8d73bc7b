package store

import (
	"context"
	"database/sql"
	"fmt"
	"math/rand/v2"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"
)

// openGroup opens a SQLite file store with a table t and returns its write
// group.
func openGroup(t *testing.T) (*Store, *writeGroup) {
	t.Helper()
	st, err := Open("sqlite://" + filepath.Join(t.TempDir(), "group.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	if _, err := st.DB.Exec("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL UNIQUE)"); err != nil {
		t.Fatal(err)
	}
	g, ok := st.driver.(*writeGroup)
	if !ok {
		t.Fatalf("a SQLite file store writes through %T, want *writeGroup", st.driver)
	}
	return st, g
}

// finish commits tx, or rolls it back.
func finish(tx dialect.Tx, rollback bool) error {
	if rollback {
		return tx.Rollback()
	}
	return tx.Commit()
}

func insert(t *testing.T, tx dialect.Tx, v string) {
	t.Helper()
	if _, err := tx.(rawTx).ExecContext(context.Background(), "INSERT INTO t (v) VALUES (?)", v); err != nil {
		t.Error(err)
	}
}

// rows returns the values stored, read on a connection of their own.
func rows(t *testing.T, db *sql.DB) []string {
	t.Helper()
	return values(t, db, "SELECT v FROM t ORDER BY v")
}

// walFrames is how many pages the WAL holds: what the commits wrote.
func walFrames(t *testing.T, db *sql.DB) int {
	t.Helper()
	var busy, frames, done int
	if err := db.QueryRow("PRAGMA wal_checkpoint(PASSIVE)").Scan(&busy, &frames, &done); err != nil {
		t.Fatal(err)
	}
	return frames
}

// waitQueued waits until n writers wait for the shared transaction.
func waitQueued(t *testing.T, g *writeGroup, n int32) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for g.waiting.Load() != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d writers queued, want %d", g.waiting.Load(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestWriteGroupCommitsQueuedWritersOnce(t *testing.T) {
	st, g := openGroup(t)
	if _, err := st.DB.Exec("PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		t.Fatal(err)
	}
	first, err := g.Tx(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	const writers = 20
	var wg sync.WaitGroup
	for i := range writers {
		wg.Go(func() {
			tx, err := g.Tx(context.Background())
			if err != nil {
				t.Error(err)
				return
			}
			v := fmt.Sprintf("w%02d", i)
			insert(t, tx, v)
			if err := tx.Commit(); err != nil {
				t.Error(err)
			}
			// Committed means committed: another connection reads it.
			var n int
			if err := st.DB.QueryRow("SELECT count(*) FROM t WHERE v = ?", v).Scan(&n); err != nil || n != 1 {
				t.Errorf("%s after its commit: %d rows, %v", v, n, err)
			}
		})
	}
	waitQueued(t, g, writers)
	insert(t, first, "first")
	if err := first.Commit(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if got := len(rows(t, st.DB)); got != writers+1 {
		t.Fatalf("%d rows, want %d", got, writers+1)
	}
	// 21 commits of their own would each have written the table's page
	// (and its index's) to the WAL: at least 21 frames.
	if frames := walFrames(t, st.DB); frames >= writers {
		t.Errorf("the WAL holds %d frames for %d writers: they did not commit together", frames, writers+1)
	}
}

// TestWriteGroupCountsItsStatements checks that the statements metric
// counts what a SQLite write sends: its savepoint, statement and release or
// rollback (its begin and end), and the shared transaction's BEGIN and
// COMMIT or ROLLBACK.
func TestWriteGroupCountsItsStatements(t *testing.T) {
	st, g := openGroup(t)
	client := &countingDriver{rawDriver: g, n: &st.statements}
	for _, end := range []string{"commit", "rollback"} {
		before := st.Statements()
		tx, err := client.Tx(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		insert(t, tx, end)
		if err := finish(tx, end == "rollback"); err != nil {
			t.Fatal(err)
		}
		if n := st.Statements() - before; n != 5 {
			t.Errorf("one write alone, then %s: %d statements counted, want 5", end, n)
		}
	}
}

func TestWriteGroupRollbackUndoesOnlyItsOwnWork(t *testing.T) {
	st, g := openGroup(t)
	first, err := g.Tx(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for _, v := range []string{"keep-1", "drop", "keep-2"} {
		wg.Go(func() {
			tx, err := g.Tx(context.Background())
			if err != nil {
				t.Error(err)
				return
			}
			insert(t, tx, v)
			if err := finish(tx, v == "drop"); err != nil {
				t.Error(err)
			}
		})
	}
	waitQueued(t, g, 3)
	insert(t, first, "first")
	if err := first.Commit(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if got := fmt.Sprint(rows(t, st.DB)); got != "[first keep-1 keep-2]" {
		t.Fatalf("rows %s, want [first keep-1 keep-2]", got)
	}
}

// A writer left waiting for its group's commit, because another writer was
// queued to join, is not stranded when that writer stops waiting.
func TestWriteGroupSettlesWhenAQueuedWriterLeaves(t *testing.T) {
	st, g := openGroup(t)
	tx, err := g.Tx(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	insert(t, tx, "left-open")
	g.waiting.Add(1) // a writer queued behind tx
	committed := make(chan error, 1)
	go func() { committed <- tx.Commit() }()
	deadline := time.Now().Add(5 * time.Second)
	for len(g.token) != 0 {
		if time.Now().After(deadline) {
			t.Fatal("the committing writer kept the token with a writer queued")
		}
		time.Sleep(time.Millisecond)
	}
	select {
	case err := <-committed:
		t.Fatalf("commit returned (%v) with its group still open for the queued writer", err)
	case <-time.After(20 * time.Millisecond):
	}
	// What acquire does when the queued writer's context ends.
	g.waiting.Add(-1)
	g.settle()
	select {
	case err := <-committed:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the writer was stranded waiting for a commit")
	}
	if got := fmt.Sprint(rows(t, st.DB)); got != "[left-open]" {
		t.Fatalf("rows %s", got)
	}
}

// Many writers, some rolling back, some giving up waiting, some writing
// outside a transaction (an autocommit INSERT and an INSERT … RETURNING):
// what committed is stored, nothing else, and nobody hangs.
func TestWriteGroupUnderContention(t *testing.T) {
	st, g := openGroup(t)
	var (
		mu   sync.Mutex
		want []string
		wg   sync.WaitGroup
	)
	keep := func(v string) {
		mu.Lock()
		want = append(want, v)
		mu.Unlock()
	}
	for w := range 16 {
		wg.Go(func() {
			for i := range 40 {
				v := fmt.Sprintf("%02d-%02d", w, i)
				switch rand.IntN(6) {
				case 0: // gives up waiting almost at once
					ctx, cancel := context.WithTimeout(context.Background(), 50*time.Microsecond)
					tx, err := g.Tx(ctx)
					cancel()
					if err != nil {
						continue
					}
					insert(t, tx, v)
					if err := tx.Commit(); err != nil {
						t.Error(err)
					}
					keep(v)
				case 1:
					tx, err := g.Tx(context.Background())
					if err != nil {
						t.Error(err)
						continue
					}
					insert(t, tx, v)
					if err := tx.Rollback(); err != nil {
						t.Error(err)
					}
				case 2:
					if _, err := g.ExecContext(context.Background(), "INSERT INTO t (v) VALUES (?)", v); err != nil {
						t.Error(err)
					}
					keep(v)
				case 3:
					var r entsql.Rows
					if err := g.Query(context.Background(), "INSERT INTO t (v) VALUES (?) RETURNING id", []any{v}, &r); err != nil {
						t.Error(err)
						continue
					}
					for r.Next() {
					}
					r.Close()
					keep(v)
				default:
					tx, err := g.Tx(context.Background())
					if err != nil {
						t.Error(err)
						continue
					}
					insert(t, tx, v)
					if err := tx.Commit(); err != nil {
						t.Error(err)
					}
					keep(v)
				}
			}
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		t.Fatal("writers hung")
	}
	sort.Strings(want)
	if got := rows(t, st.DB); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("stored %d rows, want the %d committed", len(got), len(want))
	}
}
