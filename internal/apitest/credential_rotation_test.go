package apitest_test

// DEK rotation and master-key rotation over real HTTP, on SQLite and
// PostgreSQL: POST /admin/dek/rotate (202, new writes on the new version at
// once, the dek_rotation job run by the server's own queue re-encrypts the
// tenant and destroys the old DEK), who may rotate which tenant, and
// server.RotateMasterKey followed by a server that holds the new key alone.
//
// Helpers are the kit's and the vault's own of credential_test.go.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
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
	"github.com/credvault/credvault/internal/platform/store"
	"github.com/credvault/credvault/internal/platform/store/storetest"
	"github.com/credvault/credvault/internal/vault/crypt"
	"github.com/credvault/credvault/internal/vault/dek"
	"github.com/credvault/credvault/server"
)

// rotationJSON is the data of POST /admin/dek/rotate.
type rotationJSON struct {
	DEKVersion int       `json:"dek_version"`
	JobID      uuid.UUID `json:"job_id"`
}

// rotateDEK rotates as bearer, with body, and expects the 202.
func rotateDEK(t *testing.T, e *apitest.Env, bearer string, body any) rotationJSON {
	t.Helper()
	r := do(e, http.MethodPost, "/api/v1/admin/dek/rotate", bearer, body)
	wantOK(t, r, http.StatusAccepted, nil)
	var raw map[string]json.RawMessage
	r.Data(t, &raw)
	if len(raw) != 2 || raw["dek_version"] == nil || raw["job_id"] == nil {
		t.Fatalf("rotate answered keys %v, want dek_version and job_id", slices.Sorted(maps.Keys(raw)))
	}
	var out rotationJSON
	r.Data(t, &out)
	if out.JobID == uuid.Nil || out.DEKVersion < 1 {
		t.Fatalf("rotate answered %+v", out)
	}
	return out
}

// storeEveryType stores one credential of every auth type for owner and
// returns the data by credential id.
func storeEveryType(t *testing.T, e *apitest.Env, owner *tenantFixture, prefix string) map[uuid.UUID]map[string]any {
	t.Helper()
	tag := randTag()
	out := map[uuid.UUID]map[string]any{}
	for _, at := range authTypes {
		d := secretData(at.name, tag, true)
		c := storeCred(t, e, owner.AccessToken, map[string]any{"integration_id": prefix + at.name, "auth_type": at.name, "data": d})
		out[c.ID] = d
	}
	return out
}

// readsAll fails unless every credential of want reads back, decrypted
// through REST, as stored.
func readsAll(t *testing.T, e *apitest.Env, bearer string, tenant uuid.UUID, want map[uuid.UUID]map[string]any) {
	t.Helper()
	seen := map[string]bool{}
	for id := range want {
		row := credRow(t, e, id)
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
		for _, c := range readCreds(t, e, bearer, row.IntegrationID).Credentials {
			if w, ok := want[c.ID]; ok && !sameJSON(c.Data, w) {
				t.Fatalf("credential %s (%s) does not read back as stored", c.ID, c.AuthType)
			}
		}
	}
}

// dekVersions counts the tenant's credentials by DEK version.
func dekVersions(t *testing.T, e *apitest.Env, tenant uuid.UUID) map[int]int {
	t.Helper()
	out := map[int]int{}
	for _, r := range credRows(t, e, tenant) {
		out[r.DekVersion]++
	}
	return out
}

// wantDEKs checks the tenant's DEKs: status by version, and wrapped_key
// NULL exactly for the destroyed ones.
func wantDEKs(t *testing.T, e *apitest.Env, tenant uuid.UUID, want map[int]datakey.Status) {
	t.Helper()
	keys := dataKeys(t, e, tenant)
	if len(keys) != len(want) {
		t.Fatalf("tenant has %d DEKs, want %d", len(keys), len(want))
	}
	for v, st := range want {
		k := keys[v]
		if k == nil || k.Status != st {
			t.Fatalf("DEK v%d: %v, want %s", v, k, st)
		}
		if null := wrappedKeyNull(t, e, tenant, v); null != (st == datakey.StatusDestroyed) {
			t.Fatalf("DEK v%d (%s): wrapped_key IS NULL = %v", v, st, null)
		}
	}
}

