package packaging_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/credvault/credvault/internal/vault/crypt"
)

// TestDockerImage builds the image with version and commit build
// arguments, checks that `credvault version` in it prints them, then runs
// it with a volume on /data and the master key as a file secret, and waits
// for Docker to report it healthy (the HEALTHCHECK runs the binary) and
// for /health to name the build. It needs a Docker daemon that answers
// and can pull golang:1.26 and distroless: without one it is skipped.
func TestDockerImage(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("docker"); err != nil {
		t.Skip("no docker command: the image is not built here")
	}
	if out, err := exec.Command("docker", "info").CombinedOutput(); err != nil {
		t.Skipf("no Docker daemon answers `docker info` (%v): the image is not built here\n%s", err, lastLine(out))
	}
	docker := func(args ...string) string {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
		defer cancel()
		out, err := exec.CommandContext(ctx, "docker", args...).CombinedOutput()
		if err != nil {
			t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return strings.TrimSpace(string(out))
	}
	tag := fmt.Sprintf("credvault-packaging-test:%d", time.Now().UnixNano())
	docker("build", "--build-arg", "VERSION="+stampVersion, "--build-arg", "COMMIT="+stampCommit,
		"--build-arg", "BUILD_DATE="+stampDate, "-t", tag, moduleRoot(t))
	t.Cleanup(func() { _ = exec.Command("docker", "rmi", "-f", tag).Run() })

	if out := docker("run", "--rm", tag, "version"); !strings.Contains(out, "version: "+stampVersion) ||
		!strings.Contains(out, "commit:  "+stampCommit) || !strings.Contains(out, "date:    "+stampDate) {
		t.Errorf("credvault version in the image printed\n%s", out)
	}
	if user := docker("image", "inspect", "--format", "{{.Config.User}}", tag); user != "65532:65532" {
		t.Errorf("the image runs as %q, want 65532:65532", user)
	}

	// The key file is the server's user's alone, as a secret would be.
	key, err := crypt.GenerateMasterKey()
	if err != nil {
		t.Fatal(err)
	}
	secrets := t.TempDir()
	keyFile := filepath.Join(secrets, "master_key")
	if err := os.WriteFile(keyFile, []byte(key.Encode()+"\n"), 0o400); err != nil {
		t.Fatal(err)
	}
	if os.Geteuid() == 0 {
		if err := os.Chown(keyFile, 65532, 65532); err != nil {
			t.Fatal(err)
		}
	}
	args := []string{"run", "-d", "-p", "127.0.0.1::8080",
		"-v", keyFile + ":/run/secrets/master_key:ro", "-e", "CREDVAULT_MASTER_KEY_FILE=/run/secrets/master_key"}
	if os.Geteuid() == 0 {
		volume := docker("volume", "create")
		t.Cleanup(func() { _ = exec.Command("docker", "volume", "rm", "-f", volume).Run() })
		args = append(args, "-v", volume+":/data")
	} else {
		// Without root the key file cannot be given to uid 65532: run as
		// its owner, on a data folder of that owner.
		args = append(args, "--user", fmt.Sprint(os.Geteuid()), "-v", t.TempDir()+":/data")
	}
	container := docker(append(args, tag)...)
	t.Cleanup(func() { _ = exec.Command("docker", "rm", "-f", container).Run() })

	deadline := time.Now().Add(90 * time.Second)
	for {
		status := docker("inspect", "--format", "{{.State.Health.Status}}", container)
		if status == "healthy" {
			break
		}
		if status == "unhealthy" || time.Now().After(deadline) {
			logs, _ := exec.Command("docker", "logs", container).CombinedOutput()
			t.Fatalf("the container is %s:\n%s", status, logs)
		}
		time.Sleep(time.Second)
	}
	hostPort := docker("port", container, "8080/tcp")
	resp, err := http.Get("http://" + strings.Split(hostPort, "\n")[0] + "/health")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var health struct {
		Data struct{ Version, Commit string }
	}
	if err := json.NewDecoder(resp.Body).Decode(&health); err != nil || health.Data.Version != stampVersion || health.Data.Commit != stampCommit {
		t.Errorf("/health in the container: %+v (%v)", health.Data, err)
	}
}

func lastLine(b []byte) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return lines[len(lines)-1]
}

// TestSystemdUnit checks deploy/credvault.service: the directives the
// deployment relies on are there (always), and, where systemd-analyze is
// installed, that `systemd-analyze verify` finds nothing to say about it
// and `systemd-analyze security --offline` rates its exposure 2.0 or less.
func TestSystemdUnit(t *testing.T) {
	t.Parallel()
	path := filepath.Join(moduleRoot(t), "deploy", "credvault.service")
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	directives := map[string][]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			directives[k] = append(directives[k], v)
		}
	}
	for _, want := range []string{"ExecStart=/usr/local/bin/credvault serve", "DynamicUser=yes", "User=credvault",
		"EnvironmentFile=/etc/credvault/credvault.env", "Environment=CREDVAULT_ENV=production",
		"LoadCredential=master-key:/etc/credvault/master.key", "Environment=CREDVAULT_MASTER_KEY_FILE=%d/master-key",
		"NoNewPrivileges=yes", "ProtectSystem=strict", "StateDirectory=credvault", "Restart=on-failure",
		"KillSignal=SIGTERM", "TimeoutStopSec=40", "CapabilityBoundingSet=", "UMask=0077"} {
		k, v, _ := strings.Cut(want, "=")
		found := false
		for _, got := range directives[k] {
			found = found || got == v
		}
		if !found {
			t.Errorf("%s lacks %s (has %s=%q)", path, want, k, directives[k])
		}
	}

	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Skip("systemd-analyze is not installed: the unit is not verified")
	}
	// verify wants ExecStart's binary to exist: point it at this test's.
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	unit := filepath.Join(t.TempDir(), "credvault.service")
	if err := os.WriteFile(unit, []byte(strings.Replace(string(raw), "ExecStart=/usr/local/bin/credvault", "ExecStart="+self, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(analyze, "verify", unit).CombinedOutput()
	if err != nil || len(out) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
	out, err = exec.Command(analyze, "security", "--offline=true", "--threshold=20", unit).CombinedOutput()
	if err != nil {
		t.Errorf("systemd-analyze security: exposure above 2.0 (%v)\n%s", err, out)
	}
	if i := strings.Index(string(out), "Overall exposure level"); i >= 0 {
		t.Logf("systemd-analyze security: %s", strings.TrimSpace(string(out[i:])))
	}
}
