package apitest_test

// The first-DEK race: a new tenant's first credential writes, arriving at
// once, all succeed under the one version 1 DEK they share (no 409 from the
// race to create it), and every credential opens to what was stored.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"testing"

	"github.com/google/uuid"

	"github.com/credvault/credvault/ent/datakey"
	"github.com/credvault/credvault/internal/apitest"
)

func TestDEKConcurrentFirstCredentialWrites(t *testing.T) {
	t.Parallel()
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		const tenants, writers = 10, 8
		failed := map[string]int{} // status and error code → count, over every tenant
		for range tenants {
			tn := register(t, e, "DEK Race")
			integ := "race-" + randTag()
			data := make([]map[string]any, writers)
			for i := range data {
				data[i] = secretData("api_key", fmt.Sprintf("%s-%d", integ, i), true)
			}
			answers := atOnce(writers, func(i int) *apitest.Response {
				return do(e, http.MethodPost, "/api/v1/credentials", tn.AccessToken, map[string]any{
					"integration_id": integ, "auth_type": "api_key", "name": fmt.Sprintf("writer %d", i), "data": data[i]})
			})
			ids := make([]uuid.UUID, writers)
			for i, r := range answers {
				if r.Status != http.StatusCreated {
					failed[fmt.Sprintf("%d %s", r.Status, r.ErrorCode())]++
					continue
				}
				var c credJSON
				if err := json.Unmarshal(r.Envelope.Data, &c); err == nil {
					ids[i] = c.ID
				}
			}
			if len(failed) > 0 {
				continue
			}

			got := readCreds(t, e, tn.AccessToken, integ)
			if len(got.Credentials) != writers {
				t.Fatalf("tenant %s: %d credentials read, want %d", tn.Slug, len(got.Credentials), writers)
			}
			for i, id := range ids {
				c := findCred(t, got.Credentials, id)
				if fmt.Sprint(c.Data) != fmt.Sprint(data[i]) {
					t.Fatalf("tenant %s: writer %d's credential opens to other data than it stored", tn.Slug, i)
				}
			}
			rows, err := e.Store.Client.DataKey.Query().Where(datakey.TenantID(tn.TenantID)).All(unrestricted())
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) != 1 || rows[0].Version != 1 || rows[0].Status != datakey.StatusActive {
				t.Fatalf("tenant %s: %d data_keys rows, want one: version 1, active", tn.Slug, len(rows))
			}
		}
		if len(failed) > 0 {
			t.Fatalf("%d tenants × %d concurrent first writes: failures by status and code %v, want every write 201",
				tenants, writers, failed)
		}
	})
}

// TestDEKFirstRotationBesideFirstWrites: a new tenant's first DEK rotation
// arriving with its first credential writes succeeds as they do, and every
// credential opens. On PostgreSQL the rotation's version 1 met the writers'
// and answered 409.
func TestDEKFirstRotationBesideFirstWrites(t *testing.T) {
	t.Parallel()
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		const tenants, writers = 8, 6
		failed := map[string]int{}
		for range tenants {
			tn := register(t, e, "DEK First Rotation")
			integ := "first-rot-" + randTag()
			data := make([]map[string]any, writers)
			for i := range data {
				data[i] = secretData("api_key", fmt.Sprintf("%s-%d", integ, i), true)
			}
			answers := atOnce(writers+1, func(i int) *apitest.Response {
				if i == writers {
					return do(e, http.MethodPost, "/api/v1/admin/dek/rotate", tn.AccessToken, map[string]any{})
				}
				return do(e, http.MethodPost, "/api/v1/credentials", tn.AccessToken, map[string]any{
					"integration_id": integ, "auth_type": "api_key", "name": fmt.Sprintf("writer %d", i), "data": data[i]})
			})
			for i, r := range answers {
				want := http.StatusCreated
				if i == writers {
					want = http.StatusAccepted
				}
				if r.Status != want {
					failed[fmt.Sprintf("%d %s", r.Status, r.ErrorCode())]++
				}
			}
			if len(failed) > 0 {
				continue
			}
			got := readCreds(t, e, tn.AccessToken, integ)
			if len(got.Credentials) != writers {
				t.Fatalf("tenant %s: %d credentials read, want %d", tn.Slug, len(got.Credentials), writers)
			}
			active := 0
			for _, k := range dataKeys(t, e, tn.TenantID) {
				if k.Status == datakey.StatusActive {
					active++
				}
			}
			if active != 1 {
				t.Fatalf("tenant %s: %d active DEKs, want 1", tn.Slug, active)
			}
		}
		if len(failed) > 0 {
			t.Fatalf("%d tenants × a first rotation beside %d first writes: failures by status and code %v, want none",
				tenants, writers, failed)
		}
	})
}