// ---------------------------------------------------------------------------
// 8. DEK rotation

func TestDEKRotation(t *testing.T) {
	t.Parallel()
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		o := register(t, e, "Rotate")
		bystander := register(t, e, "Bystander")
		want := storeEveryType(t, e, o, "rot-")
		theirs := storeEveryType(t, e, bystander, "rot-")
		if v := dekVersions(t, e, o.TenantID); v[1] != len(want) || len(v) != 1 {
			t.Fatalf("before the rotation: credentials by version %v", v)
		}

		rot := rotateDEK(t, e, o.AccessToken, map[string]any{})
		if rot.DEKVersion != 2 {
			t.Fatalf("rotation answered dek_version %d, want 2", rot.DEKVersion)
		}
		// New writes use v2 at once, whatever the job has done so far.
		nd := secretData("api_key", randTag(), true)
		nc := storeCred(t, e, o.AccessToken, map[string]any{"integration_id": "rot-new", "auth_type": "api_key", "data": nd})
		if row := credRow(t, e, nc.ID); row.DekVersion != 2 {
			t.Fatalf("a credential stored after the rotation is on DEK v%d, want v2", row.DekVersion)
		}
		want[nc.ID] = nd

		j := waitJob(t, e, rot.JobID, 30*time.Second)
		if j.Name != "dek_rotation" || j.Args["tenant_id"] != o.TenantID.String() || j.Attempts != 1 || j.LastError != "" {
			t.Fatalf("job %s args %v attempts %d", j.Name, j.Args, j.Attempts)
		}
		if v := dekVersions(t, e, o.TenantID); v[2] != len(want) || len(v) != 1 {
			t.Fatalf("after the job: credentials by version %v, want all %d on v2", v, len(want))
		}
		wantDEKs(t, e, o.TenantID, map[int]datakey.Status{1: datakey.StatusDestroyed, 2: datakey.StatusActive})
		readsAll(t, e, o.AccessToken, o.TenantID, want)
		// The other tenant was not touched.
		if v := dekVersions(t, e, bystander.TenantID); v[1] != len(theirs) || len(v) != 1 {
			t.Fatalf("bystander credentials by version %v", v)
		}
		wantDEKs(t, e, bystander.TenantID, map[int]datakey.Status{1: datakey.StatusActive})
		readsAll(t, e, bystander.AccessToken, bystander.TenantID, theirs)

		// Audited, with the version and the job.
		rots := auditEntries(t, e, o.TenantID, "dek.rotate", "")
		if len(rots) != 1 || rots[0].ActorID != o.UserID.String() || rots[0].ResourceType != "data_key" ||
			rots[0].ResourceID != o.TenantID.String() || rots[0].Details["job_id"] != rot.JobID.String() ||
			!sameJSON(rots[0].Details["dek_version"], 2) {
			t.Fatalf("dek.rotate entries: %d", len(rots))
		}
		// An admin rotates again, over GraphQL.
		admin := o.user(t, "admin")
		g := e.GraphQL(`mutation { rotateDEK { dekVersion jobID } }`, nil, admin.AccessToken)
		var gr struct {
			RotateDEK struct {
				DekVersion int       `json:"dekVersion"`
				JobID      uuid.UUID `json:"jobID"`
			} `json:"rotateDEK"`
		}
		if len(g.Errors) > 0 {
			t.Fatalf("GraphQL rotateDEK by an admin: %s", showGQL(g))
		}
		if err := json.Unmarshal(g.Data, &gr); err != nil || gr.RotateDEK.DekVersion != 3 {
			t.Fatalf("GraphQL rotateDEK answered v%d (%v), want v3", gr.RotateDEK.DekVersion, err)
		}
		waitJob(t, e, gr.RotateDEK.JobID, 30*time.Second)
		if v := dekVersions(t, e, o.TenantID); v[3] != len(want) || len(v) != 1 {
			t.Fatalf("after the second job: credentials by version %v", v)
		}
		wantDEKs(t, e, o.TenantID, map[int]datakey.Status{1: datakey.StatusDestroyed, 2: datakey.StatusDestroyed, 3: datakey.StatusActive})
		readsAll(t, e, o.AccessToken, o.TenantID, want)

		// Naming its own tenant is the same as naming none.
		rot = rotateDEK(t, e, o.AccessToken, map[string]any{"tenant_id": o.TenantID})
		if rot.DEKVersion != 4 {
			t.Fatalf("rotation naming the own tenant answered v%d, want v4", rot.DEKVersion)
		}
		waitJob(t, e, rot.JobID, 30*time.Second)
		wantDEKs(t, e, o.TenantID, map[int]datakey.Status{1: datakey.StatusDestroyed, 2: datakey.StatusDestroyed,
			3: datakey.StatusDestroyed, 4: datakey.StatusActive})
		readsAll(t, e, o.AccessToken, o.TenantID, want)
	})
}

