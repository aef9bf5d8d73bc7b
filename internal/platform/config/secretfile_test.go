package config_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/credvault/credvault/internal/platform/config"
)

// secretFile writes content to a file of mode perm in a temporary folder.
func secretFile(t *testing.T, content string, perm os.FileMode) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "secret")
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	// Chmod after writing: the umask does not apply to it.
	if err := os.Chmod(path, perm); err != nil {
		t.Fatal(err)
	}
	return path
}

const testMasterKey = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY="

// TestSecretFiles checks that the master key (in production), the admin
// password and the database URL are read from the files their _FILE
// variables or --…-file flags name, without the trailing newline alone.
func TestSecretFiles(t *testing.T) {
	t.Parallel()
	key := secretFile(t, testMasterKey+"\n", 0o600)
	readOnlyKey := secretFile(t, testMasterKey, 0o400)
	password := secretFile(t, " a long admin password \r\n", 0o644)
	dbURL := secretFile(t, "postgres://cv:s3cret@db:5432/credvault?sslmode=disable\n\n", 0o640)
	for _, tc := range []struct {
		name                     string
		args                     []string
		vars                     map[string]string
		masterKey, pw, url, file string
	}{
		{"variables", nil, map[string]string{"CREDVAULT_ENV": "production", "CREDVAULT_MASTER_KEY_FILE": key,
			"CREDVAULT_ADMIN_EMAIL": "admin@example.com", "CREDVAULT_ADMIN_PASSWORD_FILE": password,
			"CREDVAULT_DATABASE_URL_FILE": dbURL},
			testMasterKey, " a long admin password ", "postgres://cv:s3cret@db:5432/credvault?sslmode=disable", key},
		{"flags", []string{"--env", "production", "--master-key-file", readOnlyKey, "--admin-email", "admin@example.com",
			"--admin-password-file", password, "--database-url-file=" + dbURL}, nil,
			testMasterKey, " a long admin password ", "postgres://cv:s3cret@db:5432/credvault?sslmode=disable", readOnlyKey},
		// In development the file is where a generated key is kept: the
		// server reads or creates it, not the configuration.
		{"development key file", nil, map[string]string{"CREDVAULT_MASTER_KEY_FILE": key},
			"", "", "sqlite://./data/credvault.db", key},
		{"production key from the variable", nil, map[string]string{"CREDVAULT_ENV": "production", "CREDVAULT_MASTER_KEY": testMasterKey},
			testMasterKey, "", "sqlite://./data/credvault.db", "./data/master.key"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			c := load(t, tc.args, tc.vars)
			if c.MasterKey != tc.masterKey {
				t.Errorf("MasterKey = %q, want %q", c.MasterKey, tc.masterKey)
			}
			if c.AdminPassword != tc.pw {
				t.Errorf("AdminPassword = %q, want %q", c.AdminPassword, tc.pw)
			}
			if c.DatabaseURL != tc.url {
				t.Errorf("DatabaseURL = %q, want %q", c.DatabaseURL, tc.url)
			}
			if c.MasterKeyFile != tc.file {
				t.Errorf("MasterKeyFile = %q, want %q", c.MasterKeyFile, tc.file)
			}
		})
	}
}

