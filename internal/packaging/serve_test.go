package packaging_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/credvault/credvault/internal/platform/store/storetest"
	"github.com/credvault/credvault/internal/vault/crypt"
)

// TestBuildInfoServed runs the stamped binary on each database and checks
// that /health, /api/v1/health, GraphQL's health and the
// credvault_build_info gauge of /metrics name the stamped version and
// commit; that `credvault healthcheck` passes against it, by variable and
// by flag; and that on SIGTERM it exits 0, after which the check fails.
func TestBuildInfoServed(t *testing.T) {
	t.Parallel()
	bin := stampedBinary(t)
	for _, backend := range storetest.Backends() {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			p := start(t, bin, map[string]string{"CREDVAULT_ADDR": "127.0.0.1:0",
				"CREDVAULT_DATABASE_URL": storetest.URL(t, backend)}, "serve")

			type build struct{ Version, Commit string }
			for _, path := range []string{"/health", "/api/v1/health"} {
				var got build
				getJSON(t, p.url+path, &got)
				if got != (build{stampVersion, stampCommit}) {
					t.Errorf("GET %s: version %q, commit %q; want %q, %q", path, got.Version, got.Commit, stampVersion, stampCommit)
				}
			}
			resp, err := http.Post(p.url+"/graphql", "application/json", strings.NewReader(`{"query":"{ health { version commit } }"}`))
			if err != nil {
				t.Fatal(err)
			}
			var gql struct{ Data struct{ Health build } }
			err = json.NewDecoder(resp.Body).Decode(&gql)
			resp.Body.Close()
			if err != nil || gql.Data.Health != (build{stampVersion, stampCommit}) {
				t.Errorf("GraphQL health: %+v (%v), want version %q and commit %q", gql.Data.Health, err, stampVersion, stampCommit)
			}

			resp, err = http.Get(p.url + "/metrics")
			if err != nil {
				t.Fatal(err)
			}
			metrics, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			want := `credvault_build_info{commit="` + stampCommit + `",goversion="` + goVersion(t) + `",version="` + stampVersion + `"} 1`
			if !bytes.Contains(metrics, []byte(want+"\n")) {
				t.Errorf("/metrics lacks %s; it has:\n%s", want, regexp.MustCompile(`(?m)^credvault_build_info.*$`).Find(metrics))
			}

			port := p.url[strings.LastIndex(p.url, ":")+1:]
			env := append(os.Environ(), "CREDVAULT_ADDR=:"+port)
			if code, stderr := run(t, bin, env, "healthcheck"); code != 0 {
				t.Errorf("healthcheck with CREDVAULT_ADDR=:%s: exit %d: %s", port, code, stderr)
			}
			if code, stderr := run(t, bin, os.Environ(), "healthcheck", "--addr", "127.0.0.1:"+port); code != 0 {
				t.Errorf("healthcheck --addr 127.0.0.1:%s: exit %d: %s", port, code, stderr)
			}

			if err := p.stop(t); err != nil {
				t.Errorf("after SIGTERM the server exited with %v:\n%s", err, p.log())
			}
			if code, stderr := run(t, bin, env, "healthcheck"); code != 1 || !strings.Contains(stderr, "connection refused") {
				t.Errorf("healthcheck of a stopped server: exit %d, %q; want 1 and connection refused", code, stderr)
			}
		})
	}
}

