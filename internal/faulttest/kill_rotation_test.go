package faulttest

// A server process killed with SIGKILL in the middle of a DEK rotation:
// another process started on the same database finishes the rotation, and
// every credential decrypts to what was stored.

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/ent/credential"
	"github.com/credvault/credvault/ent/datakey"
	"github.com/credvault/credvault/ent/job"
	"github.com/credvault/credvault/internal/apitest"
	"github.com/credvault/credvault/internal/platform/store"
	"github.com/credvault/credvault/internal/vault/crypt"
	"github.com/credvault/credvault/internal/vault/dek"
)

const (
	// killCredentials are re-encrypted in batches of dek.BatchSize: enough
	// that at full speed the first process is still mid-way when killed.
	killCredentials  = 60_000
	killIntegrations = 300
	// killAfter is how many credentials the first process re-encrypts
	// before it is killed: one batch.
	killAfter = dek.BatchSize
	// rotationLimit bounds the rotation's end after the kill: the dead
	// worker's lease (6 s) runs out, the new process starts and moves the
	// remaining credentials, on a loaded machine.
	rotationLimit = 90 * time.Second
)

func TestKillDuringDEKRotation(t *testing.T) {
	pg := startPostgres(t)
	bin := serverBinary(t)
	mk, err := crypt.GenerateMasterKey()
	if err != nil {
		t.Fatal(err)
	}
	first := startServer(t, bin, pg.URL(), mk)
	owner := registerOwner(t, first.url)
	st := pg.Open()
	want := seedCredentials(t, st, mk, owner.tenant)

	var rot struct {
		DEKVersion int       `json:"dek_version"`
		JobID      uuid.UUID `json:"job_id"`
	}
	if status := call(t, first.url, http.MethodPost, "/api/v1/admin/dek/rotate", owner.token, map[string]any{}, &rot); status != http.StatusAccepted {
		t.Fatalf("POST /admin/dek/rotate: %d, want 202", status)
	}
	ctx := store.Unrestricted(t.Context())
	moved := func() int {
		n, err := st.Client.Credential.Query().Where(credential.TenantID(owner.tenant), credential.DekVersion(rot.DEKVersion)).Count(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	apitest.Eventually(t, rotationLimit, "the first process re-encrypts a batch", func() (bool, string) {
		n := moved()
		return n >= killAfter, fmt.Sprintf("%d moved", n)
	})
	first.kill()
	killed := time.Now()
	// A batch whose commit was on its way lands or not; nothing follows.
	time.Sleep(500 * time.Millisecond)
	atKill := moved()
	j, err := st.Client.Job.Get(ctx, rot.JobID)
	if err != nil {
		t.Fatal(err)
	}
	if j.Status != job.StatusRunning || atKill >= killCredentials {
		t.Fatalf("after the kill the rotation job is %s with %d of %d credentials moved, want running mid-way", j.Status, atKill, killCredentials)
	}

	second := startServer(t, bin, pg.URL(), mk)
	var resumed time.Duration
	apitest.Eventually(t, rotationLimit, "the rotation finishes after the kill", func() (bool, string) {
		if resumed == 0 && moved() > atKill {
			resumed = time.Since(killed)
		}
		if j, err = st.Client.Job.Get(ctx, rot.JobID); err != nil {
			t.Fatal(err)
		}
		if j.Status == job.StatusFailed {
			t.Fatalf("the rotation failed after %d attempts: %s", j.Attempts, j.LastError)
		}
		return j.Status == job.StatusCompleted, fmt.Sprintf("%s, attempt %d, %d moved", j.Status, j.Attempts, moved())
	})
	finished := time.Since(killed)

	rows, err := st.Client.Credential.Query().Where(credential.TenantID(owner.tenant)).All(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// A manager of its own reads the DEKs as the database has them now.
	deks := dek.New(st.Client, mk, nil)
	opened := 0
	var wrong []string
	for _, c := range rows {
		got, err := openCredential(ctx, deks, c)
		switch {
		case c.DekVersion != rot.DEKVersion:
			wrong = append(wrong, fmt.Sprintf("%s is on DEK v%d", c.ID, c.DekVersion))
		case err != nil || !maps.Equal(got, want[c.ID]):
			wrong = append(wrong, fmt.Sprintf("%s does not decrypt to what was stored (%v)", c.ID, err))
		default:
			opened++
		}
	}
	if len(wrong) > 0 {
		t.Errorf("%d credentials are not on DEK v%d or do not decrypt, the first: %s", len(wrong), rot.DEKVersion, wrong[0])
	}
	if opened != len(want) {
		t.Errorf("%d of %d credentials decrypt to their original values on DEK v%d (%d rows)", opened, len(want), rot.DEKVersion, len(rows))
	}
	keys, err := st.Client.DataKey.Query().Where(datakey.TenantID(owner.tenant)).All(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if wantStatus := map[bool]datakey.Status{true: datakey.StatusActive, false: datakey.StatusDestroyed}[k.Version == rot.DEKVersion]; k.Status != wantStatus {
			t.Errorf("DEK v%d is %s after the rotation, want %s", k.Version, k.Status, wantStatus)
		}
	}
	// And through the API of the new process.
	var read struct {
		Credentials []struct {
			ID   uuid.UUID      `json:"id"`
			Data map[string]any `json:"data"`
		} `json:"credentials"`
	}
	if status := call(t, second.url, http.MethodGet, "/api/v1/credentials/killed-0", owner.token, nil, &read); status != http.StatusOK {
		t.Fatalf("GET /credentials/killed-0: %d", status)
	}
	for _, c := range read.Credentials {
		if !maps.Equal(c.Data, want[c.ID]) {
			t.Errorf("credential %s reads back through the API other than stored", c.ID)
		}
	}
	if len(read.Credentials) != killCredentials/killIntegrations {
		t.Errorf("GET /credentials/killed-0 answered %d credentials, want %d", len(read.Credentials), killCredentials/killIntegrations)
	}
	t.Logf("killed with %d of %d credentials re-encrypted; the rotation resumed %v and finished %v after the kill (attempts: %d); %d of %d credentials decrypt to their original values (%.0f %%)",
		atKill, killCredentials, resumed.Round(time.Millisecond), finished.Round(time.Millisecond), j.Attempts,
		opened, len(want), 100*float64(opened)/float64(len(want)))
}

// serverBinary builds the server into tmp/credvault at the root of the
// module; go build links again only when something changed.
func serverBinary(t *testing.T) string {
	t.Helper()
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("building the server needs the go command: %v", err)
	}
	mod, err := exec.Command(goCmd, "env", "GOMOD").Output()
	if err != nil {
		t.Fatal(err)
	}
	root := filepath.Dir(strings.TrimSpace(string(mod)))
	bin := filepath.Join(root, "tmp", "credvault")
	build := exec.Command(goCmd, "build", "-o", bin, ".")
	build.Dir = root
	start := time.Now()
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	t.Logf("go build: %v", time.Since(start).Round(time.Millisecond))
	return bin
}

// publicURL is the issuer of every process's tokens: one deployment, so a
// session from the killed process works on the next.
const publicURL = "https://credvault.faulttest"

// serverProcess is the server running as a process of its own.
type serverProcess struct {
	cmd  *exec.Cmd
	url  string
	log  string
	done chan struct{}
}

// startServer runs bin on the database at dbURL with master key mk, on a
// free port, and waits until it answers; t's cleanup kills it.
func startServer(t *testing.T, bin, dbURL string, mk *crypt.MasterKey) *serverProcess {
	t.Helper()
	dir := t.TempDir()
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	env := []string{}
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "CREDVAULT_") {
			env = append(env, kv)
		}
	}
	cmd := exec.Command(bin, "serve")
	cmd.Dir = dir
	cmd.Env = append(env, "CREDVAULT_ADDR="+addr, "CREDVAULT_DATABASE_URL="+dbURL, "CREDVAULT_MASTER_KEY="+mk.Encode(),
		"CREDVAULT_RATE_LIMITS=off", "CREDVAULT_LOG_LEVEL=warn", "CREDVAULT_PUBLIC_URL="+publicURL)
	p := &serverProcess{cmd: cmd, url: "http://" + addr, log: filepath.Join(dir, "server.log"), done: make(chan struct{})}
	logFile, err := os.Create(p.log)
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = cmd.Wait() // killed on purpose, or by the cleanup
		close(p.done)
	}()
	t.Cleanup(p.kill)
	apitest.Eventually(t, 30*time.Second, "the server process answers /health", func() (bool, string) {
		select {
		case <-p.done:
			out, _ := os.ReadFile(p.log)
			t.Fatalf("the server process exited: %s", out)
		default:
		}
		resp, err := http.Get(p.url + "/health")
		if err != nil {
			return false, err.Error()
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, resp.Status
	})
	return p
}

