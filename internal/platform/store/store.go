// Package store opens CredVault's database, embedded SQLite or PostgreSQL,
// migrates its schema and runs transactions.
package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"entgo.io/ent/dialect"
	entsql "entgo.io/ent/dialect/sql"
	"entgo.io/ent/dialect/sql/sqlgraph"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/ent/migrate"
	"github.com/credvault/credvault/ent/privacy"
	_ "github.com/credvault/credvault/ent/runtime" // schema hooks and privacy policies
)

// Store is an open database: the ent client and the *sql.DB beneath it.
type Store struct {
	Client  *ent.Client
	DB      *sql.DB
	Dialect string
	// URL is the database URL the store was opened with.
	URL string
	// driver is what Client sends its statements through.
	driver rawDriver

	statements atomic.Uint64
}

// sqlitePragmas make SQLite safe for a server: foreign keys enforced, WAL for
// concurrent readers, a busy timeout instead of immediate SQLITE_BUSY,
// deleted content overwritten (no secret lingers in free pages), temporary
// files — a write group's statement journals — in memory (on disk they cost
// a third of a stored credential's time, and held its pages), and write
// transactions that take the write lock up front so they never deadlock.
const sqlitePragmas = "_pragma=foreign_keys(1)&_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=synchronous(NORMAL)&_pragma=secure_delete(1)&_pragma=temp_store(MEMORY)&_txlock=immediate"