// TestSecretsFromFiles runs the binary in production on each database with
// the master key, the admin password and the database URL given as files
// only, and checks that the admin signs in with the password from the file
// and that none of the three is in the process's command line or
// environment; then that a master key file group or others may read, and
// a key given both ways, stop it at start-up with exit 1 and an error
// naming the variable, never the key.
func TestSecretsFromFiles(t *testing.T) {
	t.Parallel()
	bin := stampedBinary(t)
	for _, backend := range storetest.Backends() {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			key, err := crypt.GenerateMasterKey()
			if err != nil {
				t.Fatal(err)
			}
			const password = "a long admin password from a file"
			dbURL := storetest.URL(t, backend)
			write := func(name, content string, perm os.FileMode) string {
				path := filepath.Join(dir, name)
				if err := os.WriteFile(path, []byte(content), perm); err != nil {
					t.Fatal(err)
				}
				if err := os.Chmod(path, perm); err != nil {
					t.Fatal(err)
				}
				return path
			}
			keyFile := write("master.key", key.Encode()+"\n", 0o400)
			env := map[string]string{
				"CREDVAULT_ENV":                 "production",
				"CREDVAULT_ADDR":                "127.0.0.1:0",
				"CREDVAULT_MASTER_KEY_FILE":     keyFile,
				"CREDVAULT_ADMIN_EMAIL":         "admin@example.com",
				"CREDVAULT_ADMIN_PASSWORD_FILE": write("admin-password", password+"\n", 0o600),
				"CREDVAULT_DATABASE_URL_FILE":   write("database-url", dbURL+"\n", 0o600),
			}
			p := start(t, bin, env, "serve")
			login, _ := json.Marshal(map[string]string{"email": "admin@example.com", "password": password, "tenant": "platform"})
			resp, err := http.Post(p.url+"/api/v1/auth/login", "application/json", bytes.NewReader(login))
			if err != nil {
				t.Fatal(err)
			}
			var session struct {
				Data struct {
					AccessToken string `json:"access_token"`
				}
			}
			err = json.NewDecoder(resp.Body).Decode(&session)
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || err != nil || session.Data.AccessToken == "" {
				t.Errorf("admin login with the password from the file: %s (%v)", resp.Status, err)
			}
			for _, f := range []string{"cmdline", "environ"} {
				raw, err := os.ReadFile(filepath.Join("/proc", strconv.Itoa(p.cmd.Process.Pid), f))
				if err != nil {
					t.Fatal(err)
				}
				for name, secret := range map[string]string{"master key": key.Encode(), "password": password, "database URL": dbURL} {
					if bytes.Contains(raw, []byte(secret)) {
						t.Errorf("the %s is in the process's %s", name, f)
					}
				}
			}
			if err := p.stop(t); err != nil {
				t.Errorf("after SIGTERM the server exited with %v:\n%s", err, p.log())
			}

			for _, tc := range []struct {
				name    string
				change  func(env map[string]string)
				wantErr string
			}{
				{"key file readable by others", func(env map[string]string) {
					env["CREDVAULT_MASTER_KEY_FILE"] = write("open.key", key.Encode(), 0o644)
				}, "CREDVAULT_MASTER_KEY_FILE: " + filepath.Join(dir, "open.key") + " has mode 0644"},
				{"key file missing", func(env map[string]string) {
					env["CREDVAULT_MASTER_KEY_FILE"] = filepath.Join(dir, "missing.key")
				}, "CREDVAULT_MASTER_KEY_FILE: open " + filepath.Join(dir, "missing.key") + ": no such file"},
				{"key and key file", func(env map[string]string) {
					env["CREDVAULT_MASTER_KEY"] = key.Encode()
				}, "set CREDVAULT_MASTER_KEY or CREDVAULT_MASTER_KEY_FILE, not both"},
			} {
				refused := map[string]string{}
				for k, v := range env {
					refused[k] = v
				}
				tc.change(refused)
				p := startProcess(t, bin, refused, "serve")
				select {
				case <-p.done:
				case <-time.After(60 * time.Second):
					t.Errorf("%s: the server still runs 60 s on:\n%s", tc.name, p.log())
					continue
				}
				if code := p.cmd.ProcessState.ExitCode(); code != 1 || !strings.Contains(p.log(), tc.wantErr) {
					t.Errorf("%s: exit %d, stderr %q; want 1 and %q", tc.name, code, p.log(), tc.wantErr)
				}
				if strings.Contains(p.log(), key.Encode()) {
					t.Errorf("%s: the error shows the master key", tc.name)
				}
			}
		})
	}
}
