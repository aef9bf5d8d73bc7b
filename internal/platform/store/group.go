package store

import (
	"context"
	"database/sql"
	"errors"
	"strings"
	"sync/atomic"
	"time"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"
)

// writeGroup runs SQLite's write transactions as savepoints of one shared
// transaction that commits once for all of them: SQLite has one writer at
// a time, and a commit writes every page the transaction dirtied to the
// WAL, so concurrent writers that each committed alone wrote the pages of
// the indexes they share again and again (and slept in SQLite's busy
// handler waiting for the lock). A transaction takes the shared one in
// turn, runs inside a savepoint, and its Commit returns once the shared
// transaction has committed: it is as durable as its own commit was, and
// its rollback undoes only its savepoint. The last of a run of queued
// writers commits; a writer's rollback or a failed commit touches no other
// writer's work but its own, except that a commit failing fails the group.
type writeGroup struct {
	*entsql.Driver
	// token is held by the one writer using the shared transaction.
	token   chan struct{}
	waiting atomic.Int32
	// open is the shared transaction, nil between groups; it is read and
	// written by the token's holder only.
	open *group
	// statements counts the shared transactions' BEGIN and COMMIT or
	// ROLLBACK; countingDriver counts each member's as its own.
	statements *atomic.Uint64
}

// group is one shared transaction and the writers waiting for its commit.
type group struct {
	tx      *entsql.Tx
	started time.Time
	pending int
	done    chan struct{}
	err     error
}

const (
	// groupMembers and groupAge bound a group, so that a steady stream of
	// writers still commits often.
	groupMembers = 64
	groupAge     = 10 * time.Millisecond
	// lockWait bounds the wait for the shared transaction, as SQLite's
	// busy timeout bounds the wait for its lock.
	lockWait = 10 * time.Second
)

var errLocked = errors.New("store: database is locked: the write queue did not move within 10s")

func newWriteGroup(d *entsql.Driver, statements *atomic.Uint64) *writeGroup {
	return &writeGroup{Driver: d, token: make(chan struct{}, 1), statements: statements}
}

// acquire takes the token, waiting at most lockWait or until ctx ends.
func (g *writeGroup) acquire(ctx context.Context) error {
	g.waiting.Add(1)
	select {
	case g.token <- struct{}{}:
		g.waiting.Add(-1)
		return nil
	default:
	}
	t := time.NewTimer(lockWait)
	defer t.Stop()
	var err error
	select {
	case g.token <- struct{}{}:
		g.waiting.Add(-1)
		return nil
	case <-ctx.Done():
		err = ctx.Err()
	case <-t.C:
		err = errLocked
	}
	g.waiting.Add(-1)
	g.settle()
	return err
}

// release gives the token up.
func (g *writeGroup) release() {
	<-g.token
	g.settle()
}

// settle commits a group left open for writers that no longer wait to join
// it. Whoever frees the token or stops waiting for it settles, so a group's
// writers are never stranded waiting for a commit.
func (g *writeGroup) settle() {
	if g.waiting.Load() != 0 {
		return // a waiting writer takes the token and settles after it
	}
	select {
	case g.token <- struct{}{}:
	default:
		return // a writer holds the token and settles when it frees it
	}
	if g.open != nil {
		g.commit()
	}
	<-g.token
}

// commit ends the open group and tells its writers. The token is held.
func (g *writeGroup) commit() {
	o := g.open
	g.open = nil
	g.statements.Add(1)
	if o.pending == 0 {
		o.err = o.tx.Rollback()
	} else {
		o.err = o.tx.Commit()
	}
	close(o.done)
}

// fail ends the open group on an error that broke its transaction.
func (g *writeGroup) fail(err error) {
	o := g.open
	g.open = nil
	g.statements.Add(1)
	_ = o.tx.Rollback()
	o.err = err
	close(o.done)
}

// Tx begins a transaction: a savepoint of the shared one.
func (g *writeGroup) Tx(ctx context.Context) (dialect.Tx, error) { return g.BeginTx(ctx, nil) }

