// Package faulttest breaks what CredVault runs on, for real: a PostgreSQL
// server the test launches itself (its own cluster, port and folder, so no
// shared server is touched) is stopped under load, and a server process is
// killed with SIGKILL in the middle of a DEK rotation. The suite runs when
// CREDVAULT_TEST_DATABASE_URL is set, as the other PostgreSQL suites do; it
// never uses that database.
package faulttest

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/credvault/credvault/internal/platform/store"
	"github.com/credvault/credvault/internal/platform/store/storetest"
)

// pgServer is a PostgreSQL cluster owned by one test, with the server's
// default durability settings (fsync and synchronous commit on).
type pgServer struct {
	t    testing.TB
	bin  string
	dir  string // holds data/, the log and the unix socket
	port int
	// cred runs the PostgreSQL programs as the postgres OS user when the
	// test runs as root, which initdb and pg_ctl refuse.
	cred *syscall.Credential
}

// startPostgres creates a cluster in a temporary folder and starts it on a
// free port; t's cleanup stops it (immediate mode) and removes the folder.
// It skips when PostgreSQL tests are not asked for, or when the server's
// binaries are not installed.
func startPostgres(t testing.TB) *pgServer {
	t.Helper()
	if !slices.Contains(storetest.Backends(), "postgres") {
		t.Skip(storetest.EnvURL + " is not set")
	}
	bin := postgresBinDir()
	if bin == "" {
		t.Skip("the PostgreSQL server binaries (initdb, pg_ctl) are not installed")
	}
	dir, err := os.MkdirTemp("", "credvault-pg-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	p := &pgServer{t: t, bin: bin, dir: dir, port: freePort(t)}
	if os.Geteuid() == 0 {
		p.cred = postgresUser(t)
		if err := os.Chown(dir, int(p.cred.Uid), int(p.cred.Gid)); err != nil {
			t.Fatal(err)
		}
	}
	p.run("initdb", "-D", p.data(), "-U", "postgres", "-A", "trust", "--no-locale", "-E", "UTF8")
	conf := fmt.Sprintf("\nport = %d\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '%s'\n", p.port, dir)
	f, err := os.OpenFile(filepath.Join(p.data(), "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(conf); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	p.Start()
	t.Cleanup(func() {
		// Already stopped by the test is fine.
		_ = p.command("pg_ctl", "stop", "-D", p.data(), "-m", "immediate", "-w").Run()
	})
	return p
}

// URL is the server's postgres database as the postgres superuser.
func (p *pgServer) URL() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", p.port)
}

// Start starts the server and waits until it accepts connections.
func (p *pgServer) Start() {
	p.t.Helper()
	p.run("pg_ctl", "start", "-D", p.data(), "-l", filepath.Join(p.dir, "postgres.log"), "-w", "-t", "60")
}

// Stop stops the server in mode (smart, fast or immediate) and waits until
// it is down.
func (p *pgServer) Stop(mode string) {
	p.t.Helper()
	p.run("pg_ctl", "stop", "-D", p.data(), "-m", mode, "-w", "-t", "60")
}

// Open opens a migrated store on the server, closed when the test ends.
func (p *pgServer) Open() *store.Store {
	p.t.Helper()
	st, err := store.Open(p.URL())
	if err != nil {
		p.t.Fatal(err)
	}
	p.t.Cleanup(func() { st.Close() })
	if err := st.Migrate(context.Background()); err != nil {
		p.t.Fatal(err)
	}
	return st
}

func (p *pgServer) data() string { return filepath.Join(p.dir, "data") }

func (p *pgServer) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(p.bin, name), args...)
	cmd.Dir = p.dir
	if p.cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: p.cred}
	}
	return cmd
}

// run runs a PostgreSQL program, failing the test with its output and the
// server's log when it fails.
func (p *pgServer) run(name string, args ...string) {
	p.t.Helper()
	out, err := p.command(name, args...).CombinedOutput()
	if err != nil {
		log, _ := os.ReadFile(filepath.Join(p.dir, "postgres.log"))
		p.t.Fatalf("%s %s: %v\n%s\nserver log:\n%s", name, strings.Join(args, " "), err, out, log)
	}
}

// postgresBinDir is where initdb and pg_ctl are: pg_config's bindir, the
// newest /usr/lib/postgresql/<ver>/bin, or the PATH; "" when none has them.
func postgresBinDir() string {
	var dirs []string
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		dirs = append(dirs, strings.TrimSpace(string(out)))
	}
	versions, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	slices.SortFunc(versions, func(a, b string) int { return versionOf(b) - versionOf(a) })
	dirs = append(dirs, versions...)
	if initdb, err := exec.LookPath("initdb"); err == nil {
		dirs = append(dirs, filepath.Dir(initdb))
	}
	for _, d := range dirs {
		if isExecutable(filepath.Join(d, "initdb")) && isExecutable(filepath.Join(d, "pg_ctl")) {
			return d
		}
	}
	return ""
}

// versionOf is the major version in /usr/lib/postgresql/<ver>/bin.
func versionOf(dir string) int {
	v, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
	return v
}

func isExecutable(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0
}

// postgresUser is the postgres OS user, which runs the cluster when the
// test runs as root.
func postgresUser(t testing.TB) *syscall.Credential {
	t.Helper()
	u, err := user.Lookup("postgres")
	if err != nil {
		t.Fatalf("running as root, and no postgres user to run PostgreSQL as: %v", err)
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		t.Fatal(err)
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		t.Fatal(err)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
}

// freePort is a TCP port nothing listens on now.
func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
