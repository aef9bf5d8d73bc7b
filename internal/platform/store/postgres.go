package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net/url"
	"os"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/stdlib"
)

// PostgresConfig parses a postgres:// URL into pgx's configuration. pgx
// keeps each statement prepared on its connection, so a statement costs one
// round trip and no new parse or plan.
func PostgresConfig(dsn string) (*pgx.ConnConfig, error) {
	u, err := url.Parse(dsn)
	if err != nil {
		// url's error repeats the URL, password included.
		return nil, fmt.Errorf("store: the PostgreSQL URL does not parse")
	}
	// Without an sslmode, TLS is required: pgx's default, prefer, would
	// fall back to plaintext.
	if q := u.Query(); !q.Has("sslmode") && os.Getenv("PGSSLMODE") == "" {
		q.Set("sslmode", "require")
		u.RawQuery = q.Encode()
	}
	cfg, err := pgx.ParseConfig(u.String())
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	return cfg, nil
}

// configureTypes sets conn's types up as registerTypes says.
func configureTypes(_ context.Context, conn *pgx.Conn) error {
	registerTypes(conn.TypeMap())
	return nil
}

// registerTypes makes m read timestamps in UTC, as Now writes them,
// whatever the process's local time zone, and send uuid.UUID arguments as
// the 16 bytes they are.
func registerTypes(m *pgtype.Map) {
	m.RegisterType(&pgtype.Type{
		Name: "timestamptz", OID: pgtype.TimestamptzOID, Codec: &pgtype.TimestamptzCodec{ScanLocation: time.UTC},
	})
	// pgx encodes a driver.Valuer through its Value, and uuid.UUID's is
	// its text: each id argument cost a failed binary encode, its error
	// formatted, a parse of the text and a second encode.
	m.TryWrapEncodePlanFuncs = append([]pgtype.TryWrapEncodePlanFunc{wrapUUID}, m.TryWrapEncodePlanFuncs...)
}

// wrapUUID plans a uuid.UUID argument as pgtype.UUID.
func wrapUUID(value any) (pgtype.WrappedEncodePlanNextSetter, any, bool) {
	if u, ok := value.(uuid.UUID); ok {
		return &uuidEncodePlan{}, pgtype.UUID{Bytes: u, Valid: true}, true
	}
	return nil, nil, false
}

type uuidEncodePlan struct{ next pgtype.EncodePlan }

func (p *uuidEncodePlan) SetNext(next pgtype.EncodePlan) { p.next = next }

func (p *uuidEncodePlan) Encode(value any, buf []byte) ([]byte, error) {
	return p.next.Encode(pgtype.UUID{Bytes: value.(uuid.UUID), Valid: true}, buf)
}

// OpenPostgres returns a pool of connections to the PostgreSQL database at
// dsn, configured as the store's.
func OpenPostgres(dsn string) (*sql.DB, error) {
	cfg, err := PostgresConfig(dsn)
	if err != nil {
		return nil, err
	}
	return sql.OpenDB(connector{stdlib.GetConnector(*cfg, stdlib.OptionAfterConnect(configureTypes))}), nil
}

// connector hands out connections whose FATAL errors are bad connections.
type connector struct{ driver.Connector }

func (c connector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return fatalIsBad{conn.(*stdlib.Conn)}, nil
}

// fatalIsBad reports a FATAL error, a session the server ended, as
// driver.ErrBadConn, so that database/sql runs a statement outside a
// transaction again on another connection. The server sends it when it
// terminates a session (a restart, a failover, pg_terminate_backend),
// and an idle pooled connection delivers it only to its next statement,
// which the server never ran.
type fatalIsBad struct{ *stdlib.Conn }

func (c fatalIsBad) ExecContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Result, error) {
	res, err := c.Conn.ExecContext(ctx, query, args)
	return res, badIfFatal(err)
}

func (c fatalIsBad) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	rows, err := c.Conn.QueryContext(ctx, query, args)
	return rows, badIfFatal(err)
}

func (c fatalIsBad) BeginTx(ctx context.Context, opts driver.TxOptions) (driver.Tx, error) {
	tx, err := c.Conn.BeginTx(ctx, opts)
	return tx, badIfFatal(err)
}

func badIfFatal(err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && (pgErr.Severity == "FATAL" || pgErr.Severity == "PANIC") {
		return driver.ErrBadConn
	}
	return err
}
