package apitest_test

// DEK rotation and master-key rotation over real HTTP, on SQLite and
// PostgreSQL: POST /admin/dek/rotate (202, new writes on the new version at
// once, the dek_rotation job run by the server's own queue re-encrypts the
// tenant and destroys the old DEK), who may rotate which tenant, and
// server.RotateMasterKey followed by a server that holds the new key alone.
//
// Helpers are the vt* ones of credential_test.go.

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/ent/datakey"
	"github.com/credvault/credvault/ent/job"
	"github.com/credvault/credvault/internal/apitest"
	"github.com/credvault/credvault/internal/platform/config"
	"github.com/credvault/credvault/internal/platform/store"
	"github.com/credvault/credvault/internal/platform/store/storetest"
	"github.com/credvault/credvault/internal/vault/crypt"
	"github.com/credvault/credvault/internal/vault/dek"
	"github.com/credvault/credvault/server"
)

const (
	vtAdminEmail = "vault-root@platform.test"
	vtAdminPass  = "vault-platform-admin-pw"
)

func vtWithAdmin(c *config.Config) { c.AdminEmail, c.AdminPassword = vtAdminEmail, vtAdminPass }

// vtWithMaster fixes the server's master key.
func vtWithMaster(k *crypt.MasterKey) func(*config.Config) {
	return func(c *config.Config) { c.MasterKey = k.Encode() }
}

