package store

import (
	"container/list"
	"context"
	"database/sql/driver"

	"modernc.org/sqlite"
)

// stmtCacheSize bounds the prepared queries each SQLite connection keeps:
// enough for the hot reads, each holding its compiled program.
const stmtCacheSize = 32

// sqliteConnector opens SQLite connections that keep their prepared
// queries: modernc's driver parses and plans a query anew on every call,
// which was most of the time of a short read (a GraphQL page).
type sqliteConnector struct{ driver.Connector }

func newSQLiteConnector(dsn string) (driver.Connector, error) {
	c, err := sqlite.NewConnector(dsn)
	if err != nil {
		return nil, err
	}
	return sqliteConnector{c}, nil
}

func (c sqliteConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	sc, ok := conn.(sqliteConn)
	if !ok {
		return conn, nil
	}
	return &stmtCachingConn{sqliteConn: sc, stmts: map[string]*list.Element{}, order: list.New()}, nil
}

// sqliteConn is what database/sql uses of modernc's connection.
type sqliteConn interface {
	driver.Conn
	driver.ConnBeginTx
	driver.ConnPrepareContext
	driver.ExecerContext
	driver.QueryerContext
	driver.Pinger
	driver.SessionResetter
	driver.Validator
}

// sqliteRows is what database/sql uses of modernc's rows.
type sqliteRows interface {
	driver.Rows
	driver.RowsColumnTypeDatabaseTypeName
	driver.RowsColumnTypeLength
	driver.RowsColumnTypeNullable
	driver.RowsColumnTypePrecisionScale
	driver.RowsColumnTypeScanType
}

// stmtCachingConn keeps the connection's stmtCacheSize most recently used
// queries prepared. database/sql uses a connection from one goroutine at a
// time (closing rows included), so it needs no lock.
type stmtCachingConn struct {
	sqliteConn
	stmts map[string]*list.Element // of *cachedStmt, in order
	order *list.List               // most recently used first
}

type cachedStmt struct {
	query string
	stmt  driver.StmtQueryContext
	close func() error
	// busy is set while rows of the statement are open: the same query
	// asked meanwhile (within a transaction) is prepared on its own.
	busy bool
	// evicted is set once the cache forgot it: its open rows close it.
	evicted bool
}

// QueryContext runs query through its kept statement, preparing and
// keeping it the first time.
func (c *stmtCachingConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	cs, err := c.statement(ctx, query)
	if err != nil {
		return nil, err
	}
	if cs == nil || cs.busy {
		return c.sqliteConn.QueryContext(ctx, query, args)
	}
	rows, err := cs.stmt.QueryContext(ctx, args)
	if err != nil {
		return nil, err
	}
	r, ok := rows.(sqliteRows)
	if !ok {
		return rows, nil
	}
	cs.busy = true
	return &cachedRows{sqliteRows: r, stmt: cs}, nil
}

// statement returns query's kept statement, preparing it (and forgetting
// the least recently used one past stmtCacheSize) if need be; nil if the
// driver's statement cannot be kept.
func (c *stmtCachingConn) statement(ctx context.Context, query string) (*cachedStmt, error) {
	if e, ok := c.stmts[query]; ok {
		c.order.MoveToFront(e)
		return e.Value.(*cachedStmt), nil
	}
	s, err := c.PrepareContext(ctx, query)
	if err != nil {
		return nil, err
	}
	qs, ok := s.(driver.StmtQueryContext)
	if !ok {
		return nil, s.Close()
	}
	cs := &cachedStmt{query: query, stmt: qs, close: s.Close}
	c.stmts[query] = c.order.PushFront(cs)
	if c.order.Len() > stmtCacheSize {
		c.evict(c.order.Back())
	}
	return cs, nil
}

// evict forgets e's statement, closing it unless its rows are open (then
// they close it).
func (c *stmtCachingConn) evict(e *list.Element) {
	cs := c.order.Remove(e).(*cachedStmt)
	delete(c.stmts, cs.query)
	cs.evicted = true
	if !cs.busy {
		_ = cs.close()
	}
}

// Close closes the kept statements, then the connection.
func (c *stmtCachingConn) Close() error {
	for c.order.Len() > 0 {
		c.evict(c.order.Front())
	}
	return c.sqliteConn.Close()
}

// cachedRows frees its statement for the next query when closed.
type cachedRows struct {
	sqliteRows
	stmt *cachedStmt
}

func (r *cachedRows) Close() error {
	err := r.sqliteRows.Close()
	r.stmt.busy = false
	if r.stmt.evicted {
		if cerr := r.stmt.close(); err == nil {
			err = cerr
		}
	}
	return err
}