// Open connects to url: sqlite://PATH, sqlite://:memory: or postgres://….
func Open(url string) (*Store, error) {
	dsn, dia, err := parseURL(url)
	if err != nil {
		return nil, err
	}
	var db *sql.DB
	if dia == dialect.Postgres {
		db, err = OpenPostgres(dsn)
	} else {
		var c driver.Connector
		if c, err = newSQLiteConnector(dsn); err == nil {
			db = sql.OpenDB(c)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", dia, err)
	}
	switch {
	case dia == dialect.SQLite && strings.Contains(dsn, ":memory:"):
		// Every connection to :memory: is a database of its own: keep one.
		db.SetMaxOpenConns(1)
	case dia == dialect.SQLite:
		db.SetMaxOpenConns(8)
		db.SetMaxIdleConns(8)
	default:
		// As many kept idle as may be open: a connection closed for being
		// one idle too many is a PostgreSQL backend to start again (and its
		// cached statements to prepare again) under the next burst; idle
		// ones still go after 5 minutes.
		db.SetMaxOpenConns(25)
		db.SetMaxIdleConns(25)
		db.SetConnMaxIdleTime(5 * time.Minute)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: connect to %s: %w", dia, err)
	}
	st := &Store{DB: db, Dialect: dia, URL: url, driver: entsql.OpenDB(dia, db)}
	if dia == dialect.SQLite && !strings.Contains(dsn, ":memory:") {
		st.driver = newWriteGroup(entsql.OpenDB(dia, db), &st.statements)
	}
	st.Client = ent.NewClient(ent.Driver(&countingDriver{rawDriver: st.driver, n: &st.statements}))
	return st, nil
}

func parseURL(url string) (dsn, dia string, err error) {
	switch {
	case strings.HasPrefix(url, "sqlite://"):
		path := strings.TrimPrefix(url, "sqlite://")
		if path == "" {
			//lint:ignore ST1005 the message ends with the value it names
			return "", "", errors.New("store: sqlite:// needs a path or :memory:")
		}
		if path == ":memory:" {
			return "file::memory:?" + sqlitePragmas, dialect.SQLite, nil
		}
		if dir := filepath.Dir(path); dir != "." {
			if err := os.MkdirAll(dir, 0o700); err != nil {
				return "", "", fmt.Errorf("store: create %s: %w", dir, err)
			}
		}
		// The file holds hashes and ciphertexts: only its owner reads it.
		// SQLite gives its -wal and -shm files the same mode.
		f, err := os.OpenFile(path, os.O_CREATE|os.O_RDONLY, 0o600)
		if err != nil {
			return "", "", fmt.Errorf("store: create %s: %w", path, err)
		}
		f.Close()
		return "file:" + path + "?" + sqlitePragmas, dialect.SQLite, nil
	case strings.HasPrefix(url, "postgres://"), strings.HasPrefix(url, "postgresql://"):
		return url, dialect.Postgres, nil
	}
	return "", "", errors.New("store: database URL must start with sqlite:// or postgres://")
}

// Driver is the ent driver beneath Client, for a client that wraps it.
func (s *Store) Driver() dialect.Driver { return s.driver }

// Close closes the database.
func (s *Store) Close() error { return s.Client.Close() }

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error { return s.DB.PingContext(ctx) }

// migrationLock is the PostgreSQL advisory lock that serialises migrations of
// several instances starting at once.
const migrationLock = 0x43564d47 // "CVMG"

// migrating serialises migrations within the process: ent's migration
// writes package-level table descriptions.
var migrating sync.Mutex

// Migrate creates or updates the schema. It is safe to run on an empty or an
// already-migrated database, and from several instances at once.
func (s *Store) Migrate(ctx context.Context) error {
	migrating.Lock()
	defer migrating.Unlock()
	if s.Dialect == dialect.Postgres {
		conn, err := s.DB.Conn(ctx)
		if err != nil {
			return fmt.Errorf("store: migrate: %w", err)
		}
		defer conn.Close()
		if _, err := conn.ExecContext(ctx, "SELECT pg_advisory_lock($1)", migrationLock); err != nil {
			return fmt.Errorf("store: migrate: lock: %w", err)
		}
		defer conn.ExecContext(context.WithoutCancel(ctx), "SELECT pg_advisory_unlock($1)", migrationLock) //nolint:errcheck // the lock also ends with the session
	}
	// Indexes the schema no longer declares are dropped: a list index that
	// was replaced would otherwise cost every write and help no read.
	if err := s.Client.Schema.Create(ctx, migrate.WithDropIndex(true)); err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	if s.Dialect == dialect.Postgres {
		// Room in each page for a row's next version: a DEK rotation's
		// re-seal then updates credentials in place (a HOT update, no
		// index entry), ent having no portable way to say so. Set once:
		// each ALTER rewrites the table's catalog row.
		var set bool
		if err := s.DB.QueryRowContext(ctx, "SELECT 'fillfactor=50' = ANY(COALESCE(reloptions, '{}')) FROM pg_class WHERE oid = 'credentials'::regclass").
			Scan(&set); err != nil {
			return fmt.Errorf("store: migrate: credentials fillfactor: %w", err)
		}
		if !set {
			if _, err := s.DB.ExecContext(ctx, "ALTER TABLE credentials SET (fillfactor = 50)"); err != nil {
				return fmt.Errorf("store: migrate: credentials fillfactor: %w", err)
			}
		}
	}
	return nil
}

// Now is the time to store: UTC in microseconds, as PostgreSQL keeps it, so
// a value reads back the same on both databases.
func Now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// Text is s as a text column holds it, for text the server did not check
// as input (a client's header, an error): UTF-8, which PostgreSQL requires
// (refusing the statement, and its transaction, otherwise), with invalid
// bytes replaced by U+FFFD, and at most n bytes, cut at a character's start.
func Text(s string, n int) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// ForUpdate, among a query's predicates, holds the rows it reads until the
// transaction ends (FOR NO KEY UPDATE on PostgreSQL, which inserts that
// reference them by foreign key do not wait on; SQLite runs one writer at a
// time): a change merging fields into a row it read — a PATCH of some of
// them — then waits for a concurrent one and reads its result, instead of
// writing back the fields that one changed as they were.
func ForUpdate(s *entsql.Selector) {
	if s.Dialect() == dialect.Postgres {
		s.For(entsql.LockNoKeyUpdate)
	}
}

// Unrestricted marks ctx as crossing tenants on purpose: tenant policies are
// skipped. Only bootstrap, operator commands, credential look-ups by secret
// hash and background jobs use it.
func Unrestricted(ctx context.Context) context.Context {
	return privacy.DecisionContext(ctx, privacy.Allow)
}

// WithTx runs fn in a transaction on client, committing when fn returns nil
// and rolling back otherwise. fn's context carries the transaction, so a
// nested WithTx joins it and commit hooks can be added to it.
func WithTx(ctx context.Context, client *ent.Client, fn func(ctx context.Context, tx *ent.Client) error) (err error) {
	if tx := ent.TxFromContext(ctx); tx != nil {
		return fn(ctx, tx.Client())
	}
	tx, err := client.Tx(ctx)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	ctx = ent.NewTxContext(ctx, tx)
	defer func() {
		if v := recover(); v != nil {
			_ = tx.Rollback()
			panic(v)
		}
	}()
	if err := fn(ctx, tx.Client()); err != nil {
		if rerr := tx.Rollback(); rerr != nil {
			return errors.Join(err, rerr)
		}
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	return nil
}

// RetryTaken runs fn again, up to attempts runs in all, while it fails on
// a uniqueness constraint: a concurrent transaction committed the row fn
// found free (a tenant's slug, its one SSO configuration, a user's e-mail),
// and fn's next run, in a transaction of its own, finds it. Not for fn
// running inside a caller's transaction, which the failure aborted.
func RetryTaken(attempts int, fn func() error) error {
	for n := 1; ; n++ {
		err := fn()
		if err == nil || n >= attempts || !sqlgraph.IsUniqueConstraintError(err) {
			return err
		}
	}
}

// Write runs fn in a transaction, as WithTx, and returns its entity ready
// to be read after the commit (see Detach).
func Write[T interface{ Unwrap() T }](ctx context.Context, client *ent.Client, fn func(ctx context.Context, tx *ent.Client) (T, error)) (T, error) {
	var v T
	err := WithTx(ctx, client, func(ctx context.Context, tx *ent.Client) error {
		var err error
		v, err = fn(ctx, tx)
		return err
	})
	if err != nil {
		var zero T
		return zero, err
	}
	return Detach(ctx, v), nil
}

// Detach rebinds v, saved or loaded in a transaction that has committed, to
// the client's own driver, so that a mutation's payload resolves its edges
// after the commit. ctx is the caller's, from before the transaction: when
// it carries one, the caller only joined it and v stays bound to it.
func Detach[T interface{ Unwrap() T }](ctx context.Context, v T) T {
	if ent.TxFromContext(ctx) != nil {
		return v
	}
	return v.Unwrap()
}
