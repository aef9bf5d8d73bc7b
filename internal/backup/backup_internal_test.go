package backup

// The parts of backup and restore that need no database: the commands'
// flags, how a PostgreSQL URL reaches the client tools (its password in the
// environment, never on the command line), and the reading of a pg_dump's
// COPY data. The backups themselves are tested end to end, on SQLite and
// PostgreSQL, in internal/apitest (backup_test.go).

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParseFlags(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		cmd     string
		args    []string
		want    Flags
		rest    []string
		wantErr string
	}{
		{cmd: "backup", args: []string{"--to", "b.db"}, want: Flags{File: "b.db"}},
		{cmd: "backup", args: []string{"--database-url", "sqlite://x.db", "-to=b.db", "--master-key=k"},
			want: Flags{File: "b.db"}, rest: []string{"--database-url", "sqlite://x.db", "--master-key=k"}},
		{cmd: "restore", args: []string{"--from", "b.db", "--force"}, want: Flags{File: "b.db", Force: true}},
		{cmd: "restore", args: []string{"--force=false", "--from=b.db"}, want: Flags{File: "b.db"}},
		{cmd: "restore", args: []string{"--from", "b.db", "--force=maybe"}, wantErr: "not a boolean"},
		{cmd: "backup", args: []string{"--from", "b.db"}, wantErr: "--to FILE is required"},
		{cmd: "backup", args: []string{"--to"}, wantErr: "needs a file"},
		{cmd: "backup", args: []string{"--to", "b.db", "--force"}, want: Flags{File: "b.db"}, rest: []string{"--force"}},
		{cmd: "restore", args: nil, wantErr: "--from FILE is required"},
		{cmd: "serve", args: nil, wantErr: "unknown command"},
	} {
		f, rest, err := ParseFlags(tc.cmd, tc.args)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%s %q: err = %v, want %q", tc.cmd, tc.args, err, tc.wantErr)
			}
			continue
		}
		if err != nil || f != tc.want || !reflect.DeepEqual(rest, tc.rest) {
			t.Errorf("%s %q = %+v, %q, %v; want %+v, %q", tc.cmd, tc.args, f, rest, err, tc.want, tc.rest)
		}
	}
}

func TestParsePGURL(t *testing.T) {
	t.Parallel()
	const password = "s3cr%t-pw"
	c, err := parsePGURL("postgres://app:s3cr%25t-pw@db.internal:5433/credvault?sslmode=require&search_path=tenant_a,public")
	if err != nil {
		t.Fatal(err)
	}
	if c.password != password {
		t.Errorf("password of %d chars, want %d", len(c.password), len(password))
	}
	if strings.Contains(c.dbname, "s3cr") {
		t.Error("the connection string for the command line holds the password")
	}
	if want := "postgres://app@db.internal:5433/credvault?sslmode=require"; c.dbname != want {
		t.Errorf("dbname %q, want %q", c.dbname, want)
	}
	if c.schema != "tenant_a" {
		t.Errorf("schema %q, want tenant_a", c.schema)
	}
	c, err = parsePGURL("postgresql://localhost/credvault")
	if err != nil || c.dbname != "postgresql://localhost/credvault" || c.password != "" || c.schema != "" {
		t.Errorf("a URL without password or schema: %+v, %v", c, err)
	}
	if _, err := parsePGURL("postgres://u:pw@[bad"); err == nil || strings.Contains(err.Error(), "pw") {
		t.Errorf("a URL that does not parse: err = %v, want one without the URL", err)
	}
}

