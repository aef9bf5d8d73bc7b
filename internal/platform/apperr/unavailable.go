package apperr

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"io"
	"log/slog"
	"net"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/credvault/credvault/internal/platform/reqinfo"
)

// RetryAfterSeconds is what a client is told to wait, in Retry-After and
// details.retry_after, when the database does not answer: about as long as
// a restarting PostgreSQL or a failover takes to accept connections again.
const RetryAfterSeconds = 5

// ServiceUnavailable returns a SERVICE_UNAVAILABLE error telling the client
// when to retry (details.retry_after, which the REST writer and the OAuth
// endpoints also send as Retry-After).
func ServiceUnavailable(message string) *Error {
	return &Error{Code: Unavailable, Message: message, Details: map[string]any{"retry_after": RetryAfterSeconds}}
}

// IsUnavailable reports whether err means the database cannot serve now,
// as From would answer it: SERVICE_UNAVAILABLE.
func IsUnavailable(err error) bool {
	e, ok := Known(err)
	return ok && e.Code == Unavailable
}

// LogUnavailable logs e at WARN when it is an unavailable database: one
// line, no stack. During an outage every request fails alike, and an ERROR
// with a stack per request would bury anything else going wrong. A 503 of
// no cause (the readiness check's own) is not logged.
func LogUnavailable(ctx context.Context, e *Error) {
	if e.Code != Unavailable || e.cause == nil {
		return
	}
	slog.WarnContext(ctx, "service unavailable", "err", e.cause,
		"request_id", reqinfo.FromContext(ctx).RequestID)
}

// databaseDown is the client's view of an unavailable database; err stays
// for the log.
func databaseDown(err error) *Error {
	e := ServiceUnavailable("the service is temporarily unavailable; try again later")
	e.cause = err
	return e
}

// unavailable reports whether err says the database cannot be reached, or
// does not take work now and will again: a refused or broken connection, a
// server shutting down, starting up or in recovery, a closed pool. A busy
// SQLite ("database is locked") is not one: it is contention, which the
// busy timeout already waited out.
func unavailable(err error) bool {
	var (
		op      *net.OpError
		pgErr   *pgconn.PgError
		connect *pgconn.ConnectError
	)
	switch {
	case err == nil:
		return false
	case errors.Is(err, sql.ErrConnDone), errors.Is(err, driver.ErrBadConn),
		errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE),
		// pgx's read of a connection the server closed.
		errors.Is(err, io.ErrUnexpectedEOF),
		// pgx failing before it sent anything, such as on a closed connection.
		pgconn.SafeToRetry(err):
		return true
	case errors.As(err, &op):
		// The database is the only peer a request's work talks to.
		return true
	case errors.As(err, &pgErr):
		// At connect too: a refused password is not an outage.
		return unavailableState(pgErr.Code)
	case errors.As(err, &connect):
		return true
	}
	// database/sql does not export the error of a closed *sql.DB.
	return strings.Contains(err.Error(), "sql: database is closed")
}

// unavailableState tells the SQLSTATEs of an unavailable PostgreSQL: class
// 08 (connection exception), admin or crash shutdown and "cannot connect
// now" (starting up, shutting down, in recovery), and too many connections.
func unavailableState(code string) bool {
	switch code {
	case "57P01", "57P02", "57P03", "53300":
		return true
	}
	return strings.HasPrefix(code, "08")
}
