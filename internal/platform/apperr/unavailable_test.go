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
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"
	"github.com/jackc/pgx/v5/pgconn"
	_ "modernc.org/sqlite"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/internal/platform/apperr"
	"github.com/credvault/credvault/internal/platform/store"
	"github.com/credvault/credvault/internal/platform/store/storetest"
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

	// The store's driver connecting to a PostgreSQL that is not there.
	db, err := store.OpenPostgres("postgres://u@" + addr + "/db?sslmode=disable&connect_timeout=2")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.PingContext(context.Background())
	wantUnavailable(t, err)
}

func TestUnavailablePostgresStates(t *testing.T) {
	for _, code := range []string{
		// admin_shutdown, crash_shutdown, cannot_connect_now (starting up,
		// shutting down, in recovery)
		"57P01", "57P02", "57P03",
		// connection exceptions
		"08000", "08003", "08006", "08001", "08004",
		// too_many_connections
		"53300",
	} {
		err := &pgconn.PgError{Severity: "FATAL", Code: code, Message: "the database system is shutting down"}
		wantUnavailable(t, err)
		wantUnavailable(t, fmt.Errorf("ent: query tenants: %w", err))
	}
	for _, code := range []string{"23505", "42P01", "40001", "22P02", "57014"} {
		err := fmt.Errorf("ent: %w", &pgconn.PgError{Severity: "ERROR", Code: code, Message: "m"})
		if e := apperr.From(err); e.Code == apperr.Unavailable {
			t.Errorf("SQLSTATE %s: From = SERVICE_UNAVAILABLE, want anything else", code)
		}
	}
}

// A connection cut under the store's driver, as a crashed server or a
// failover leaves it, fails the transaction using it as unavailable; a role
// the server refuses at connect is no outage.
func TestUnavailableCutConnection(t *testing.T) {
	base := os.Getenv(storetest.EnvURL)
	if base == "" {
		t.Skip(storetest.EnvURL + " is not set")
	}
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	// A proxy to the server which, once cut, closes a connection on its
	// next request: the statement is sent and no answer ever comes.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var cut atomic.Bool
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", u.Host)
			if err != nil {
				c.Close()
				continue
			}
			go io.Copy(c, s) //nolint:errcheck // ends when cut
			go func() {
				defer c.Close()
				defer s.Close()
				buf := make([]byte, 32<<10)
				for {
					n, err := c.Read(buf)
					if err != nil || cut.Load() {
						return
					}
					if _, err := s.Write(buf[:n]); err != nil {
						return
					}
				}
			}()
		}
	}()
	proxied := *u
	proxied.Host = ln.Addr().String()
	db, err := store.OpenPostgres(proxied.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ctx := context.Background()
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tx.ExecContext(ctx, "SELECT $1::int", 1); err != nil {
		t.Fatal(err)
	}
	cut.Store(true)
	_, err = tx.ExecContext(ctx, "SELECT $1::int", 2)
	wantUnavailable(t, err)
	// The connection is gone: the commit is never sent.
	wantUnavailable(t, tx.Commit())

	refused := *u
	refused.User = url.User("credvault_no_such_role")
	other, err := store.OpenPostgres(refused.String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Close() })
	err = other.PingContext(ctx)
	if err == nil {
		t.Fatal("a role that does not exist connected")
	}
	if e := apperr.From(err); e.Code != apperr.Internal {
		t.Errorf("From(%v) = %s, want INTERNAL_ERROR", err, e.Code)
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