// kill sends SIGKILL and waits until the process is gone.
func (p *serverProcess) kill() {
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil && !errors.Is(err, os.ErrProcessDone) {
		panic(err) // the process is ours: only "already done" can happen
	}
	<-p.done
}

type ownerSession struct {
	tenant uuid.UUID
	token  string
}

// registerOwner registers a tenant; its owner holds vault:admin.
func registerOwner(t *testing.T, base string) ownerSession {
	t.Helper()
	tag := uuid.NewString()[:8]
	var reg struct {
		Tenant      struct{ ID uuid.UUID } `json:"tenant"`
		AccessToken string                 `json:"access_token"`
	}
	if status := call(t, base, http.MethodPost, "/api/v1/auth/register", "", map[string]any{"tenant_name": "Killed " + tag,
		"email": "owner-" + tag + "@killed.test", "password": "correct horse battery staple"}, &reg); status != http.StatusCreated {
		t.Fatalf("register: %d", status)
	}
	return ownerSession{tenant: reg.Tenant.ID, token: reg.AccessToken}
}

// call sends one request to base and decodes the envelope's data into v.
func call(t *testing.T, base, method, path, bearer string, body, v any) int {
	t.Helper()
	resp, err := http.DefaultClient.Do(newRequest(base, method, path, bearer, body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var env struct{ Data json.RawMessage }
	if err := json.NewDecoder(resp.Body).Decode(&env); err != nil {
		t.Fatalf("%s %s: %d, body not an envelope: %v", method, path, resp.StatusCode, err)
	}
	if resp.StatusCode < 300 {
		if err := json.Unmarshal(env.Data, v); err != nil {
			t.Fatalf("%s %s: data: %v", method, path, err)
		}
	}
	return resp.StatusCode
}

// seedCredentials stores killCredentials credentials for tenant, sealed
// under its active DEK as the server seals them, inserted in bulk; it
// returns their data by id.
func seedCredentials(t *testing.T, st *store.Store, mk *crypt.MasterKey, tenant uuid.UUID) map[uuid.UUID]map[string]any {
	t.Helper()
	ctx := store.Unrestricted(t.Context())
	v, k, err := dek.New(st.Client, mk, nil).Active(ctx, st.Client, tenant)
	if err != nil {
		t.Fatal(err)
	}
	want := make(map[uuid.UUID]map[string]any, killCredentials)
	for i := range killIntegrations {
		batch := make([]*ent.CredentialCreate, 0, killCredentials/killIntegrations)
		for range killCredentials / killIntegrations {
			id := uuid.New()
			data := map[string]any{"api_key": "sk_live_" + strings.ReplaceAll(uuid.NewString(), "-", "")}
			pt, err := json.Marshal(data)
			if err != nil {
				t.Fatal(err)
			}
			ct, err := crypt.Credential.Seal(k, pt, tenant, id, v)
			if err != nil {
				t.Fatal(err)
			}
			want[id] = data
			batch = append(batch, st.Client.Credential.Create().SetID(id).SetTenantID(tenant).
				SetIntegrationID(fmt.Sprintf("killed-%d", i)).SetAuthType("api_key").SetCiphertext(ct).SetDekVersion(v))
		}
		if err := st.Client.Credential.CreateBulk(batch...).Exec(ctx); err != nil {
			t.Fatal(err)
		}
	}
	return want
}
