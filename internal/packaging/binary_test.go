package packaging_test

import (
	"bytes"
	"context"
	"debug/elf"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The values the test build stamps, as the Dockerfile's build arguments would.
const (
	stampVersion = "v9.8.7-test"
	stampCommit  = "0123456789abcdef0123456789abcdef01234567"
	stampDate    = "2026-12-01T12:00:00Z"
)

// stampFlags are the Dockerfile's -X flags with its build arguments.
var stampFlags = []string{
	"-X github.com/credvault/credvault/server.Version=${VERSION}",
	"-X github.com/credvault/credvault/server.Commit=${COMMIT}",
	"-X github.com/credvault/credvault/server.BuildDate=${BUILD_DATE}",
}

// moduleRoot is the folder of go.mod.
func moduleRoot(t testing.TB) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		t.Fatalf("go env GOMOD: %v", err)
	}
	return filepath.Dir(strings.TrimSpace(string(out)))
}

var (
	stampedOnce sync.Once
	stampedBin  string
	stampedErr  error
)

// stampedBinary builds the server once, as the Dockerfile does: static,
// -trimpath, and version, commit and date stamped with -ldflags -X.
func stampedBinary(t *testing.T) string {
	t.Helper()
	stampedOnce.Do(func() {
		dir, err := os.MkdirTemp("", "credvault-packaging-")
		if err != nil {
			stampedErr = err
			return
		}
		stampedBin = filepath.Join(dir, "credvault")
		r := strings.NewReplacer("${VERSION}", stampVersion, "${COMMIT}", stampCommit, "${BUILD_DATE}", stampDate)
		ldflags := "-s -w " + r.Replace(strings.Join(stampFlags, " "))
		stampedErr = goBuild(moduleRoot(t), stampedBin, "CGO_ENABLED=0", "-trimpath", "-buildvcs=false", "-ldflags", ldflags)
	})
	if stampedErr != nil {
		t.Fatal(stampedErr)
	}
	return stampedBin
}

func TestMain(m *testing.M) {
	code := m.Run()
	if stampedBin != "" {
		os.RemoveAll(filepath.Dir(stampedBin))
	}
	os.Exit(code)
}

// goBuild builds the module's main package into out; the arguments that
// hold "=" before any dash are environment variables.
func goBuild(root, out string, args ...string) error {
	env := os.Environ()
	var flags []string
	for _, a := range args {
		if !strings.HasPrefix(a, "-") && strings.Contains(a, "=") && len(flags) == 0 {
			env = append(env, a)
			continue
		}
		flags = append(flags, a)
	}
	cmd := exec.Command("go", append(append([]string{"build", "-o", out}, flags...), ".")...)
	cmd.Dir, cmd.Env = root, env
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build %s: %v\n%s", strings.Join(flags, " "), err, b)
	}
	return nil
}

// goVersion is the toolchain's version, which the binary reports.
func goVersion(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOVERSION").Output()
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(out))
}

// TestVersionCommand builds the binary with the Dockerfile's flags and
// checks that `credvault version` prints the stamped version, commit and
// date and the Go version; that the binary is static (no interpreter, no
// shared library: it runs on distroless) and holds no path of the build
// machine (-trimpath); and that the Dockerfile stamps the same variables.
func TestVersionCommand(t *testing.T) {
	t.Parallel()
	bin := stampedBinary(t)
	out, err := exec.Command(bin, "version").Output()
	if err != nil {
		t.Fatalf("credvault version: %v", err)
	}
	want := fmt.Sprintf("version: %s\ncommit:  %s\ndate:    %s\ngo:      %s %s\n", stampVersion, stampCommit, stampDate, goVersion(t), goosArch(t))
	if got := string(out); got != want {
		t.Errorf("credvault version printed\n%s\nwant\n%s", got, want)
	}

	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("the binary names a dynamic loader: it is not static")
		}
	}
	if libs, err := f.ImportedLibraries(); err != nil || len(libs) > 0 {
		t.Errorf("the binary needs shared libraries %v (%v)", libs, err)
	}
	raw, err := os.ReadFile(bin)
	if err != nil {
		t.Fatal(err)
	}
	if root := moduleRoot(t); bytes.Contains(raw, []byte(root+"/")) {
		t.Errorf("the binary holds the build folder %s: -trimpath did not apply", root)
	}

	dockerfile, err := os.ReadFile(filepath.Join(moduleRoot(t), "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range append(stampFlags, "CGO_ENABLED=0", "-trimpath") {
		if !bytes.Contains(dockerfile, []byte(want)) {
			t.Errorf("the Dockerfile's build lacks %q: the image would not be built as tested", want)
		}
	}
}

func goosArch(t *testing.T) string {
	t.Helper()
	out, err := exec.Command("go", "env", "GOOS", "GOARCH").Output()
	if err != nil {
		t.Fatal(err)
	}
	f := strings.Fields(string(out))
	return f[0] + "/" + f[1]
}