func TestDEKRotationPermissions(t *testing.T) {
	t.Parallel()
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		o, b := register(t, e, "Perm A"), register(t, e, "Perm B")
		member, viewer := o.user(t, "member"), o.user(t, "viewer")
		mine := storeEveryType(t, e, o, "p-")
		theirs := storeEveryType(t, e, b, "p-")
		jobsBefore := func() int {
			n, err := e.Store.Client.Job.Query().Where(job.Name("dek_rotation")).Count(store.Unrestricted(t.Context()))
			if err != nil {
				t.Fatal(err)
			}
			return n
		}

		for _, p := range []principal{member, viewer} {
			r := do(e, http.MethodPost, "/api/v1/admin/dek/rotate", p.AccessToken, map[string]any{})
			wantError(t, r, http.StatusForbidden, "FORBIDDEN", "required_scope", "vault:admin")
			g := e.GraphQL(`mutation { rotateDEK { dekVersion } }`, nil, p.AccessToken)
			wantGQLError(t, g, "FORBIDDEN", "required_scope", "vault:admin")
		}
		wantError(t, do(e, http.MethodPost, "/api/v1/admin/dek/rotate", "", map[string]any{}), http.StatusUnauthorized, "UNAUTHORIZED")
		// An owner may not name another tenant, existing or not: to it,
		// another tenant is one that does not exist (SPEC §2).
		for _, target := range []string{b.TenantID.String(), uuid.NewString()} {
			r := do(e, http.MethodPost, "/api/v1/admin/dek/rotate", o.AccessToken, map[string]any{"tenant_id": target})
			wantError(t, r, http.StatusNotFound, "NOT_FOUND")
			g := e.GraphQL(`mutation($t: ID) { rotateDEK(tenantID: $t) { dekVersion } }`, map[string]any{"t": target}, o.AccessToken)
			wantGQLError(t, g, "NOT_FOUND")
		}
		wantError(t, do(e, http.MethodPost, "/api/v1/admin/dek/rotate", o.AccessToken, map[string]any{"tenant_id": "not-a-uuid"}),
			http.StatusUnprocessableEntity, "VALIDATION_ERROR", "field", "tenant_id")
		wantError(t, do(e, http.MethodPost, "/api/v1/admin/dek/rotate", o.AccessToken, map[string]any{"tenant": b.TenantID}),
			http.StatusUnprocessableEntity, "VALIDATION_ERROR", "field", "tenant")
		// Nothing moved.
		if n := jobsBefore(); n != 0 {
			t.Fatalf("%d dek_rotation jobs after refused rotations", n)
		}
		wantDEKs(t, e, o.TenantID, map[int]datakey.Status{1: datakey.StatusActive})
		wantDEKs(t, e, b.TenantID, map[int]datakey.Status{1: datakey.StatusActive})
		denied := 0
		for _, a := range auditEntries(t, e, o.TenantID, "permission.denied", "") {
			if a.Details["required_scope"] == "vault:admin" {
				denied++
			}
		}
		if denied < 4 {
			t.Fatalf("%d permission.denied entries for the refused rotations, want at least 4", denied)
		}

		// The platform admin rotates tenant B.
		adm := login(t, e, adminEmail, adminPass, "")
		rot := rotateDEK(t, e, adm.AccessToken, map[string]any{"tenant_id": b.TenantID})
		if rot.DEKVersion != 2 {
			t.Fatalf("platform admin's rotation of B answered v%d, want v2", rot.DEKVersion)
		}
		j := waitJob(t, e, rot.JobID, 30*time.Second)
		if j.Args["tenant_id"] != b.TenantID.String() {
			t.Fatalf("the job re-encrypts tenant %v, want B", j.Args["tenant_id"])
		}
		if v := dekVersions(t, e, b.TenantID); v[2] != len(theirs) || len(v) != 1 {
			t.Fatalf("B's credentials by version %v", v)
		}
		wantDEKs(t, e, b.TenantID, map[int]datakey.Status{1: datakey.StatusDestroyed, 2: datakey.StatusActive})
		readsAll(t, e, b.AccessToken, b.TenantID, theirs)
		// A was not touched.
		wantDEKs(t, e, o.TenantID, map[int]datakey.Status{1: datakey.StatusActive})
		readsAll(t, e, o.AccessToken, o.TenantID, mine)
		// Recorded in B, with the platform admin as actor.
		rots := auditEntries(t, e, b.TenantID, "dek.rotate", "")
		if len(rots) != 1 || rots[0].ActorID != adm.UserID.String() {
			t.Fatalf("dek.rotate entries in B: %d", len(rots))
		}
		// A tenant that does not exist: 404.
		wantError(t, do(e, http.MethodPost, "/api/v1/admin/dek/rotate", adm.AccessToken, map[string]any{"tenant_id": uuid.NewString()}),
			http.StatusNotFound, "NOT_FOUND")
	}, withAdmin)
}

