package storetest

import (
	"context"
	"database/sql"
	"sync"

	"entgo.io/ent/dialect"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/internal/platform/reqinfo"
	"github.com/credvault/credvault/internal/platform/store"
)

// Statements counts the SQL statements a store's client sends on behalf of
// each request id, as entgql's own tests count queries: a list or a nested
// query must cost a bounded number of statements whatever its row count.
// Background work (jobs, flushes) carries no request id: it is counted
// under the id "".
type Statements struct {
	mu  sync.Mutex
	n   map[string]int
	sql map[string][]string
	// hold, when set, picks the next statement to wait on gate, or every
	// one with holdAll.
	hold    func(query string) bool
	holdAll bool
	gate    chan struct{}
}

// CountStatements rebinds st's client to a driver that counts its
// statements by request id. Call it before a server is built on st.
func CountStatements(st *store.Store) *Statements {
	s := &Statements{n: map[string]int{}, sql: map[string][]string{}}
	st.Client = ent.NewClient(ent.Driver(&countingDriver{Driver: st.Driver(), s: s}))
	return s
}

// Of returns how many statements the request with id sent, and their text.
func (s *Statements) Of(requestID string) (int, []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n[requestID], append([]string(nil), s.sql[requestID]...)
}

// HoldNext makes the next statement match picks wait, counted but not
// sent, until release is called: a test lines work up behind it instead of
// hoping the scheduler does.
func (s *Statements) HoldNext(match func(query string) bool) (release func()) {
	return s.holdOn(match, false)
}

// Hold makes every statement match picks wait, as HoldNext does the next
// one, until release is called; later statements then go unheld.
func (s *Statements) Hold(match func(query string) bool) (release func()) {
	return s.holdOn(match, true)
}

func (s *Statements) holdOn(match func(query string) bool, all bool) (release func()) {
	gate := make(chan struct{})
	s.mu.Lock()
	s.hold, s.holdAll, s.gate = match, all, gate
	s.mu.Unlock()
	var once sync.Once
	return func() {
		once.Do(func() {
			s.mu.Lock()
			if s.gate == gate {
				s.hold = nil
			}
			s.mu.Unlock()
			close(gate)
		})
	}
}

func (s *Statements) add(ctx context.Context, query string) {
	id := reqinfo.FromContext(ctx).RequestID
	s.mu.Lock()
	s.n[id]++
	s.sql[id] = append(s.sql[id], query)
	var gate chan struct{}
	if s.hold != nil && s.hold(query) {
		gate = s.gate
		if !s.holdAll {
			s.hold = nil
		}
	}
	s.mu.Unlock()
	if gate != nil {
		<-gate
	}
}

type countingDriver struct {
	dialect.Driver
	s *Statements
}

func (d *countingDriver) Exec(ctx context.Context, query string, args, v any) error {
	d.s.add(ctx, query)
	return d.Driver.Exec(ctx, query, args, v)
}

func (d *countingDriver) Query(ctx context.Context, query string, args, v any) error {
	d.s.add(ctx, query)
	return d.Driver.Query(ctx, query, args, v)
}

func (d *countingDriver) Tx(ctx context.Context) (dialect.Tx, error) {
	tx, err := d.Driver.Tx(ctx)
	if err != nil {
		return nil, err
	}
	return &countingTx{Tx: tx, ctx: ctx, s: d.s}, nil
}

// countingTx counts a transaction's statements, and its commit or rollback
// as one more, against the request that began it.
type countingTx struct {
	dialect.Tx
	ctx context.Context
	s   *Statements
}

func (t *countingTx) Exec(ctx context.Context, query string, args, v any) error {
	t.s.add(ctx, query)
	return t.Tx.Exec(ctx, query, args, v)
}

func (t *countingTx) Query(ctx context.Context, query string, args, v any) error {
	t.s.add(ctx, query)
	return t.Tx.Query(ctx, query, args, v)
}

func (t *countingTx) Commit() error {
	t.s.add(t.ctx, "COMMIT")
	return t.Tx.Commit()
}

func (t *countingTx) Rollback() error {
	t.s.add(t.ctx, "ROLLBACK")
	return t.Tx.Rollback()
}

// execContext is the raw statement method of ent's drivers and
// transactions, which the invalidation bus's NOTIFY goes through.
type execContext interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

// ExecContext counts a raw statement and sends it.
func (d *countingDriver) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	d.s.add(ctx, query)
	return d.Driver.(execContext).ExecContext(ctx, query, args...)
}

// ExecContext counts a raw statement of the transaction and sends it.
func (t *countingTx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	t.s.add(ctx, query)
	return t.Tx.(execContext).ExecContext(ctx, query, args...)
}