func vtNewMaster(t *testing.T) *crypt.MasterKey {
	t.Helper()
	k, err := crypt.GenerateMasterKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// vtWaitJob polls the job row until it completes; it fails at once when
// the job fails, and after 30 seconds.
func vtWaitJob(t *testing.T, e *apitest.Env, id uuid.UUID) *ent.Job {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		j, err := e.Store.Client.Job.Get(store.Unrestricted(t.Context()), id)
		if err != nil {
			t.Fatalf("job %s: %v", id, err)
		}
		switch j.Status {
		case job.StatusCompleted:
			return j
		case job.StatusFailed, job.StatusRetrying:
			t.Fatalf("job %s (%s) is %s after %d attempts: %s", id, j.Name, j.Status, j.Attempts, j.LastError)
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s (%s) still %s after 30s", id, j.Name, j.Status)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// vtRotation is the data of POST /admin/dek/rotate.
type vtRotation struct {
	DEKVersion int       `json:"dek_version"`
	JobID      uuid.UUID `json:"job_id"`
}

// vtRotate rotates as bearer, with body, and expects the 202.
func vtRotate(t *testing.T, e *apitest.Env, bearer string, body any) vtRotation {
	t.Helper()
	r := vtDo(e, http.MethodPost, "/api/v1/admin/dek/rotate", bearer, body)
	vtStatus(t, r, http.StatusAccepted)
	var raw map[string]json.RawMessage
	r.Data(t, &raw)
	if len(raw) != 2 || raw["dek_version"] == nil || raw["job_id"] == nil {
		t.Fatalf("rotate answered keys %v, want dek_version and job_id", slices.Sorted(maps.Keys(raw)))
	}
	var out vtRotation
	r.Data(t, &out)
	if out.JobID == uuid.Nil || out.DEKVersion < 1 {
		t.Fatalf("rotate answered %+v", out)
	}
	return out
}

// vtFixtures stores one credential of every auth type for owner and
// returns the data by credential id.
func vtFixtures(t *testing.T, e *apitest.Env, owner vtPrincipal, prefix string) map[uuid.UUID]map[string]any {
	t.Helper()
	tag := vtTag()
	out := map[uuid.UUID]map[string]any{}
	for _, at := range vtAuthTypes {
		d := vtData(at.name, tag, true)
		c := vtStore(t, e, owner.Token, map[string]any{"integration_id": prefix + at.name, "auth_type": at.name, "data": d})
		out[c.ID] = d
	}
	return out
}

// vtReadsAll fails unless every credential of want reads back, decrypted
// through REST, as stored.
func vtReadsAll(t *testing.T, e *apitest.Env, bearer string, tenant uuid.UUID, want map[uuid.UUID]map[string]any) {
	t.Helper()
	seen := map[string]bool{}
	for id := range want {
		row := vtRow(t, e, id)
		if row == nil {
			t.Fatalf("credential %s is gone", id)
		}
		if row.TenantID != tenant {
			t.Fatalf("credential %s belongs to tenant %s", id, row.TenantID)
		}
		if seen[row.IntegrationID] {
			continue
		}
		seen[row.IntegrationID] = true
		for _, c := range vtRead(t, e, bearer, row.IntegrationID).Credentials {
			if w, ok := want[c.ID]; ok && !vtSame(c.Data, w) {
				t.Fatalf("credential %s (%s) does not read back as stored", c.ID, c.AuthType)
			}
		}
	}
}

// vtVersions counts the tenant's credentials by DEK version.
func vtVersions(t *testing.T, e *apitest.Env, tenant uuid.UUID) map[int]int {
	t.Helper()
	out := map[int]int{}
	for _, r := range vtRows(t, e, tenant) {
		out[r.DekVersion]++
	}
	return out
}

// vtExpectKeys checks the tenant's DEKs: status by version, and wrapped_key
// NULL exactly for the destroyed ones.
func vtExpectKeys(t *testing.T, e *apitest.Env, tenant uuid.UUID, want map[int]datakey.Status) {
	t.Helper()
	keys := vtDataKeys(t, e, tenant)
	if len(keys) != len(want) {
		t.Fatalf("tenant has %d DEKs, want %d", len(keys), len(want))
	}
	for v, st := range want {
		k := keys[v]
		if k == nil || k.Status != st {
			t.Fatalf("DEK v%d: %v, want %s", v, k, st)
		}
		if null := vtWrappedKeyNull(t, e, tenant, v); null != (st == datakey.StatusDestroyed) {
			t.Fatalf("DEK v%d (%s): wrapped_key IS NULL = %v", v, st, null)
		}
	}
}

// ---------------------------------------------------------------------------
// 8. DEK rotation

func TestDEKRotation(t *testing.T) {
	t.Parallel()
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		o := vtRegister(t, e, "Rotate")
		bystander := vtRegister(t, e, "Bystander")
		want := vtFixtures(t, e, o, "rot-")
		theirs := vtFixtures(t, e, bystander, "rot-")
		if v := vtVersions(t, e, o.TenantID); v[1] != len(want) || len(v) != 1 {
			t.Fatalf("before the rotation: credentials by version %v", v)
		}

		rot := vtRotate(t, e, o.Token, map[string]any{})
		if rot.DEKVersion != 2 {
			t.Fatalf("rotation answered dek_version %d, want 2", rot.DEKVersion)
		}
		// New writes use v2 at once, whatever the job has done so far.
		nd := vtData("api_key", vtTag(), true)
		nc := vtStore(t, e, o.Token, map[string]any{"integration_id": "rot-new", "auth_type": "api_key", "data": nd})
		if row := vtRow(t, e, nc.ID); row.DekVersion != 2 {
			t.Fatalf("a credential stored after the rotation is on DEK v%d, want v2", row.DekVersion)
		}
		want[nc.ID] = nd

		j := vtWaitJob(t, e, rot.JobID)
		if j.Name != "dek_rotation" || j.Args["tenant_id"] != o.TenantID.String() || j.Attempts != 1 || j.LastError != "" {
			t.Fatalf("job %s args %v attempts %d", j.Name, j.Args, j.Attempts)
		}
		if v := vtVersions(t, e, o.TenantID); v[2] != len(want) || len(v) != 1 {
			t.Fatalf("after the job: credentials by version %v, want all %d on v2", v, len(want))
		}
		vtExpectKeys(t, e, o.TenantID, map[int]datakey.Status{1: datakey.StatusDestroyed, 2: datakey.StatusActive})
		vtReadsAll(t, e, o.Token, o.TenantID, want)
		// The other tenant was not touched.
		if v := vtVersions(t, e, bystander.TenantID); v[1] != len(theirs) || len(v) != 1 {
			t.Fatalf("bystander credentials by version %v", v)
		}
		vtExpectKeys(t, e, bystander.TenantID, map[int]datakey.Status{1: datakey.StatusActive})
		vtReadsAll(t, e, bystander.Token, bystander.TenantID, theirs)

		// Audited, with the version and the job.
		rots := vtAudits(t, e, o.TenantID, "dek.rotate")
		if len(rots) != 1 || rots[0].ActorID != o.UserID.String() || rots[0].ResourceType != "data_key" ||
			rots[0].ResourceID != o.TenantID.String() || rots[0].Details["job_id"] != rot.JobID.String() ||
			!vtSame(rots[0].Details["dek_version"], 2) {
			t.Fatalf("dek.rotate entries: %d", len(rots))
		}
		// An admin rotates again, over GraphQL.
		admin := vtUser(t, e, o, "admin")
		g := e.GraphQL(`mutation { rotateDEK { dekVersion jobID } }`, nil, admin.Token)
		var gr struct {
			RotateDEK struct {
				DekVersion int       `json:"dekVersion"`
				JobID      uuid.UUID `json:"jobID"`
			} `json:"rotateDEK"`
		}
		if len(g.Errors) > 0 {
			t.Fatalf("GraphQL rotateDEK by an admin: %s", vtGQLShow(g))
		}
		if err := json.Unmarshal(g.Data, &gr); err != nil || gr.RotateDEK.DekVersion != 3 {
			t.Fatalf("GraphQL rotateDEK answered v%d (%v), want v3", gr.RotateDEK.DekVersion, err)
		}
		vtWaitJob(t, e, gr.RotateDEK.JobID)
		if v := vtVersions(t, e, o.TenantID); v[3] != len(want) || len(v) != 1 {
			t.Fatalf("after the second job: credentials by version %v", v)
		}
		vtExpectKeys(t, e, o.TenantID, map[int]datakey.Status{1: datakey.StatusDestroyed, 2: datakey.StatusDestroyed, 3: datakey.StatusActive})
		vtReadsAll(t, e, o.Token, o.TenantID, want)

		// Naming its own tenant is the same as naming none.
		rot = vtRotate(t, e, o.Token, map[string]any{"tenant_id": o.TenantID})
		if rot.DEKVersion != 4 {
			t.Fatalf("rotation naming the own tenant answered v%d, want v4", rot.DEKVersion)
		}
		vtWaitJob(t, e, rot.JobID)
		vtExpectKeys(t, e, o.TenantID, map[int]datakey.Status{1: datakey.StatusDestroyed, 2: datakey.StatusDestroyed,
			3: datakey.StatusDestroyed, 4: datakey.StatusActive})
		vtReadsAll(t, e, o.Token, o.TenantID, want)
	})
}

func TestDEKRotationPermissions(t *testing.T) {
	t.Parallel()
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		o, b := vtRegister(t, e, "Perm A"), vtRegister(t, e, "Perm B")
		member, viewer := vtUser(t, e, o, "member"), vtUser(t, e, o, "viewer")
		mine := vtFixtures(t, e, o, "p-")
		theirs := vtFixtures(t, e, b, "p-")
		jobsBefore := func() int {
			n, err := e.Store.Client.Job.Query().Where(job.Name("dek_rotation")).Count(store.Unrestricted(t.Context()))
			if err != nil {
				t.Fatal(err)
			}
			return n
		}

		for _, p := range []vtPrincipal{member, viewer} {
			r := vtDo(e, http.MethodPost, "/api/v1/admin/dek/rotate", p.Token, map[string]any{})
			vtError(t, r, http.StatusForbidden, "FORBIDDEN", "required_scope", "vault:admin")
			g := e.GraphQL(`mutation { rotateDEK { dekVersion } }`, nil, p.Token)
			vtGQLError(t, g, "FORBIDDEN", "required_scope", "vault:admin")
		}
		vtError(t, vtDo(e, http.MethodPost, "/api/v1/admin/dek/rotate", "", map[string]any{}), http.StatusUnauthorized, "UNAUTHORIZED")
		// An owner may not name another tenant, existing or not.
		for _, target := range []string{b.TenantID.String(), uuid.NewString()} {
			r := vtDo(e, http.MethodPost, "/api/v1/admin/dek/rotate", o.Token, map[string]any{"tenant_id": target})
			vtError(t, r, http.StatusForbidden, "FORBIDDEN", "required_scope", "platform:admin")
			g := e.GraphQL(`mutation($t: ID) { rotateDEK(tenantID: $t) { dekVersion } }`, map[string]any{"t": target}, o.Token)
			vtGQLError(t, g, "FORBIDDEN", "required_scope", "platform:admin")
		}
		vtError(t, vtDo(e, http.MethodPost, "/api/v1/admin/dek/rotate", o.Token, map[string]any{"tenant_id": "not-a-uuid"}),
			http.StatusUnprocessableEntity, "VALIDATION_ERROR", "field", "tenant_id")
		vtError(t, vtDo(e, http.MethodPost, "/api/v1/admin/dek/rotate", o.Token, map[string]any{"tenant": b.TenantID}),
			http.StatusUnprocessableEntity, "VALIDATION_ERROR", "field", "tenant")
		// Nothing moved.
		if n := jobsBefore(); n != 0 {
			t.Fatalf("%d dek_rotation jobs after refused rotations", n)
		}
		vtExpectKeys(t, e, o.TenantID, map[int]datakey.Status{1: datakey.StatusActive})
		vtExpectKeys(t, e, b.TenantID, map[int]datakey.Status{1: datakey.StatusActive})
		denied := 0
		for _, a := range vtAudits(t, e, o.TenantID, "permission.denied") {
			if a.Details["required_scope"] == "vault:admin" || a.Details["required_scope"] == "platform:admin" {
				denied++
			}
		}
		if denied < 8 {
			t.Fatalf("%d permission.denied entries for the refused rotations, want at least 8", denied)
		}

		// The platform admin rotates tenant B.
		adm := vtLogin(t, e, vtAdminEmail, vtAdminPass, "")
		rot := vtRotate(t, e, adm.Token, map[string]any{"tenant_id": b.TenantID})
		if rot.DEKVersion != 2 {
			t.Fatalf("platform admin's rotation of B answered v%d, want v2", rot.DEKVersion)
		}
		j := vtWaitJob(t, e, rot.JobID)
		if j.Args["tenant_id"] != b.TenantID.String() {
			t.Fatalf("the job re-encrypts tenant %v, want B", j.Args["tenant_id"])
		}
		if v := vtVersions(t, e, b.TenantID); v[2] != len(theirs) || len(v) != 1 {
			t.Fatalf("B's credentials by version %v", v)
		}
		vtExpectKeys(t, e, b.TenantID, map[int]datakey.Status{1: datakey.StatusDestroyed, 2: datakey.StatusActive})
		vtReadsAll(t, e, b.Token, b.TenantID, theirs)
		// A was not touched.
		vtExpectKeys(t, e, o.TenantID, map[int]datakey.Status{1: datakey.StatusActive})
		vtReadsAll(t, e, o.Token, o.TenantID, mine)
		// Recorded in B, with the platform admin as actor.
		rots := vtAudits(t, e, b.TenantID, "dek.rotate")
		if len(rots) != 1 || rots[0].ActorID != adm.UserID.String() {
			t.Fatalf("dek.rotate entries in B: %d", len(rots))
		}
		// A tenant that does not exist: 404.
		vtError(t, vtDo(e, http.MethodPost, "/api/v1/admin/dek/rotate", adm.Token, map[string]any{"tenant_id": uuid.NewString()}),
			http.StatusNotFound, "NOT_FOUND")
	}, vtWithAdmin)
}

