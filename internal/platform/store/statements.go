package store

import (
	"context"
	"database/sql"
	"sync/atomic"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"
)

// Statements returns how many SQL statements the store has sent, each
// transaction's begin and commit or rollback included (on SQLite, a
// transaction's savepoint and its release, and the BEGIN and COMMIT of the
// shared transaction of its group): the credvault_db_statements_total
// metric, which the load benchmark divides by the requests it made.
func (s *Store) Statements() uint64 { return s.statements.Load() }

// countingDriver counts the statements sent through an ent driver.
type countingDriver struct {
	rawDriver
	n *atomic.Uint64
}

// rawDriver is an ent driver that also runs raw statements and begins
// transactions with options: *entsql.Driver, or SQLite's write group.
type rawDriver interface {
	dialect.Driver
	entsql.ExecQuerier
	BeginTx(ctx context.Context, opts *sql.TxOptions) (dialect.Tx, error)
}

// rawTx is a transaction that also runs raw statements.
type rawTx interface {
	dialect.Tx
	entsql.ExecQuerier
}

func (d *countingDriver) Exec(ctx context.Context, query string, args, v any) error {
	d.n.Add(1)
	return d.rawDriver.Exec(ctx, query, args, v)
}

func (d *countingDriver) Query(ctx context.Context, query string, args, v any) error {
	d.n.Add(1)
	return d.rawDriver.Query(ctx, query, args, v)
}

func (d *countingDriver) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	d.n.Add(1)
	return d.rawDriver.ExecContext(ctx, query, args...)
}

func (d *countingDriver) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	d.n.Add(1)
	return d.rawDriver.QueryContext(ctx, query, args...)
}

func (d *countingDriver) Tx(ctx context.Context) (dialect.Tx, error) {
	return d.BeginTx(ctx, nil)
}

func (d *countingDriver) BeginTx(ctx context.Context, opts *sql.TxOptions) (dialect.Tx, error) {
	d.n.Add(1)
	tx, err := d.rawDriver.BeginTx(ctx, opts)
	if err != nil {
		return nil, err
	}
	return &countingTx{rawTx: tx.(rawTx), n: d.n}, nil
}

// countingTx counts a transaction's statements and its commit or rollback.
type countingTx struct {
	rawTx
	n *atomic.Uint64
}

func (t *countingTx) Exec(ctx context.Context, query string, args, v any) error {
	t.n.Add(1)
	return t.rawTx.Exec(ctx, query, args, v)
}

func (t *countingTx) Query(ctx context.Context, query string, args, v any) error {
	t.n.Add(1)
	return t.rawTx.Query(ctx, query, args, v)
}

func (t *countingTx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	t.n.Add(1)
	return t.rawTx.ExecContext(ctx, query, args...)
}

func (t *countingTx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	t.n.Add(1)
	return t.rawTx.QueryContext(ctx, query, args...)
}

func (t *countingTx) Commit() error {
	t.n.Add(1)
	return t.rawTx.Commit()
}

func (t *countingTx) Rollback() error {
	t.n.Add(1)
	return t.rawTx.Rollback()
}
