package apperr_test

// The classification of an unavailable database: each kind of error a
// driver, database/sql or the network gives when the database cannot
// serve is SERVICE_UNAVAILABLE with details.retry_after; errors that only
// look alike (a busy SQLite, a finished transaction, a constraint) are not.

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"
	"github.com/lib/pq"
	_ "modernc.org/sqlite"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/internal/platform/apperr"
	"github.com/credvault/credvault/internal/platform/store"
)

// closedPort is a local TCP address where nothing listens.
func closedPort(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

func openSQLite(t *testing.T, path, pragmas string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", "file:"+path+"?"+pragmas)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// wantUnavailable checks From's view of err: 503 SERVICE_UNAVAILABLE with
// details.retry_after, and nothing of the cause in the message.
func wantUnavailable(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		t.Fatal("no error to classify")
	}
	e := apperr.From(err)
	if e.Code != apperr.Unavailable || e.Code.Status() != http.StatusServiceUnavailable {
		t.Fatalf("From(%v) = %s (%d), want SERVICE_UNAVAILABLE (503)", err, e.Code, e.Code.Status())
	}
	if e.Details["retry_after"] != apperr.RetryAfterSeconds {
		t.Fatalf("From(%v).Details = %v, want retry_after %d", err, e.Details, apperr.RetryAfterSeconds)
	}
	if strings.Contains(e.Message, err.Error()) || strings.Contains(e.Message, "sql") {
		t.Fatalf("the message shows the cause: %q", e.Message)
	}
	if !apperr.IsUnavailable(err) {
		t.Fatalf("IsUnavailable(%v) = false", err)
	}
	if !errors.Is(e, err) && !errors.Is(e, errors.Unwrap(err)) {
		t.Fatalf("the cause is not kept for the log: %v", e)
	}
}

func TestUnavailableClosedPool(t *testing.T) {
	ctx := store.Unrestricted(context.Background())
	db := openSQLite(t, filepath.Join(t.TempDir(), "db"), "")
	client := ent.NewClient(ent.Driver(entsql.OpenDB(dialect.SQLite, db)))
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	// Through ent, as every service reads.
	_, err := client.Tenant.Query().All(ctx)
	wantUnavailable(t, err)
	_, err = client.Tx(ctx)
	wantUnavailable(t, fmt.Errorf("starting a transaction: %w", err))
	wantUnavailable(t, db.PingContext(ctx))
}

func TestUnavailableConnDone(t *testing.T) {
	ctx := context.Background()
	db := openSQLite(t, filepath.Join(t.TempDir(), "db"), "")
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	conn.Close()
	err = conn.PingContext(ctx)
	if !errors.Is(err, sql.ErrConnDone) {
		t.Fatalf("err = %v, want sql.ErrConnDone", err)
	}
	wantUnavailable(t, err)
	wantUnavailable(t, fmt.Errorf("ent: %w", driver.ErrBadConn))
}

func TestUnavailableConnectionRefused(t *testing.T) {
	addr := closedPort(t)
	_, err := net.DialTimeout("tcp", addr, 2*time.Second)
	var op *net.OpError
	if !errors.As(err, &op) || !errors.Is(err, syscall.ECONNREFUSED) {
		t.Fatalf("dial %s: %v, want a refused *net.OpError", addr, err)
	}
	wantUnavailable(t, err)
	wantUnavailable(t, fmt.Errorf("read: %w", syscall.ECONNRESET))
	wantUnavailable(t, fmt.Errorf("write: %w", syscall.EPIPE))

	// lib/pq connecting to a PostgreSQL that is not there.
	db, err := sql.Open("postgres", "postgres://u@"+addr+"/db?sslmode=disable&connect_timeout=2")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.PingContext(context.Background())
	wantUnavailable(t, err)
}

func TestUnavailablePostgresStates(t *testing.T) {
	for _, code := range []pq.ErrorCode{
		// admin_shutdown, crash_shutdown, cannot_connect_now (starting up,
		// shutting down, in recovery)
		"57P01", "57P02", "57P03",
		// connection exceptions
		"08000", "08003", "08006", "08001", "08004",
		// too_many_connections
		"53300",
	} {
		err := &pq.Error{Severity: "FATAL", Code: code, Message: "the database system is shutting down"}
		wantUnavailable(t, err)
		wantUnavailable(t, fmt.Errorf("ent: query tenants: %w", err))
	}
	for _, code := range []pq.ErrorCode{"23505", "42P01", "40001", "22P02", "57014"} {
		err := fmt.Errorf("ent: %w", &pq.Error{Severity: "ERROR", Code: code, Message: "m"})
		if e := apperr.From(err); e.Code == apperr.Unavailable {
			t.Errorf("SQLSTATE %s: From = SERVICE_UNAVAILABLE, want anything else", code)
		}
	}
}

// A busy SQLite is contention the busy timeout waited out, not an outage.
func TestSQLiteBusyIsNotUnavailable(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "db")
	holder := openSQLite(t, path, "_pragma=journal_mode(WAL)")
	if _, err := holder.Exec("CREATE TABLE t (x int)"); err != nil {
		t.Fatal(err)
	}
	tx, err := holder.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer tx.Rollback()
	if _, err := tx.Exec("INSERT INTO t VALUES (1)"); err != nil {
		t.Fatal(err)
	}
	other := openSQLite(t, path, "_pragma=busy_timeout(0)")
	_, err = other.Exec("INSERT INTO t VALUES (2)")
	if err == nil || !strings.Contains(err.Error(), "database is locked") {
		t.Fatalf("err = %v, want SQLITE_BUSY", err)
	}
	if e := apperr.From(err); e.Code != apperr.Internal {
		t.Fatalf("From(%v) = %s, want INTERNAL_ERROR", err, e.Code)
	}
	if apperr.IsUnavailable(err) {
		t.Fatal("IsUnavailable(SQLITE_BUSY) = true")
	}
}

