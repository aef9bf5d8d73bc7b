package backup

import (
	"bufio"
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"strings"

	"github.com/credvault/credvault/internal/platform/store"
	"github.com/credvault/credvault/internal/vault/crypt"
)

// pgConn is how the PostgreSQL client tools reach the database of a
// postgres:// URL: the URL without its password (the command line is
// visible to every user of the machine) and without its search_path (a
// run-time parameter to the store's driver, which libpq refuses); the
// password goes in the environment.
type pgConn struct {
	dbname   string
	password string
	// schema is the first schema of the URL's search_path, or "".
	schema string
}

func parsePGURL(raw string) (pgConn, error) {
	u, err := url.Parse(raw)
	if err != nil {
		// url's error repeats the URL, password included.
		return pgConn{}, errors.New("backup: the database URL does not parse")
	}
	var c pgConn
	if u.User != nil {
		c.password, _ = u.User.Password()
		u.User = url.User(u.User.Username())
	}
	q := u.Query()
	if sp := q.Get("search_path"); sp != "" {
		first, _, _ := strings.Cut(sp, ",")
		c.schema = strings.Trim(strings.TrimSpace(first), `"`)
		q.Del("search_path")
	}
	u.RawQuery = q.Encode()
	c.dbname = u.String()
	return c, nil
}

// run runs a PostgreSQL client tool with c's password in its environment
// and returns its standard output; its standard error is the error's text.
func (c pgConn) run(ctx context.Context, tool string, args ...string) ([]byte, error) {
	bin, err := exec.LookPath(tool)
	if err != nil {
		return nil, fmt.Errorf("backup: %s is not installed: install the PostgreSQL client tools (Debian: apt-get install postgresql-client) of the server's major version or newer", tool)
	}
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = os.Environ()
	if c.password != "" {
		cmd.Env = append(cmd.Env, "PGPASSWORD="+c.password)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(stderr.String())
		if msg == "" {
			msg = err.Error()
		}
		return nil, fmt.Errorf("backup: %s: %s", tool, msg)
	}
	return stdout.Bytes(), nil
}

// pgDump writes a pg_dump custom archive of the database at dbURL to path:
// one snapshot, taken while the server writes. A URL selecting a schema by
// search_path dumps that schema only.
func pgDump(ctx context.Context, dbURL, path string) error {
	c, err := parsePGURL(dbURL)
	if err != nil {
		return err
	}
	args := []string{"--format=custom", "--no-password", "--file=" + path, "--dbname=" + c.dbname}
	if c.schema != "" {
		args = append(args, "--schema="+c.schema)
	}
	_, err = c.run(ctx, "pg_dump", args...)
	return err
}

// dumpKeys reads the sealed keys of the pg_dump archive at path, and the
// schema its tables are in, without a database: pg_restore writes the two
// tables' data as SQL, which is parsed.
func dumpKeys(ctx context.Context, path string) (string, []sealedKey, error) {
	out, err := pgConn{}.run(ctx, "pg_restore", "--data-only", "--table=data_keys", "--table=signing_keys", "--file=-", path)
	if err != nil {
		return "", nil, err
	}
	tables, err := parseCopy(bytes.NewReader(out))
	if err != nil {
		return "", nil, err
	}
	deks, signing := tables["data_keys"], tables["signing_keys"]
	if deks == nil || signing == nil {
		return "", nil, fmt.Errorf("backup: %s is not a CredVault backup (it has no data_keys or signing_keys table)", path)
	}
	if deks.schema != signing.schema {
		return "", nil, fmt.Errorf("backup: %s holds data_keys in schema %s and signing_keys in %s", path, deks.schema, signing.schema)
	}
	keys, err := keysFromRows(deks, signing)
	return deks.schema, keys, err
}

// restorePostgres restores the archive at path, whose tables are in schema,
// into the database at dbURL in one transaction, then checks the keys
// again, now read from the database.
func restorePostgres(ctx context.Context, dbURL, path, schema string, masters []*crypt.MasterKey, sum Summary, force bool) (Summary, error) {
	c, err := parsePGURL(dbURL)
	if err != nil {
		return sum, err
	}
	target := c.schema
	if target == "" {
		target = "public"
	}
	if schema != target {
		return sum, fmt.Errorf("backup: %s holds schema %s, but the database URL selects %s: restore to a URL whose search_path is %s", path, schema, target, schema)
	}
	db, err := store.OpenPostgres(dbURL)
	if err != nil {
		return sum, fmt.Errorf("backup: %w", err)
	}
	defer db.Close()
	var inUse bool
	if err := db.QueryRowContext(ctx, "SELECT to_regclass($1) IS NOT NULL", target+".data_keys").Scan(&inUse); err != nil {
		return sum, fmt.Errorf("backup: connect to the target database: %w", err)
	}
	if inUse && !force {
		return sum, ErrTargetInUse
	}
	if _, err := c.run(ctx, "pg_restore", "--clean", "--if-exists", "--no-owner", "--no-privileges",
		"--single-transaction", "--exit-on-error", "--no-password", "--dbname="+c.dbname, path); err != nil {
		return sum, err
	}
	keys, err := readKeys(ctx, db)
	if err != nil {
		return sum, err
	}
	after, err := check(keys, masters)
	if err != nil {
		return after, err
	}
	if after != sum {
		return after, fmt.Errorf("backup: the restored database holds %d DEKs and %d signing keys, the backup %d and %d",
			after.DEKs, after.SigningKeys, sum.DEKs, sum.SigningKeys)
	}
	return after, nil
}

