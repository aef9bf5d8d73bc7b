// Package backup takes and restores CredVault backups: an online, consistent
// copy of the database (SQLite's VACUUM INTO, PostgreSQL's pg_dump) that is
// checked against the master key when it is taken and before it is restored.
// A backup holds only ciphertexts and DEKs wrapped by the master key: without
// that key it decrypts nothing, so the key is kept, separately, with it.
package backup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"entgo.io/ent/dialect"

	"github.com/credvault/credvault/internal/platform/store"
	"github.com/credvault/credvault/internal/vault/crypt"
)

// Summary counts the keys a backup holds, every one opened by the master
// keys it was checked with.
type Summary struct {
	// DEKs counts the tenants' data-encryption keys (destroyed ones hold no
	// key and are not counted).
	DEKs int
	// SigningKeys counts the token signing keys.
	SigningKeys int
	// Previous counts the keys that only the previous master key opens:
	// rotate-master-key rewraps them after a restore.
	Previous int
}

// KeyError is a backup some of whose keys the master keys do not open.
type KeyError struct {
	DEKs, FailedDEKs               int
	SigningKeys, FailedSigningKeys int
}

func (e *KeyError) Error() string {
	return fmt.Sprintf("backup: the master key does not open %d of %d DEKs and %d of %d signing keys: "+
		"they are sealed under another master key, and without that key the backup's credentials cannot be decrypted "+
		"(set CREDVAULT_MASTER_KEY to it; after a rotation, the old key as CREDVAULT_MASTER_KEY_PREVIOUS)",
		e.FailedDEKs, e.DEKs, e.FailedSigningKeys, e.SigningKeys)
}

// ErrTargetInUse is returned by Restore when the target database already
// holds CredVault's tables and force is not set.
var ErrTargetInUse = errors.New("backup: the target database already holds CredVault data: stop the server and restore with --force to replace it")

// format is what a backup file is.
type format int

const (
	formatSQLite   format = iota + 1 // a SQLite database file
	formatPGCustom                   // a pg_dump --format=custom archive
)

// sniff tells a backup's format by its first bytes.
func sniff(path string) (format, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, fmt.Errorf("backup: %w", err)
	}
	defer f.Close()
	head := make([]byte, 16)
	n, err := io.ReadFull(f, head)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return 0, fmt.Errorf("backup: read %s: %w", path, err)
	}
	switch head = head[:n]; {
	case string(head) == "SQLite format 3\x00":
		return formatSQLite, nil
	case strings.HasPrefix(string(head), "PGDMP"):
		return formatPGCustom, nil
	}
	return 0, fmt.Errorf("backup: %s is neither a SQLite database nor a pg_dump custom archive", path)
}

// Take writes a consistent copy of st's database to path while the server
// keeps running, then checks that masters (the master key, then the previous
// one if any) open every key in it. path is replaced only once the copy is
// complete and checked; it is readable by its owner only.
func Take(ctx context.Context, st *store.Store, path string, masters []*crypt.MasterKey) (Summary, error) {
	if len(masters) == 0 {
		return Summary{}, errors.New("backup: no master key to check the backup with")
	}
	if db, ok := strings.CutPrefix(st.URL, "sqlite://"); ok && sameFile(db, path) {
		return Summary{}, fmt.Errorf("backup: %s is the database itself: back it up to another file", path)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".partial-*")
	if err != nil {
		return Summary{}, fmt.Errorf("backup: %w", err)
	}
	tmp.Close()
	done := false
	defer func() {
		if !done {
			os.Remove(tmp.Name())
		}
	}()
	switch st.Dialect {
	case dialect.SQLite:
		err = vacuumInto(ctx, st, tmp.Name())
	case dialect.Postgres:
		err = pgDump(ctx, st.URL, tmp.Name())
	default:
		err = fmt.Errorf("backup: no backup for the %s dialect", st.Dialect)
	}
	if err != nil {
		return Summary{}, err
	}
	sum, err := Verify(ctx, tmp.Name(), masters)
	if err != nil {
		return sum, err
	}
	if err := syncFile(tmp.Name()); err != nil {
		return sum, err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return sum, fmt.Errorf("backup: %w", err)
	}
	done = true
	return sum, syncDir(filepath.Dir(path))
}

// Verify checks that masters open every DEK and signing key of the backup
// at path, without changing it: a *KeyError says how many do not.
func Verify(ctx context.Context, path string, masters []*crypt.MasterKey) (Summary, error) {
	sum, _, err := verify(ctx, path, masters)
	return sum, err
}

// verify is Verify, also returning, for a PostgreSQL backup, the schema its
// tables are in.
func verify(ctx context.Context, path string, masters []*crypt.MasterKey) (Summary, string, error) {
	f, err := sniff(path)
	if err != nil {
		return Summary{}, "", err
	}
	var schema string
	var keys []sealedKey
	switch f {
	case formatSQLite:
		keys, err = sqliteKeys(ctx, path)
	case formatPGCustom:
		schema, keys, err = dumpKeys(ctx, path)
	}
	if err != nil {
		return Summary{}, schema, err
	}
	sum, err := check(keys, masters)
	return sum, schema, err
}

// Restore puts the backup at path in place as the database at url, after
// checking that masters open every key in it. A database that already
// holds CredVault's tables is replaced only with force, and only while no
// server uses it. The backup must be of url's kind: SQLite to sqlite://,
// pg_dump to postgres://.
func Restore(ctx context.Context, url, path string, masters []*crypt.MasterKey, force bool) (Summary, error) {
	if len(masters) == 0 {
		return Summary{}, errors.New("backup: no master key to check the backup with")
	}
	f, err := sniff(path)
	if err != nil {
		return Summary{}, err
	}
	isSQLite := strings.HasPrefix(url, "sqlite://")
	isPostgres := strings.HasPrefix(url, "postgres://") || strings.HasPrefix(url, "postgresql://")
	switch {
	case f == formatSQLite && !isSQLite:
		return Summary{}, fmt.Errorf("backup: %s is a SQLite backup: restore it to a sqlite:// database URL", path)
	case f == formatPGCustom && !isPostgres:
		return Summary{}, fmt.Errorf("backup: %s is a PostgreSQL backup: restore it to a postgres:// database URL", path)
	}
	sum, schema, err := verify(ctx, path, masters)
	if err != nil {
		return sum, err
	}
	if isSQLite {
		return sum, restoreSQLite(strings.TrimPrefix(url, "sqlite://"), path, force)
	}
	return restorePostgres(ctx, url, path, schema, masters, sum, force)
}

// sameFile tells whether a and b name one existing file.
func sameFile(a, b string) bool {
	fa, err := os.Stat(a)
	if err != nil {
		return false
	}
	fb, err := os.Stat(b)
	return err == nil && os.SameFile(fa, fb)
}

func syncFile(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("backup: sync %s: %w", path, err)
	}
	return nil
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("backup: sync %s: %w", dir, err)
	}
	return nil
}