// TestCredentialReadRacingTheEndOfARotation: a decrypting read loads its
// rows, and before it decrypts them a DEK rotation finishes: every row has
// moved to the new DEK and the old one is destroyed. The read must still
// answer the data (SPEC §7: reads work throughout a rotation).
//
// Known bug: graph.decrypt opens the row it loaded with the DEK of the
// loaded version; when that version was destroyed in between, the read
// fails with 500 instead of re-reading the row.
func TestCredentialReadRacingTheEndOfARotation(t *testing.T) {
	t.Parallel()
	for _, backend := range storetest.Backends() {
		t.Run(backend, func(t *testing.T) {
			t.Parallel()
			st := storetest.Open(t, backend)
			// The interceptor is installed before the server starts, and armed
			// by the test: the first credential query outside a transaction
			// after that (the read's own) returns its rows only once a whole
			// rotation has run in between.
			var armed atomic.Bool
			var url, token string
			hookErr := make(chan error, 1)
			st.Client.Credential.Intercept(ent.InterceptFunc(func(next ent.Querier) ent.Querier {
				return ent.QuerierFunc(func(ctx context.Context, q ent.Query) (ent.Value, error) {
					v, err := next.Query(ctx, q)
					if err == nil && ent.TxFromContext(ctx) == nil && armed.CompareAndSwap(true, false) {
						hookErr <- vtRotateToTheEnd(st, url, token)
					}
					return v, err
				})
			}))
			e := apitest.New(t, st)
			o := vtRegister(t, e, "Race")
			want := vtFixtures(t, e, o, "race-")
			url, token = e.Server.URL, o.Token
			armed.Store(true)
			r := e.Get(vtPath("race-api_key"), o.Token)
			if err := <-hookErr; err != nil {
				t.Fatalf("the rotation in between: %v", err)
			}
			vtExpectKeys(t, e, o.TenantID, map[int]datakey.Status{1: datakey.StatusDestroyed, 2: datakey.StatusActive})
			vtStatus(t, r, http.StatusOK)
			var got vtIntegration
			r.Data(t, &got)
			for _, c := range got.Credentials {
				if !vtSame(c.Data, want[c.ID]) {
					t.Fatal("the read racing the rotation answered other data")
				}
			}
		})
	}
}