// copyTable is one table's COPY data in pg_restore's SQL output.
type copyTable struct {
	schema string
	cols   []string
	// rows hold each row's fields as text, nil for NULL.
	rows [][]*string
}

// columns returns the positions of the named columns.
func (t *copyTable) columns(names ...string) ([]int, error) {
	idx := make([]int, len(names))
	for i, n := range names {
		idx[i] = -1
		for j, c := range t.cols {
			if c == n {
				idx[i] = j
			}
		}
		if idx[i] < 0 {
			return nil, fmt.Errorf("backup: the backup's table has no column %s", n)
		}
	}
	return idx, nil
}

// parseCopy reads the COPY ... FROM stdin blocks of a SQL script, by table
// name (without its schema).
func parseCopy(r io.Reader) (map[string]*copyTable, error) {
	tables := map[string]*copyTable{}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 64<<20)
	var cur *copyTable
	for sc.Scan() {
		line := sc.Text()
		if cur == nil {
			if !strings.HasPrefix(line, "COPY ") || !strings.HasSuffix(line, " FROM stdin;") {
				continue
			}
			name, cols, ok := strings.Cut(strings.TrimSuffix(strings.TrimPrefix(line, "COPY "), " FROM stdin;"), " (")
			if !ok || !strings.HasSuffix(cols, ")") {
				return nil, fmt.Errorf("backup: unexpected COPY statement %q", line)
			}
			schema, table := splitQualified(name)
			if prev := tables[table]; prev != nil {
				return nil, fmt.Errorf("backup: the archive holds table %s in two schemas, %s and %s", table, prev.schema, schema)
			}
			cur = &copyTable{schema: schema}
			for c := range strings.SplitSeq(strings.TrimSuffix(cols, ")"), ", ") {
				cur.cols = append(cur.cols, unquoteIdent(c))
			}
			tables[table] = cur
			continue
		}
		if line == `\.` {
			cur = nil
			continue
		}
		fields := strings.Split(line, "\t")
		if len(fields) != len(cur.cols) {
			return nil, fmt.Errorf("backup: a COPY row has %d fields for %d columns", len(fields), len(cur.cols))
		}
		row := make([]*string, len(fields))
		for i, f := range fields {
			if f == `\N` {
				continue
			}
			v := unescapeCopy(f)
			row[i] = &v
		}
		cur.rows = append(cur.rows, row)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("backup: read the archive: %w", err)
	}
	if cur != nil {
		return nil, errors.New("backup: the archive's COPY data ends early")
	}
	return tables, nil
}

// splitQualified splits schema.table, each part possibly double-quoted.
func splitQualified(name string) (schema, table string) {
	inQuote := false
	for i, r := range name {
		switch {
		case r == '"':
			inQuote = !inQuote
		case r == '.' && !inQuote:
			return unquoteIdent(name[:i]), unquoteIdent(name[i+1:])
		}
	}
	return "", unquoteIdent(name)
}

func unquoteIdent(s string) string {
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		return strings.ReplaceAll(s[1:len(s)-1], `""`, `"`)
	}
	return s
}

// unescapeCopy decodes a field of COPY's text format: backslash escapes
// of control characters, octal and hex bytes, and the backslash itself.
func unescapeCopy(f string) string {
	if !strings.Contains(f, `\`) {
		return f
	}
	var b strings.Builder
	for i := 0; i < len(f); i++ {
		if f[i] != '\\' || i+1 == len(f) {
			b.WriteByte(f[i])
			continue
		}
		i++
		switch c := f[i]; c {
		case 'b':
			b.WriteByte('\b')
		case 'f':
			b.WriteByte('\f')
		case 'n':
			b.WriteByte('\n')
		case 'r':
			b.WriteByte('\r')
		case 't':
			b.WriteByte('\t')
		case 'v':
			b.WriteByte('\v')
		case 'x':
			n, v := 0, byte(0)
			for n < 2 && i+1 < len(f) && isHex(f[i+1]) {
				i++
				v = v<<4 | hexVal(f[i])
				n++
			}
			if n == 0 {
				b.WriteByte('x')
				continue
			}
			b.WriteByte(v)
		case '0', '1', '2', '3', '4', '5', '6', '7':
			v := c - '0'
			for n := 1; n < 3 && i+1 < len(f) && f[i+1] >= '0' && f[i+1] <= '7'; n++ {
				i++
				v = v<<3 | (f[i] - '0')
			}
			b.WriteByte(v)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func hexVal(c byte) byte {
	switch {
	case c >= 'a':
		return c - 'a' + 10
	case c >= 'A':
		return c - 'A' + 10
	}
	return c - '0'
}

// decodeBytea decodes bytea's hex output format, \x followed by hex digits.
func decodeBytea(s string) ([]byte, error) {
	h, ok := strings.CutPrefix(s, `\x`)
	if !ok {
		return nil, errors.New("not a bytea in hex format")
	}
	return hex.DecodeString(h)
}