// TestSecretFileErrors checks that a missing, empty, oversized or
// non-regular file, a master key file group or others may access, and a
// setting given both directly and as a file each refuse to load, naming
// the variable and never the secret.
func TestSecretFileErrors(t *testing.T) {
	t.Parallel()
	const secret = "s3cret-never-shown"
	missing := filepath.Join(t.TempDir(), "missing")
	prod := func(vars map[string]string) map[string]string {
		vars["CREDVAULT_ENV"] = "production"
		return vars
	}
	for _, tc := range []struct {
		name    string
		args    []string
		vars    map[string]string
		wantErr []string
	}{
		{"missing key file", nil, prod(map[string]string{"CREDVAULT_MASTER_KEY_FILE": missing}),
			[]string{"CREDVAULT_MASTER_KEY_FILE", "no such file"}},
		{"missing password file", nil, map[string]string{"CREDVAULT_ADMIN_EMAIL": "a@example.com", "CREDVAULT_ADMIN_PASSWORD_FILE": missing},
			[]string{"CREDVAULT_ADMIN_PASSWORD_FILE", "no such file"}},
		{"missing database URL file", []string{"--database-url-file", missing}, nil,
			[]string{"CREDVAULT_DATABASE_URL_FILE", "no such file"}},
		{"key file readable by others", nil, prod(map[string]string{"CREDVAULT_MASTER_KEY_FILE": secretFile(t, secret, 0o604)}),
			[]string{"CREDVAULT_MASTER_KEY_FILE", "mode 0604"}},
		{"key file readable by the group", nil, prod(map[string]string{"CREDVAULT_MASTER_KEY_FILE": secretFile(t, secret, 0o640)}),
			[]string{"CREDVAULT_MASTER_KEY_FILE", "mode 0640"}},
		{"key file readable by all", []string{"--env=production", "--master-key-file", secretFile(t, secret, 0o644)}, nil,
			[]string{"CREDVAULT_MASTER_KEY_FILE", "mode 0644"}},
		{"key file writable by the group", nil, prod(map[string]string{"CREDVAULT_MASTER_KEY_FILE": secretFile(t, secret, 0o620)}),
			[]string{"CREDVAULT_MASTER_KEY_FILE", "mode 0620"}},
		{"empty key file", nil, prod(map[string]string{"CREDVAULT_MASTER_KEY_FILE": secretFile(t, "\n", 0o600)}),
			[]string{"CREDVAULT_MASTER_KEY_FILE", "empty"}},
		{"empty password file", nil, map[string]string{"CREDVAULT_ADMIN_EMAIL": "a@example.com", "CREDVAULT_ADMIN_PASSWORD_FILE": secretFile(t, "", 0o600)},
			[]string{"CREDVAULT_ADMIN_PASSWORD_FILE", "empty"}},
		{"oversized file", nil, map[string]string{"CREDVAULT_DATABASE_URL_FILE": secretFile(t, strings.Repeat("x", 64<<10+1), 0o600)},
			[]string{"CREDVAULT_DATABASE_URL_FILE", "larger than"}},
		{"a folder", nil, map[string]string{"CREDVAULT_DATABASE_URL_FILE": t.TempDir()},
			[]string{"CREDVAULT_DATABASE_URL_FILE", "not a regular file"}},
		{"key and key file", nil, prod(map[string]string{"CREDVAULT_MASTER_KEY": secret, "CREDVAULT_MASTER_KEY_FILE": secretFile(t, secret, 0o600)}),
			[]string{"CREDVAULT_MASTER_KEY or CREDVAULT_MASTER_KEY_FILE, not both"}},
		{"key flag and key file", []string{"--master-key", secret}, prod(map[string]string{"CREDVAULT_MASTER_KEY_FILE": secretFile(t, secret, 0o600)}),
			[]string{"CREDVAULT_MASTER_KEY or CREDVAULT_MASTER_KEY_FILE, not both"}},
		{"password and password file", nil, map[string]string{"CREDVAULT_ADMIN_EMAIL": "a@example.com",
			"CREDVAULT_ADMIN_PASSWORD": secret, "CREDVAULT_ADMIN_PASSWORD_FILE": secretFile(t, secret, 0o600)},
			[]string{"CREDVAULT_ADMIN_PASSWORD or CREDVAULT_ADMIN_PASSWORD_FILE, not both"}},
		{"password flag and password file flag", []string{"--admin-email", "a@example.com", "--admin-password", secret,
			"--admin-password-file", secretFile(t, secret, 0o600)}, nil,
			[]string{"CREDVAULT_ADMIN_PASSWORD or CREDVAULT_ADMIN_PASSWORD_FILE, not both"}},
		{"database URL and its file", nil, map[string]string{"CREDVAULT_DATABASE_URL": "postgres://u:" + secret + "@db/x",
			"CREDVAULT_DATABASE_URL_FILE": secretFile(t, secret, 0o600)},
			[]string{"CREDVAULT_DATABASE_URL or CREDVAULT_DATABASE_URL_FILE, not both"}},
		{"database URL flag and its file", []string{"--database-url", "sqlite://:memory:"},
			map[string]string{"CREDVAULT_DATABASE_URL_FILE": secretFile(t, secret, 0o600)},
			[]string{"CREDVAULT_DATABASE_URL or CREDVAULT_DATABASE_URL_FILE, not both"}},
		// The file stands for the password: the email must still go with it.
		{"password file without an email", nil, map[string]string{"CREDVAULT_ADMIN_PASSWORD_FILE": secretFile(t, secret, 0o600)},
			[]string{"CREDVAULT_ADMIN_EMAIL and CREDVAULT_ADMIN_PASSWORD go together"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, err := config.Load(tc.args, envOf(tc.vars))
			if err == nil {
				t.Fatal("Load succeeded")
			}
			for _, want := range tc.wantErr {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("err = %v, want one containing %q", err, want)
				}
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("the error repeats the secret: %v", err)
			}
		})
	}
}