// TestPGToolsGetThePasswordInTheEnvironment runs a stand-in pg_dump that
// records its command line and environment.
func TestPGToolsGetThePasswordInTheEnvironment(t *testing.T) {
	dir := t.TempDir()
	record := filepath.Join(dir, "record")
	script := "#!/bin/sh\nprintf '%s\\n' \"$@\" > " + record + "\nprintf 'PGPASSWORD=%s\\n' \"$PGPASSWORD\" >> " + record + "\n"
	if err := os.WriteFile(filepath.Join(dir, "pg_dump"), []byte(script), 0o700); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir)
	t.Setenv("PGPASSWORD", "")
	out := filepath.Join(dir, "out.backup")
	if err := pgDump(context.Background(), "postgres://app:pw-of-app@db:5432/cv?search_path=s1", out); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(record)
	if err != nil {
		t.Fatal(err)
	}
	args, env, _ := bytes.Cut(got, []byte("PGPASSWORD="))
	if bytes.Contains(args, []byte("pw-of-app")) {
		t.Error("the password is on pg_dump's command line")
	}
	if string(env) != "pw-of-app\n" {
		t.Errorf("PGPASSWORD of %d bytes, want the URL's password", len(env))
	}
	for _, want := range []string{"--format=custom", "--file=" + out, "--dbname=postgres://app@db:5432/cv", "--schema=s1", "--no-password"} {
		if !bytes.Contains(args, []byte(want+"\n")) {
			t.Errorf("pg_dump's arguments lack %s:\n%s", want, args)
		}
	}

	t.Setenv("PATH", t.TempDir())
	if err := pgDump(context.Background(), "postgres://db/cv", out); err == nil || !strings.Contains(err.Error(), "pg_dump is not installed") {
		t.Errorf("without pg_dump: err = %v", err)
	}
}

func TestParseCopy(t *testing.T) {
	t.Parallel()
	script := `SET search_path = '';
COPY "my schema".data_keys (id, tenant_id, version, wrapped_key, "odd""col") FROM stdin;
11111111-1111-1111-1111-111111111111	22222222-2222-2222-2222-222222222222	1	\\x00ff10	a\tb\\c\nd\101\x42
33333333-3333-3333-3333-333333333333	22222222-2222-2222-2222-222222222222	2	\N	\N
\.

COPY "my schema".signing_keys (id, sealed_private_key) FROM stdin;
\.
`
	tables, err := parseCopy(strings.NewReader(script))
	if err != nil {
		t.Fatal(err)
	}
	deks := tables["data_keys"]
	if deks == nil || deks.schema != "my schema" || len(deks.rows) != 2 {
		t.Fatalf("data_keys: %+v", deks)
	}
	if want := []string{"id", "tenant_id", "version", "wrapped_key", `odd"col`}; !reflect.DeepEqual(deks.cols, want) {
		t.Errorf("columns %q, want %q", deks.cols, want)
	}
	if got := *deks.rows[0][4]; got != "a\tb\\c\ndAB" {
		t.Errorf("unescaped %q", got)
	}
	if deks.rows[1][3] != nil {
		t.Error(`\N did not read as NULL`)
	}
	if s := tables["signing_keys"]; s == nil || len(s.rows) != 0 {
		t.Errorf("signing_keys: %+v", s)
	}
	keys, err := keysFromRows(deks, tables["signing_keys"])
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 || keys[0].version != 1 || !bytes.Equal(keys[0].sealed, []byte{0, 0xff, 0x10}) {
		t.Errorf("keys %+v: want the one DEK with a wrapped key", keys)
	}

	for name, bad := range map[string]string{
		"truncated":   "COPY public.data_keys (id) FROM stdin;\nabc\n",
		"fields":      "COPY public.data_keys (id, version) FROM stdin;\nabc\n\\.\n",
		"two schemas": "COPY a.data_keys (id) FROM stdin;\n\\.\nCOPY b.data_keys (id) FROM stdin;\n\\.\n",
	} {
		if _, err := parseCopy(strings.NewReader(bad)); err == nil {
			t.Errorf("%s: parsed", name)
		}
	}
	if _, err := decodeBytea("00ff"); err == nil {
		t.Error("a bytea without \\x decoded")
	}
}
