package main

// The backup and restore commands on SQLite, as an operator runs them: the
// flags reach internal/backup, a restore under another master key is
// refused and writes nothing, an existing database is replaced only with
// --force, and neither command makes up a master key. The backups under
// load, on SQLite and PostgreSQL, are tested in internal/apitest.

import (
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/credvault/credvault/internal/apitest"
	"github.com/credvault/credvault/internal/backup"
	"github.com/credvault/credvault/internal/platform/config"
	"github.com/credvault/credvault/internal/platform/store/storetest"
	"github.com/credvault/credvault/internal/vault/crypt"
)

func TestBackupRestoreCommands(t *testing.T) {
	t.Parallel()
	master, err := crypt.GenerateMasterKey()
	if err != nil {
		t.Fatal(err)
	}
	wrong, err := crypt.GenerateMasterKey()
	if err != nil {
		t.Fatal(err)
	}
	st := storetest.Open(t, "sqlite")
	e := apitest.New(t, st, func(c *config.Config) { c.MasterKey = master.Encode() })
	r := e.Do(apitest.Request{Method: http.MethodPost, Path: "/api/v1/auth/register",
		Body: map[string]any{"tenant_name": "Backup CLI", "email": "owner@backup-cli.test", "password": "correct-horse-battery"}})
	var session struct {
		AccessToken string `json:"access_token"`
	}
	r.Data(t, &session)
	r = e.Do(apitest.Request{Method: http.MethodPost, Path: "/api/v1/credentials", Bearer: session.AccessToken,
		Body: map[string]any{"integration_id": "cli", "auth_type": "bearer_token", "data": map[string]any{"token": "cli-secret"}}})
	if r.Status != http.StatusCreated {
		t.Fatalf("store a credential: %d", r.Status)
	}

	dir := t.TempDir()
	file := filepath.Join(dir, "credvault.backup")
	common := func(key *crypt.MasterKey, dbURL string) []string {
		return []string{"--database-url", dbURL, "--master-key", key.Encode(), "--log-level", "error"}
	}
	if err := run(append([]string{"backup", "--to", file}, common(master, st.URL)...)); err != nil {
		t.Fatalf("backup: %v", err)
	}

	target := filepath.Join(dir, "restored", "credvault.db")
	err = run(append([]string{"restore", "--from", file}, common(wrong, "sqlite://"+target)...))
	if err == nil || !strings.Contains(err.Error(), "does not open 1 of 1 DEKs and 1 of 1 signing keys") {
		t.Fatalf("restore under another master key: err = %v", err)
	}
	if strings.Contains(err.Error(), wrong.Encode()) || strings.Contains(err.Error(), master.Encode()) {
		t.Fatal("the refusal shows a master key")
	}
	if _, err := os.Stat(target); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a refused restore wrote the target: %v", err)
	}
	if err := run(append([]string{"restore", "--from=" + file}, common(master, "sqlite://"+target)...)); err != nil {
		t.Fatalf("restore: %v", err)
	}
	err = run(append([]string{"restore", "--from", file}, common(master, "sqlite://"+target)...))
	if !errors.Is(err, backup.ErrTargetInUse) {
		t.Fatalf("restore over the restored database: err = %v, want ErrTargetInUse", err)
	}
	if err := run(append([]string{"restore", "--from", file, "--force"}, common(master, "sqlite://"+target)...)); err != nil {
		t.Fatalf("restore --force: %v", err)
	}

	// The database itself is neither a backup's destination nor its source.
	dbPath := strings.TrimPrefix(st.URL, "sqlite://")
	if err := run(append([]string{"backup", "--to", dbPath}, common(master, st.URL)...)); err == nil || !strings.Contains(err.Error(), "the database itself") {
		t.Errorf("backup onto the database: err = %v", err)
	}
	if err := run(append([]string{"restore", "--from", target, "--force"}, common(master, "sqlite://"+target)...)); err == nil || !strings.Contains(err.Error(), "the database itself") {
		t.Errorf("restore of the database onto itself: err = %v", err)
	}

	// No master key configured and no key file: refused, no key file made.
	keyFile := filepath.Join(dir, "master.key")
	for _, cmd := range [][]string{{"backup", "--to", filepath.Join(dir, "b2")}, {"restore", "--from", file}} {
		err := run(append(cmd, "--database-url", "sqlite://"+target, "--master-key-file", keyFile, "--log-level", "error"))
		if err == nil || !strings.Contains(err.Error(), "set CREDVAULT_MASTER_KEY") {
			t.Errorf("%s without a master key: err = %v", cmd[0], err)
		}
		if _, err := os.Stat(keyFile); !errors.Is(err, os.ErrNotExist) {
			t.Fatalf("%s made up a master key file", cmd[0])
		}
	}
	err = run(append([]string{"backup", "--to", filepath.Join(dir, "b3")}, common(master, "sqlite://"+filepath.Join(dir, "none.db"))...))
	if err == nil || !strings.Contains(err.Error(), "no database at") {
		t.Errorf("backup of a database that does not exist: err = %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "none.db")); !errors.Is(err, os.ErrNotExist) {
		t.Error("backing up a database that does not exist created it")
	}
	if err := run([]string{"backup", "--database-url", st.URL}); err == nil || !strings.Contains(err.Error(), "--to FILE is required") {
		t.Errorf("backup without --to: err = %v", err)
	}
}
