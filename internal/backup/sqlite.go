package backup

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/credvault/credvault/internal/platform/store"
)

// vacuumInto copies st's SQLite database to path, which must be empty, in
// one read transaction: a consistent snapshot, even in WAL mode and while
// the server writes (a copy of the file would miss what is still in the WAL).
func vacuumInto(ctx context.Context, st *store.Store, path string) error {
	if _, err := st.DB.ExecContext(ctx, "VACUUM INTO ?", path); err != nil {
		return fmt.Errorf("backup: VACUUM INTO: %w", err)
	}
	return nil
}

// sqliteURI is the read-only URI of the SQLite file at path: immutable, so
// that reading it creates no -wal or -shm file beside it and takes no lock.
func sqliteURI(path string) string {
	return "file:" + strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path) + "?mode=ro&immutable=1"
}

// sqliteKeys checks the integrity of the SQLite backup at path and reads
// its sealed keys.
func sqliteKeys(ctx context.Context, path string) ([]sealedKey, error) {
	db, err := sql.Open("sqlite", sqliteURI(path))
	if err != nil {
		return nil, fmt.Errorf("backup: open %s: %w", path, err)
	}
	defer db.Close()
	var ok string
	if err := db.QueryRowContext(ctx, "PRAGMA quick_check").Scan(&ok); err != nil {
		return nil, fmt.Errorf("backup: check %s: %w", path, err)
	}
	if ok != "ok" {
		return nil, fmt.Errorf("backup: %s is damaged: %s", path, ok)
	}
	var tables int
	if err := db.QueryRowContext(ctx, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN ('data_keys', 'signing_keys')").Scan(&tables); err != nil {
		return nil, fmt.Errorf("backup: read %s: %w", path, err)
	}
	if tables != 2 {
		return nil, fmt.Errorf("backup: %s is not a CredVault database", path)
	}
	return readKeys(ctx, db)
}

// restoreSQLite copies the backup at from to the database file at path. An
// existing database is replaced only with force; its WAL goes with it, or
// SQLite would replay the old database's pages onto the restored one.
func restoreSQLite(path, from string, force bool) error {
	if path == ":memory:" {
		//lint:ignore ST1005 the message ends with the URL it names
		return errors.New("backup: cannot restore into sqlite://:memory:")
	}
	if sameFile(path, from) {
		return fmt.Errorf("backup: %s is the database itself", from)
	}
	inUse, err := sqliteInUse(path)
	if err != nil {
		return err
	}
	if inUse && !force {
		return ErrTargetInUse
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("backup: create %s: %w", dir, err)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".restore-*")
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	done := false
	defer func() {
		if !done {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	src, err := os.Open(from)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	defer src.Close()
	if _, err := io.Copy(tmp, src); err != nil {
		return fmt.Errorf("backup: copy %s: %w", from, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("backup: sync: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	for _, side := range []string{path + "-wal", path + "-shm"} {
		if err := os.Remove(side); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("backup: %w", err)
		}
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	done = true
	return syncDir(dir)
}

// sqliteInUse tells whether path holds a database: a non-empty file or WAL
// (a new database in WAL mode may have its pages in the WAL only).
func sqliteInUse(path string) (bool, error) {
	for _, p := range []string{path, path + "-wal"} {
		fi, err := os.Stat(p)
		switch {
		case errors.Is(err, fs.ErrNotExist):
		case err != nil:
			return false, fmt.Errorf("backup: %w", err)
		case fi.Size() > 0:
			return true, nil
		}
	}
	return false, nil
}