// TestCredentialReadRacingTheEndOfARotation: a decrypting read loads its
// rows, and before it decrypts them a DEK rotation finishes: every row has
// moved to the new DEK and the old one is destroyed. The read must still
// answer the data (SPEC §7: reads work throughout a rotation).
//
// It guards the fix of an old fault: the decrypt opened the row it loaded
// with the DEK of the loaded version and, that version destroyed in
// between, failed with 500 instead of re-reading the row.
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
						hookErr <- rotateToTheEnd(st, url, token)
					}
					return v, err
				})
			}))
			e := apitest.New(t, st)
			o := register(t, e, "Race")
			want := storeEveryType(t, e, o, "race-")
			url, token = e.Server.URL, o.AccessToken
			armed.Store(true)
			r := e.Get(credPath("race-api_key"), o.AccessToken)
			if err := <-hookErr; err != nil {
				t.Fatalf("the rotation in between: %v", err)
			}
			wantDEKs(t, e, o.TenantID, map[int]datakey.Status{1: datakey.StatusDestroyed, 2: datakey.StatusActive})
			wantOK(t, r, http.StatusOK, nil)
			var got integrationJSON
			r.Data(t, &got)
			for _, c := range got.Credentials {
				if !sameJSON(c.Data, want[c.ID]) {
					t.Fatal("the read racing the rotation answered other data")
				}
			}
		})
	}
}