// BeginTx begins a transaction: a savepoint of the shared one, which opts
// cannot change (every SQLite transaction here is serialisable).
func (g *writeGroup) BeginTx(ctx context.Context, _ *sql.TxOptions) (dialect.Tx, error) {
	if err := g.acquire(ctx); err != nil {
		return nil, err
	}
	if g.open == nil {
		// The shared transaction outlives the request that opened it.
		g.statements.Add(1)
		tx, err := g.Driver.BeginTx(context.Background(), nil)
		if err != nil {
			g.release()
			return nil, err
		}
		g.open = &group{tx: tx.(*entsql.Tx), started: time.Now(), done: make(chan struct{})}
	}
	o := g.open
	if _, err := o.tx.ExecContext(context.Background(), "SAVEPOINT cv_write"); err != nil {
		g.fail(err)
		g.release()
		return nil, err
	}
	return &member{g: g, group: o}, nil
}

// member is one writer's transaction: its savepoint in the shared one. Its
// statements are not cancelled with its context: an interrupted SQLite
// statement rolls the whole shared transaction back.
type member struct {
	g     *writeGroup
	group *group
}

func (m *member) Exec(ctx context.Context, query string, args, v any) error {
	return m.group.tx.Exec(context.WithoutCancel(ctx), query, args, v)
}

func (m *member) Query(ctx context.Context, query string, args, v any) error {
	return m.group.tx.Query(context.WithoutCancel(ctx), query, args, v)
}

func (m *member) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	return m.group.tx.ExecContext(context.WithoutCancel(ctx), query, args...)
}

func (m *member) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	return m.group.tx.QueryContext(context.WithoutCancel(ctx), query, args...)
}

// Commit keeps the writer's work in the group and returns once the group
// has committed, with the group's outcome.
func (m *member) Commit() error {
	g, o := m.g, m.group
	if _, err := o.tx.ExecContext(context.Background(), "RELEASE cv_write"); err != nil {
		g.fail(err)
		g.release()
		return err
	}
	o.pending++
	if g.waiting.Load() == 0 || o.pending >= groupMembers || time.Since(o.started) >= groupAge {
		g.commit()
	}
	g.release()
	<-o.done
	return o.err
}

// Rollback undoes the writer's savepoint only.
func (m *member) Rollback() error {
	g, o := m.g, m.group
	_, err := o.tx.ExecContext(context.Background(), "ROLLBACK TO cv_write")
	if err == nil {
		_, err = o.tx.ExecContext(context.Background(), "RELEASE cv_write")
	}
	switch {
	case err != nil:
		g.fail(err)
	case g.waiting.Load() == 0:
		g.commit()
	}
	g.release()
	return err
}

// Exec runs a statement outside a transaction: a write runs alone, after
// the open group has committed, so that it never meets SQLite's lock held.
func (g *writeGroup) Exec(ctx context.Context, query string, args, v any) error {
	if reads(query) {
		return g.Driver.Exec(ctx, query, args, v)
	}
	if err := g.alone(ctx); err != nil {
		return err
	}
	defer g.release()
	return g.Driver.Exec(ctx, query, args, v)
}

// ExecContext is Exec for raw statements.
func (g *writeGroup) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if reads(query) {
		return g.Driver.ExecContext(ctx, query, args...)
	}
	if err := g.alone(ctx); err != nil {
		return nil, err
	}
	defer g.release()
	return g.Driver.ExecContext(ctx, query, args...)
}

// Query runs a statement outside a transaction; a write (an INSERT …
// RETURNING) holds the token until its rows are closed.
func (g *writeGroup) Query(ctx context.Context, query string, args, v any) error {
	if reads(query) {
		return g.Driver.Query(ctx, query, args, v)
	}
	if err := g.alone(ctx); err != nil {
		return err
	}
	if err := g.Driver.Query(ctx, query, args, v); err != nil {
		g.release()
		return err
	}
	rows := v.(*entsql.Rows)
	rows.ColumnScanner = &releasing{ColumnScanner: rows.ColumnScanner, g: g}
	return nil
}

// alone takes the token and commits the open group, for a statement that
// runs on its own.
func (g *writeGroup) alone(ctx context.Context) error {
	if err := g.acquire(ctx); err != nil {
		return err
	}
	if g.open != nil {
		g.commit()
	}
	return nil
}

// releasing gives the token back when a write's rows are closed.
type releasing struct {
	entsql.ColumnScanner
	g    *writeGroup
	done atomic.Bool
}

func (r *releasing) Close() error {
	err := r.ColumnScanner.Close()
	if r.done.CompareAndSwap(false, true) {
		r.g.release()
	}
	return err
}

// reads reports whether a statement only reads, which SQLite's WAL lets
// run beside the writer.
func reads(query string) bool {
	q := strings.TrimLeft(query, " \t\r\n(")
	return len(q) >= 6 && strings.EqualFold(q[:6], "SELECT")
}