// vtRotateToTheEnd rotates the DEK over HTTP and waits until the job has
// completed. It runs on a server goroutine: it returns errors, never fails
// the test itself.
func vtRotateToTheEnd(st *store.Store, url, token string) error {
	req, err := http.NewRequest(http.MethodPost, url+"/api/v1/admin/dek/rotate", strings.NewReader("{}"))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var env struct {
		Data vtRotation `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&env); err != nil || resp.StatusCode != http.StatusAccepted {
		return errors.New("rotate: HTTP " + resp.Status)
	}
	ctx := store.Unrestricted(context.Background())
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		j, err := st.Client.Job.Get(ctx, env.Data.JobID)
		if err != nil {
			return err
		}
		if j.Status == job.StatusCompleted {
			return nil
		}
		if j.Status == job.StatusFailed || j.Status == job.StatusRetrying {
			return errors.New("the rotation job " + string(j.Status) + ": " + j.LastError)
		}
	}
	return errors.New("the rotation job did not complete within 30s")
}

// ---------------------------------------------------------------------------
// 10. Master-key rotation

// vtKeysServer starts a server on st with explicit keys (apitest.New
// passes no previous key), for the window of a master-key rotation. It has
// no Flush.
func vtKeysServer(t *testing.T, st *store.Store, keys server.Keys) *apitest.Env {
	t.Helper()
	cfg := vtConfig(t)
	srv, err := server.New(t.Context(), cfg, st, keys, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatalf("server with previous key: %v", err)
	}
	stop := srv.Start()
	ts := httptest.NewServer(srv.Handler())
	t.Cleanup(func() {
		ts.Close()
		stop()
	})
	return &apitest.Env{T: t, Store: st, Config: cfg, Server: ts}
}

func vtConfig(t *testing.T) *config.Config {
	t.Helper()
	cfg, err := config.Load(nil, func(string) string { return "" })
	if err != nil {
		t.Fatal(err)
	}
	cfg.RateLimits = "off"
	return cfg
}

func TestMasterKeyRotation(t *testing.T) {
	t.Parallel()
	vtEachStore(t, func(t *testing.T, st *store.Store) {
		ctx := t.Context()
		a, b := vtNewMaster(t), vtNewMaster(t)

		// Under master key A: two tenants, one of them rotated once (v1
		// destroyed, v2 active).
		ea := apitest.New(t, st, vtWithMaster(a))
		o := vtRegister(t, ea, "Master")
		want := vtFixtures(t, ea, o, "mk-")
		vtWaitJob(t, ea, vtRotate(t, ea, o.Token, map[string]any{}).JobID)
		nd := vtData("jwt", vtTag(), true)
		want[vtStore(t, ea, o.Token, map[string]any{"integration_id": "mk-after", "auth_type": "jwt", "data": nd}).ID] = nd
		p := vtRegister(t, ea, "Master P")
		theirs := vtFixtures(t, ea, p, "mk-")

		// The window of a rotation: a server holding B, with A as previous,
		// reads what A wrapped, and wraps new DEKs under B.
		ew := vtKeysServer(t, st, server.Keys{Master: b, Previous: a})
		vtReadsAll(t, ew, o.Token, o.TenantID, want)
		q := vtRegister(t, ew, "Master Q")
		late := vtFixtures(t, ew, q, "mk-")
		qk := vtDataKeys(t, ew, q.TenantID)[1]
		if qk == nil {
			t.Fatal("no DEK for the tenant created in the window")
		}
		if _, err := b.UnwrapDEK(*qk.WrappedKey, q.TenantID, 1); err != nil {
			t.Fatalf("a DEK created in the window is not wrapped under the new key: %v", err)
		}

		// Without the previous key the command refuses.
		if _, _, err := server.RotateMasterKey(ctx, st, server.Keys{Master: b}); err == nil {
			t.Fatal("RotateMasterKey without the previous key succeeded")
		}
		deks, signing, err := server.RotateMasterKey(ctx, st, server.Keys{Master: b, Previous: a})
		if err != nil {
			t.Fatalf("RotateMasterKey: %v", err)
		}
		if deks != 3 || signing < 1 {
			t.Fatalf("rewrapped %d DEKs and %d signing keys, want 3 DEKs (o v2, p v1, q v1) and at least 1 signing key", deks, signing)
		}
		rows, err := st.Client.DataKey.Query().All(store.Unrestricted(ctx))
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range rows {
			if k.Status == datakey.StatusDestroyed {
				if !vtWrappedKeyNull(t, ea, k.TenantID, k.Version) {
					t.Fatal("a destroyed DEK has a key again")
				}
				continue
			}
			if _, err := b.UnwrapDEK(*k.WrappedKey, k.TenantID, k.Version); err != nil {
				t.Fatalf("DEK v%d of %s does not unwrap under the new key: %v", k.Version, k.TenantID, err)
			}
			if _, err := a.UnwrapDEK(*k.WrappedKey, k.TenantID, k.Version); !errors.Is(err, crypt.ErrOpen) {
				t.Fatalf("DEK v%d of %s still unwraps under the old key", k.Version, k.TenantID)
			}
		}

		// A server with B alone starts (its signing keys open), accepts the
		// sessions signed before, signs new ones, and reads everything.
		eb := apitest.New(t, st, vtWithMaster(b))
		vtReadsAll(t, eb, o.Token, o.TenantID, want)
		vtReadsAll(t, eb, p.Token, p.TenantID, theirs)
		vtReadsAll(t, eb, q.Token, q.TenantID, late)
		email := "mk-user-" + vtTag() + "@vault.test"
		vtStatus(t, vtDo(eb, http.MethodPost, "/api/v1/admin/users", o.Token,
			map[string]any{"email": email, "name": "x", "role": "member", "password": vtPassword}), http.StatusCreated)
		m := vtLogin(t, eb, email, vtPassword, o.Slug)
		vtReadsAll(t, eb, m.Token, o.TenantID, want)
		fresh := vtFixtures(t, eb, vtRegister(t, eb, "Master R"), "mk-")
		if len(fresh) != len(vtAuthTypes) {
			t.Fatal("could not store through the new server")
		}
		// ... and a DEK manager with B alone opens every DEK.
		mgr := dek.New(st.Client, b, nil)
		for _, k := range rows {
			if k.Status == datakey.StatusDestroyed {
				continue
			}
			if _, err := mgr.Key(store.Unrestricted(ctx), k.TenantID, k.Version); err != nil {
				t.Fatalf("a manager with the new key alone: DEK v%d: %v", k.Version, err)
			}
		}

		// The old key alone no longer starts a server.
		_, err = server.New(ctx, vtConfig(t), st, server.Keys{Master: a}, slog.New(slog.NewTextHandler(io.Discard, nil)))
		if err == nil {
			t.Fatal("a server started with the old master key alone")
		}
		if !strings.Contains(err.Error(), "master key") && !strings.Contains(err.Error(), "MASTER_KEY") {
			t.Fatalf("the start-up error does not mention the master key: %v", err)
		}
		if strings.Contains(err.Error(), a.Encode()) || strings.Contains(err.Error(), b.Encode()) {
			t.Fatal("the start-up error shows a key")
		}
	})
}

func TestServerRefusesAWrongMasterKey(t *testing.T) {
	t.Parallel()
	vtEachStore(t, func(t *testing.T, st *store.Store) {
		right := vtNewMaster(t)
		e := apitest.New(t, st, vtWithMaster(right))
		o := vtRegister(t, e, "Wrong key")
		want := vtFixtures(t, e, o, "wk-")

		wrong := vtNewMaster(t)
		logger := slog.New(slog.NewTextHandler(io.Discard, nil))
		_, err := server.New(t.Context(), vtConfig(t), st, server.Keys{Master: wrong}, logger)
		if err == nil {
			t.Fatal("a server started with the wrong master key")
		}
		if !strings.Contains(err.Error(), "master key") && !strings.Contains(err.Error(), "MASTER_KEY") {
			t.Fatalf("the start-up error does not mention the master key: %v", err)
		}
		if strings.Contains(err.Error(), wrong.Encode()) || strings.Contains(err.Error(), right.Encode()) {
			t.Fatal("the start-up error shows a key")
		}
		// The wrong key as "previous" changes nothing; the right one as
		// previous of a wrong current key still starts (a rotation window).
		if _, err := server.New(t.Context(), vtConfig(t), st, server.Keys{Master: wrong, Previous: vtNewMaster(t)}, logger); err == nil {
			t.Fatal("a server started with two wrong master keys")
		}
		ew := vtKeysServer(t, st, server.Keys{Master: wrong, Previous: right})
		vtReadsAll(t, ew, o.Token, o.TenantID, want)
		// The running server with the right key is unaffected.
		vtReadsAll(t, e, o.Token, o.TenantID, want)
	})
}

// TestDEKOverlappingRotationsKeepEveryCredential: an admin rotates a
// tenant's DEK four times, each while the job of the previous rotation is
// still re-encrypting. Once the jobs are done, every credential must be on
// the active DEK and open.
//
// Known bug (see TestReencryptWithAStaleActiveVersion in dek for the
// deterministic form): on PostgreSQL this loses every credential in about
// half of the runs — they end up sealed under a DEK version that one of the
// jobs destroyed — and otherwise leaves rows moved back to retired
// versions. It is a stress test: with the bug fixed it always passes.
func TestDEKOverlappingRotationsKeepEveryCredential(t *testing.T) {
	t.Parallel()
	mk := vtNewMaster(t)
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		o := vtRegister(t, e, "Overlap")
		ctx := store.Unrestricted(t.Context())
		// 6,000 credentials, sealed as the server does, inserted directly.
		m := dek.New(e.Store.Client, mk, nil)
		v, k, err := m.Active(ctx, e.Store.Client, o.TenantID)
		if err != nil {
			t.Fatal(err)
		}
		want := map[uuid.UUID][]byte{}
		for range 12 {
			var batch []*ent.CredentialCreate
			for range 500 {
				id := uuid.New()
				pt := []byte(`{"api_key":"` + vtSecret(vtTag(), "api_key", "overlap") + `"}`)
				ct, err := crypt.SealCredential(k, pt, o.TenantID, id, v)
				if err != nil {
					t.Fatal(err)
				}
				want[id] = pt
				batch = append(batch, e.Store.Client.Credential.Create().SetID(id).SetTenantID(o.TenantID).
					SetIntegrationID("overlap").SetAuthType("api_key").SetCiphertext(ct).SetDekVersion(v))
			}
			if err := e.Store.Client.Credential.CreateBulk(batch...).Exec(ctx); err != nil {
				t.Fatal(err)
			}
		}
		var jobs []uuid.UUID
		for i := range 4 {
			jobs = append(jobs, vtRotate(t, e, o.Token, map[string]any{}).JobID)
			time.Sleep(time.Duration(200+150*i) * time.Millisecond) // let the job get under way
		}
		// Jobs may retry (with backoff) while others move rows; wait for all.
		deadline := time.Now().Add(90 * time.Second)
		for _, id := range jobs {
			for {
				j, err := e.Store.Client.Job.Get(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				if j.Status == job.StatusCompleted {
					break
				}
				if j.Status == job.StatusFailed || time.Now().After(deadline) {
					t.Fatalf("rotation job %s is %s after %d attempts: %s", id, j.Status, j.Attempts, j.LastError)
				}
				time.Sleep(50 * time.Millisecond)
			}
		}
		vtExpectKeys(t, e, o.TenantID, map[int]datakey.Status{1: datakey.StatusDestroyed, 2: datakey.StatusDestroyed,
			3: datakey.StatusDestroyed, 4: datakey.StatusDestroyed, 5: datakey.StatusActive})
		if got := vtVersions(t, e, o.TenantID); len(got) != 1 || got[5] != len(want) {
			t.Errorf("credentials by DEK version %v, want all %d on v5", got, len(want))
		}
		fresh := dek.New(e.Store.Client, mk, nil)
		lost := 0
		for _, c := range vtRows(t, e, o.TenantID) {
			key, err := fresh.Key(ctx, c.TenantID, c.DekVersion)
			var pt []byte
			if err == nil {
				pt, err = crypt.OpenCredential(key, c.Ciphertext, c.TenantID, c.ID, c.DekVersion)
			}
			if err != nil || string(pt) != string(want[c.ID]) {
				lost++
			}
		}
		if lost > 0 {
			t.Fatalf("%d of %d credentials no longer open after overlapping rotations", lost, len(want))
		}
	}, vtWithMaster(mk))
}