func TestOtherErrorsAreNotUnavailable(t *testing.T) {
	for _, err := range []error{
		errors.New("boom"),
		sql.ErrTxDone,
		sql.ErrNoRows,
		fmt.Errorf("ent: %w", errors.New("database is closed for maintenance by a test")),
	} {
		if e := apperr.From(err); e.Code == apperr.Unavailable {
			t.Errorf("From(%v) = SERVICE_UNAVAILABLE", err)
		}
	}
	if _, ok := apperr.Known(nil); ok {
		t.Error("Known(nil) is known")
	}
	if apperr.IsUnavailable(nil) {
		t.Error("IsUnavailable(nil) = true")
	}
}

// Wrap keeps an unavailable database what it is: a service that wrapped a
// failed read still answers 503, not 500.
func TestWrapKeepsUnavailability(t *testing.T) {
	if e := apperr.Wrap(fmt.Errorf("audit: %w", sql.ErrConnDone)); e.Code != apperr.Unavailable || e.Details["retry_after"] == nil {
		t.Errorf("Wrap(conn done) = %s %v, want SERVICE_UNAVAILABLE with retry_after", e.Code, e.Details)
	}
	if e := apperr.Wrap(errors.New("boom")); e.Code != apperr.Internal {
		t.Errorf("Wrap(boom) = %s, want INTERNAL_ERROR", e.Code)
	}
}

func TestTimeoutCarriesRetryAfter(t *testing.T) {
	e := apperr.From(fmt.Errorf("query: %w", context.DeadlineExceeded))
	if e.Code != apperr.Unavailable || e.Details["retry_after"] != apperr.RetryAfterSeconds {
		t.Errorf("From(deadline) = %s %v, want SERVICE_UNAVAILABLE with retry_after", e.Code, e.Details)
	}
	e = apperr.ServiceUnavailable("not ready").With("database", "unavailable")
	if e.Code.Status() != http.StatusServiceUnavailable || e.Details["retry_after"] != apperr.RetryAfterSeconds {
		t.Errorf("ServiceUnavailable = %d %v", e.Code.Status(), e.Details)
	}
}