// rotateToTheEnd rotates the DEK over HTTP and waits until the job has
// completed. It runs on a server goroutine: it returns errors, never fails
// the test itself.
func rotateToTheEnd(st *store.Store, url, token string) error {
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
		Data rotationJSON `json:"data"`
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

func TestMasterKeyRotation(t *testing.T) {
	t.Parallel()
	storetest.EachParallel(t, func(t *testing.T, st *store.Store) {
		ctx := t.Context()
		a, b := newMaster(t), newMaster(t)

		// Under master key A: two tenants, one of them rotated once (v1
		// destroyed, v2 active).
		ea := apitest.New(t, st, withMaster(a))
		o := register(t, ea, "Master")
		want := storeEveryType(t, ea, o, "mk-")
		waitJob(t, ea, rotateDEK(t, ea, o.AccessToken, map[string]any{}).JobID, 30*time.Second)
		nd := secretData("jwt", randTag(), true)
		want[storeCred(t, ea, o.AccessToken, map[string]any{"integration_id": "mk-after", "auth_type": "jwt", "data": nd}).ID] = nd
		p := register(t, ea, "Master P")
		theirs := storeEveryType(t, ea, p, "mk-")

		// The window of a rotation: a server holding B, with A as previous,
		// reads what A wrapped, and wraps new DEKs under B.
		ew := apitest.Start(t, st, apitest.Config(t), server.Keys{Master: b, Previous: a})
		readsAll(t, ew, o.AccessToken, o.TenantID, want)
		q := register(t, ew, "Master Q")
		late := storeEveryType(t, ew, q, "mk-")
		qk := dataKeys(t, ew, q.TenantID)[1]
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
				if !wrappedKeyNull(t, ea, k.TenantID, k.Version) {
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
		eb := apitest.New(t, st, withMaster(b))
		readsAll(t, eb, o.AccessToken, o.TenantID, want)
		readsAll(t, eb, p.AccessToken, p.TenantID, theirs)
		readsAll(t, eb, q.AccessToken, q.TenantID, late)
		email := "mk-user-" + randTag() + "@vault.test"
		wantOK(t, do(eb, http.MethodPost, "/api/v1/admin/users", o.AccessToken,
			map[string]any{"email": email, "name": "x", "role": "member", "password": testPassword}), http.StatusCreated, nil)

		m := login(t, eb, email, testPassword, o.Slug)
		readsAll(t, eb, m.AccessToken, o.TenantID, want)
		fresh := storeEveryType(t, eb, register(t, eb, "Master R"), "mk-")
		if len(fresh) != len(authTypes) {
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
		_, err = server.New(ctx, apitest.Config(t), st, server.Keys{Master: a}, slog.New(slog.NewTextHandler(io.Discard, nil)))
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
	storetest.EachParallel(t, func(t *testing.T, st *store.Store) {
		right := newMaster(t)
		e := apitest.New(t, st, withMaster(right))
		o := register(t, e, "Wrong key")
		want := storeEveryType(t, e, o, "wk-")

		wrong := newMaster(t)
		logger := slog.New(slog.NewTextHandler(io.Discard, nil))
		_, err := server.New(t.Context(), apitest.Config(t), st, server.Keys{Master: wrong}, logger)
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
		if _, err := server.New(t.Context(), apitest.Config(t), st, server.Keys{Master: wrong, Previous: newMaster(t)}, logger); err == nil {
			t.Fatal("a server started with two wrong master keys")
		}
		ew := apitest.Start(t, st, apitest.Config(t), server.Keys{Master: wrong, Previous: right})
		readsAll(t, ew, o.AccessToken, o.TenantID, want)
		// The running server with the right key is unaffected.
		readsAll(t, e, o.AccessToken, o.TenantID, want)
	})
}

// TestDEKOverlappingRotationsKeepEveryCredential: an admin rotates a
// tenant's DEK four times, each while the job of the previous rotation is
// still re-encrypting. Once the jobs are done, every credential must be on
// the active DEK and open.
//
// A stress test of a fixed fault (TestReencryptWithAStaleActiveVersion in
// dek is its deterministic form): on PostgreSQL overlapping jobs once left
// credentials sealed under a DEK version another job destroyed, or moved
// rows back to retired versions.
// TestDEKRotationsAtOnce: rotations of one tenant's DEK requested together
// all succeed, each a version of its own, one left active, and the
// credentials end on it and open. On PostgreSQL they took
// the same next version and all but one failed on its uniqueness (409).
func TestDEKRotationsAtOnce(t *testing.T) {
	t.Parallel()
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		const n = 6
		o := register(t, e, "Rotations At Once")
		want := storeEveryType(t, e, o, "at-once-")
		answers := atOnce(n, func(int) *apitest.Response {
			return do(e, http.MethodPost, "/api/v1/admin/dek/rotate", o.AccessToken, map[string]any{})
		})
		rots := make([]rotationJSON, n)
		versions := map[int]bool{}
		for i, r := range answers {
			wantOK(t, r, http.StatusAccepted, &rots[i])
			versions[rots[i].DEKVersion] = true
		}
		for v := 2; v <= n+1; v++ {
			if !versions[v] {
				t.Fatalf("rotations answered versions %v, want each of 2..%d once", versions, n+1)
			}
		}
		// A job that ran while a later rotation came retries; the rows end
		// on the last version.
		eventually(t, 60*time.Second, "every credential on the last DEK", func() (bool, string) {
			v := dekVersions(t, e, o.TenantID)
			return v[n+1] == len(want) && len(v) == 1, fmt.Sprint(v)
		})
		for _, r := range rots {
			if j, err := e.Store.Client.Job.Get(unrestricted(), r.JobID); err != nil || j.Status == job.StatusFailed {
				t.Fatalf("job %s: %v %v", r.JobID, j, err)
			}
		}
		active := 0
		for _, k := range dataKeys(t, e, o.TenantID) {
			if k.Status == datakey.StatusActive {
				active++
				if k.Version != n+1 {
					t.Fatalf("DEK v%d is active, want v%d", k.Version, n+1)
				}
			}
		}
		if active != 1 {
			t.Fatalf("%d active DEKs, want 1", active)
		}
		readsAll(t, e, o.AccessToken, o.TenantID, want)
	})
}

func TestDEKOverlappingRotationsKeepEveryCredential(t *testing.T) {
	t.Parallel()
	mk := newMaster(t)
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		o := register(t, e, "Overlap")
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
				pt := []byte(`{"api_key":"` + vaultSecret(randTag(), "api_key", "overlap") + `"}`)
				ct, err := crypt.Credential.Seal(k, pt, o.TenantID, id, v)
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
			jobs = append(jobs, rotateDEK(t, e, o.AccessToken, map[string]any{}).JobID)
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
		wantDEKs(t, e, o.TenantID, map[int]datakey.Status{1: datakey.StatusDestroyed, 2: datakey.StatusDestroyed,
			3: datakey.StatusDestroyed, 4: datakey.StatusDestroyed, 5: datakey.StatusActive})
		if got := dekVersions(t, e, o.TenantID); len(got) != 1 || got[5] != len(want) {
			t.Errorf("credentials by DEK version %v, want all %d on v5", got, len(want))
		}
		fresh := dek.New(e.Store.Client, mk, nil)
		lost := 0
		for _, c := range credRows(t, e, o.TenantID) {
			key, err := fresh.Key(ctx, c.TenantID, c.DekVersion)
			var pt []byte
			if err == nil {
				pt, err = crypt.Credential.Open(key, c.Ciphertext, c.TenantID, c.ID, c.DekVersion)
			}
			if err != nil || string(pt) != string(want[c.ID]) {
				lost++
			}
		}
		if lost > 0 {
			t.Fatalf("%d of %d credentials no longer open after overlapping rotations", lost, len(want))
		}
	}, withMaster(mk))
}