// TestVersionFromGit checks that `go build` in a git checkout, stamping
// nothing, reports the checkout's commit ("-dirty" with changes
// not committed) and its time.
func TestVersionFromGit(t *testing.T) {
	t.Parallel()
	root := moduleRoot(t)
	head, err := exec.Command("git", "-C", root, "rev-parse", "HEAD").Output()
	if err != nil {
		t.Skipf("not a git checkout (or no git): %v", err)
	}
	if fi, err := os.Stat(filepath.Join(root, ".git")); err != nil || !fi.IsDir() {
		// A git worktree's .git is a file: go build stamps no VCS
		// information there, so the binary says "dev".
		t.Skip("a git worktree: go build records a commit only where .git is a folder")
	}
	bin := filepath.Join(t.TempDir(), "credvault")
	// -buildvcs=true is go build's default; it is explicit here because
	// GOFLAGS may turn it off, as on machines where git refuses the folder.
	if err := goBuild(root, bin, "-buildvcs=true"); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "version").Output()
	if err != nil {
		t.Fatalf("credvault version: %v", err)
	}
	// What go build saw: git status again, in case the tree changed meanwhile.
	status, err := exec.Command("git", "-C", root, "status", "--porcelain").Output()
	if err != nil {
		t.Fatal(err)
	}
	commit := strings.TrimSpace(string(head))
	commitLine := regexp.MustCompile(`(?m)^commit:  ` + commit + `(-dirty)?$`).FindStringSubmatch(string(out))
	if commitLine == nil {
		t.Fatalf("credvault version printed\n%s\nwant commit %s", out, commit)
	}
	if dirty := commitLine[1] != ""; dirty != (len(status) > 0) {
		t.Errorf("commit %q, while git status lists %d bytes of changes", commitLine[0], len(status))
	}
	when, err := exec.Command("git", "-C", root, "show", "-s", "--format=%cI", "HEAD").Output()
	if err != nil {
		t.Fatal(err)
	}
	commitTime, err := time.Parse(time.RFC3339, strings.TrimSpace(string(when)))
	if err != nil {
		t.Fatal(err)
	}
	if want := "date:    " + commitTime.UTC().Format(time.RFC3339) + "\n"; !strings.Contains(string(out), want) {
		t.Errorf("credvault version printed\n%s\nwant %q", out, want)
	}
}

// process is the server binary running.
type process struct {
	cmd    *exec.Cmd
	url    string
	mu     sync.Mutex
	stderr bytes.Buffer
	done   chan struct{}
	err    error
}

// Write takes what the process writes to stderr.
func (p *process) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.Write(b)
}

// log is what the process wrote to stderr so far.
func (p *process) log() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.stderr.String()
}

// listenLine is the server's start-up line, naming its address, in the
// text (development) or JSON (production) log format.
var listenLine = regexp.MustCompile(`msg=listening addr=(\S+)|"msg":"listening","addr":"([^"]+)"`)

// start runs bin with args and env (and no other CREDVAULT_ variable),
// in a temporary working folder, until it logs its address; t's cleanup
// kills it.
func start(t *testing.T, bin string, env map[string]string, args ...string) *process {
	t.Helper()
	p := startProcess(t, bin, env, args...)
	select {
	case <-p.done:
		t.Fatalf("the server exited (%v):\n%s", p.err, p.log())
	case <-time.After(60 * time.Second):
		t.Fatalf("the server did not log its address within 60 s:\n%s", p.log())
	case <-waitFor(p):
	}
	return p
}

// startProcess runs bin without waiting for anything.
func startProcess(t *testing.T, bin string, env map[string]string, args ...string) *process {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = t.TempDir()
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CREDVAULT_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	p := &process{cmd: cmd, done: make(chan struct{})}
	cmd.Stderr = p
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.done
	})
	return p
}

// waitFor closes the returned channel once the process logs its address.
func waitFor(p *process) <-chan struct{} {
	found := make(chan struct{})
	go func() {
		for {
			if m := listenLine.FindStringSubmatch(p.log()); m != nil {
				p.url = "http://" + m[1] + m[2]
				close(found)
				return
			}
			select {
			case <-p.done:
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
	}()
	return found
}

// stop sends SIGTERM and waits for the process to exit.
func (p *process) stop(t *testing.T) error {
	t.Helper()
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case <-p.done:
		return p.err
	case <-time.After(45 * time.Second):
		t.Fatalf("the server did not exit within 45 s of SIGTERM:\n%s", p.log())
		return nil
	}
}

// getJSON GETs url and decodes the envelope's data into out, failing
// unless the status is 200.
func getJSON(t *testing.T, url string, out any) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s %s", url, resp.Status, body)
	}
	var env struct{ Data json.RawMessage }
	if err := json.Unmarshal(body, &env); err != nil {
		t.Fatalf("GET %s: %v: %s", url, err, body)
	}
	if err := json.Unmarshal(env.Data, out); err != nil {
		t.Fatalf("GET %s: %v: %s", url, err, body)
	}
}

// run runs bin with args and env and returns its exit code and stderr.
func run(t *testing.T, bin string, env []string, args ...string) (int, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = env
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	if err != nil && cmd.ProcessState == nil {
		t.Fatalf("%s %s: %v", bin, strings.Join(args, " "), err)
	}
	return cmd.ProcessState.ExitCode(), stderr.String()
}
