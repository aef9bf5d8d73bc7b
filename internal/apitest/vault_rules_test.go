package apitest_test

// The rules of the vault service, over HTTP on SQLite and PostgreSQL: one
// declaration for reading an integration's credentials (with data:
// credentials:decrypt alone; metadata: credentials:read), mutation payloads
// that resolve their edges after the commit, and rotateDEK in another
// tenant only as the one act-in-another-tenant rule allows.
//
// Local identifiers start with "vr". Secrets are compared, never printed.

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"testing"

	"github.com/google/uuid"

	"github.com/credvault/credvault/ent/auditlog"
	"github.com/credvault/credvault/ent/credential"
	"github.com/credvault/credvault/ent/datakey"
	"github.com/credvault/credvault/ent/job"
	"github.com/credvault/credvault/internal/apitest"
)

// vrCred is a credential as REST and GraphQL show it here.
type vrCred struct {
	ID   uuid.UUID      `json:"id"`
	Name string         `json:"name"`
	Data map[string]any `json:"data"`
}

// vrStore stores a bearer_token credential of integ as cred and returns its id.
func vrStore(t *testing.T, e *apitest.Env, cred, integ, name, secret string) uuid.UUID {
	t.Helper()
	r := do(e, http.MethodPost, "/api/v1/credentials", cred, map[string]any{
		"integration_id": integ, "name": name, "auth_type": "bearer_token", "data": map[string]any{"token": secret}})
	var c vrCred
	wantOK(t, r, http.StatusCreated, &c)
	return c.ID
}

// vrPath is the REST path of an integration's credentials.
func vrPath(integ string, rest ...string) string {
	p := "/api/v1/credentials/" + url.PathEscape(integ)
	for _, s := range rest {
		p += "/" + s
	}
	return p
}

// vrCount counts the tenant's audit entries of action by actor whose
// details.required_scope is scope (any, when "").
func vrCount(t *testing.T, e *apitest.Env, tenantID uuid.UUID, action, actor, scope string) int {
	t.Helper()
	n := 0
	for _, a := range auditEntries(t, e, tenantID, action, "") {
		if a.ActorID == actor && (scope == "" || a.Details["required_scope"] == scope) {
			n++
		}
	}
	return n
}

const vrGQLWithData = `query($i: String!) { credential(integrationID: $i) { integrationID credentials { id name data } } }`

const vrGQLMetadata = `query($i: String!) { credential(integrationID: $i) { integrationID credentials { id name } } }`

// vrGQLCreds decodes the credentials of a credential(integrationID) answer.
func vrGQLCreds(t *testing.T, g *apitest.GraphQLResponse) []vrCred {
	t.Helper()
	var out struct {
		Credential struct {
			Credentials []vrCred `json:"credentials"`
		} `json:"credential"`
	}
	if err := json.Unmarshal(g.Data, &out); err != nil {
		t.Fatalf("decode credential: %v", err)
	}
	return out.Credential.Credentials
}

// TestVaultDecryptScopeAloneReadsTheData: reading an integration's
// credentials with their data needs credentials:decrypt and nothing else
// (SPEC §5, the OpenAPI document); their metadata needs credentials:read.
// Before, the data route and the GraphQL field also wanted credentials:read,
// so a decrypt-only key was refused on its own route.
func TestVaultDecryptScopeAloneReadsTheData(t *testing.T) {
	t.Parallel()
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		tn := register(t, e, "Vault Rule")
		integ := "rule-" + randTag()
		secrets := map[uuid.UUID]string{}
		for _, name := range []string{"one", "two"} {
			s := "vrsecret-" + randTag()
			secrets[vrStore(t, e, tn.AccessToken, integ, name, s)] = s
		}
		decrypter := tn.key(t, "credentials:decrypt")
		reader := tn.key(t, "credentials:read")
		sameData := func(what string, cs []vrCred) {
			t.Helper()
			if len(cs) != len(secrets) {
				t.Fatalf("%s: %d credentials, want %d", what, len(cs), len(secrets))
			}
			for _, c := range cs {
				want, ok := secrets[c.ID]
				if !ok || c.Data["token"] != want {
					t.Fatalf("%s: credential %s does not carry its stored data", what, c.ID)
				}
			}
		}

		// credentials:decrypt alone: the data, over REST and GraphQL.
		var got struct {
			IntegrationID string   `json:"integration_id"`
			Credentials   []vrCred `json:"credentials"`
		}
		wantOK(t, do(e, http.MethodGet, vrPath(integ), decrypter.Key, nil), http.StatusOK, &got)
		if got.IntegrationID != integ {
			t.Fatalf("integration_id %q, want %q", got.IntegrationID, integ)
		}
		sameData("REST, decrypt-only key", got.Credentials)
		g := gqlDo(e, decrypter.Key, vrGQLWithData, map[string]any{"i": integ})
		if len(g.Errors) > 0 {
			t.Fatalf("GraphQL with data, decrypt-only key: %s", showGQL(g))
		}
		sameData("GraphQL, decrypt-only key", vrGQLCreds(t, g))
		// ... but not the metadata alone.
		wantError(t, do(e, http.MethodGet, vrPath(integ, "details"), decrypter.Key, nil),
			http.StatusForbidden, "FORBIDDEN", "required_scope", "credentials:read")
		gqlErr(t, e, decrypter.Key, vrGQLMetadata, map[string]any{"i": integ}, "FORBIDDEN", "required_scope", "credentials:read")

		// credentials:read alone: the metadata, never the data.
		refused := do(e, http.MethodGet, vrPath(integ), reader.Key, nil)
		wantError(t, refused, http.StatusForbidden, "FORBIDDEN", "required_scope", "credentials:decrypt")
		var det struct {
			Credentials []json.RawMessage `json:"credentials"`
		}
		details := do(e, http.MethodGet, vrPath(integ, "details"), reader.Key, nil)
		wantOK(t, details, http.StatusOK, &det)
		if len(det.Credentials) != len(secrets) {
			t.Fatalf("details, read-only key: %d credentials, want %d", len(det.Credentials), len(secrets))
		}
		withData := gqlDo(e, reader.Key, vrGQLWithData, map[string]any{"i": integ})
		wantGQLError(t, withData, "FORBIDDEN", "required_scope", "credentials:decrypt")
		if cs := vrGQLCreds(t, withData); len(cs) != 0 {
			t.Fatalf("GraphQL with data, read-only key: %d credentials answered", len(cs))
		}
		metadata := gqlDo(e, reader.Key, vrGQLMetadata, map[string]any{"i": integ})
		if len(metadata.Errors) > 0 || len(vrGQLCreds(t, metadata)) != len(secrets) {
			t.Fatalf("GraphQL metadata, read-only key: %s", showGQL(metadata))
		}
		for _, body := range [][]byte{refused.Body, details.Body, withData.Data, metadata.Data} {
			for _, s := range secrets {
				if bytes.Contains(body, []byte(s)) {
					t.Fatal("an answer to the read-only key carries a credential's data")
				}
			}
		}

		// The database: each decrypt stamped last_accessed_at, and the audit
		// trail has every decrypt (2 rows × REST and GraphQL) by the decrypting
		// key, none by the reader, and each refusal.
		e.Flush()
		for id := range secrets {
			c, err := e.Store.Client.Credential.Get(unrestricted(), id)
			if err != nil {
				t.Fatal(err)
			}
			if c.LastAccessedAt == nil || c.TenantID != tn.TenantID {
				t.Fatalf("credential %s: last_accessed_at not set by the decrypt-only reads", id)
			}
		}
		if n := vrCount(t, e, tn.TenantID, "credential.decrypt", decrypter.ID.String(), ""); n != 4 {
			t.Fatalf("%d credential.decrypt entries by the decrypt-only key, want 4", n)
		}
		if n := vrCount(t, e, tn.TenantID, "credential.decrypt", reader.ID.String(), ""); n != 0 {
			t.Fatalf("%d credential.decrypt entries by the read-only key, want 0", n)
		}
		if n := vrCount(t, e, tn.TenantID, "permission.denied", reader.ID.String(), "credentials:decrypt"); n != 2 {
			t.Fatalf("%d permission.denied entries (credentials:decrypt) by the read-only key, want 2", n)
		}
		if n := vrCount(t, e, tn.TenantID, "permission.denied", decrypter.ID.String(), "credentials:read"); n != 2 {
			t.Fatalf("%d permission.denied entries (credentials:read) by the decrypt-only key, want 2", n)
		}
		for _, a := range auditEntries(t, e, tn.TenantID, "credential.decrypt", "") {
			if a.ActorType != "api_key" || a.Outcome != auditlog.OutcomeSuccess {
				t.Fatalf("credential.decrypt entry by %s with outcome %s", a.ActorType, a.Outcome)
			}
		}
	})
}

// TestVaultMutationPayloadsResolveEdgesAfterCommit: storeCredential and
// updateCredential return their credential with its edges, read after the
// commit. Before, the payload was bound to the committed transaction and
// every edge was an INTERNAL_ERROR.
func TestVaultMutationPayloadsResolveEdgesAfterCommit(t *testing.T) {
	t.Parallel()
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		tn := register(t, e, "Vault Payload")
		integ := "payload-" + randTag()
		type payload struct {
			ID     uuid.UUID `json:"id"`
			Name   string    `json:"name"`
			Status string    `json:"status"`
			Tenant struct {
				Name string `json:"name"`
			} `json:"tenant"`
			AuditLogs struct {
				TotalCount int `json:"totalCount"`
			} `json:"auditLogs"`
		}
		const fields = `id name status tenant { name } auditLogs { totalCount }`

		var stored struct {
			StoreCredential payload `json:"storeCredential"`
		}
		gql(t, e, tn.AccessToken, `mutation($in: StoreCredentialInput!) { storeCredential(input: $in) { `+fields+` } }`,
			map[string]any{"in": map[string]any{"integrationID": integ, "name": "first", "authType": "bearer_token",
				"data": map[string]any{"token": "vrsecret-" + randTag()}}}, &stored)
		c := stored.StoreCredential
		if c.ID == uuid.Nil || c.Name != "first" || c.Tenant.Name != tn.Name || c.AuditLogs.TotalCount != 1 {
			t.Fatalf("storeCredential payload: name %q, tenant %q (want %q), %d audit entries (want 1)",
				c.Name, c.Tenant.Name, tn.Name, c.AuditLogs.TotalCount)
		}

		var updated struct {
			UpdateCredential payload `json:"updateCredential"`
		}
		gql(t, e, tn.AccessToken, `mutation($i: String!, $id: ID!) { updateCredential(integrationID: $i, id: $id, input: {name: "second", status: disabled}) { `+fields+` } }`,
			map[string]any{"i": integ, "id": c.ID}, &updated)
		u := updated.UpdateCredential
		if u.ID != c.ID || u.Name != "second" || u.Status != "disabled" || u.Tenant.Name != tn.Name || u.AuditLogs.TotalCount != 2 {
			t.Fatalf("updateCredential payload: name %q status %q, tenant %q (want %q), %d audit entries (want 2)",
				u.Name, u.Status, u.Tenant.Name, tn.Name, u.AuditLogs.TotalCount)
		}

		// The database holds what the payloads said, each change audited.
		row, err := e.Store.Client.Credential.Get(unrestricted(), c.ID)
		if err != nil {
			t.Fatal(err)
		}
		if row.TenantID != tn.TenantID || row.Name != "second" || row.Status != credential.StatusDisabled {
			t.Fatalf("credential row: name %q status %s", row.Name, row.Status)
		}
		oneAudit(t, e, tn.TenantID, "credential.create", auditlog.OutcomeSuccess, c.ID.String())
		up := oneAudit(t, e, tn.TenantID, "credential.update", auditlog.OutcomeSuccess, c.ID.String())
		if up.ActorID != tn.UserID.String() {
			t.Fatalf("credential.update by %s, want the owner", up.ActorID)
		}
	})
}

// TestVaultRotateDEKInAnotherTenantIsTheTenantRule: rotateDEK names another
// tenant only as access.RotateDEK's tenant rule allows, through the one
// act-in-another-tenant check: a tenant's owner naming another tenant gets
// the 404 of an id that does not exist, and nothing rotates.
func TestVaultRotateDEKInAnotherTenantIsTheTenantRule(t *testing.T) {
	t.Parallel()
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		a, b := register(t, e, "Vault Rot A"), register(t, e, "Vault Rot B")
		vrStore(t, e, b.AccessToken, "rot-"+randTag(), "b", "vrsecret-"+randTag())
		for _, target := range []uuid.UUID{b.TenantID, uuid.New()} {
			wantError(t, do(e, http.MethodPost, "/api/v1/admin/dek/rotate", a.AccessToken, map[string]any{"tenant_id": target}),
				http.StatusNotFound, "NOT_FOUND")
			gqlErr(t, e, a.AccessToken, `mutation($t: ID) { rotateDEK(tenantID: $t) { dekVersion } }`, map[string]any{"t": target}, "NOT_FOUND")
		}
		n, err := e.Store.Client.Job.Query().Where(job.Name("dek_rotation")).Count(unrestricted())
		if err != nil {
			t.Fatal(err)
		}
		keys, err := e.Store.Client.DataKey.Query().Where(datakey.TenantID(b.TenantID)).All(unrestricted())
		if err != nil {
			t.Fatal(err)
		}
		if n != 0 || len(keys) != 1 || keys[0].Status != datakey.StatusActive {
			t.Fatalf("after refused rotations: %d dek_rotation jobs, %d data keys of B", n, len(keys))
		}
		if got := auditEntries(t, e, b.TenantID, "dek.rotate", ""); len(got) != 0 {
			t.Fatalf("%d dek.rotate entries in B", len(got))
		}
		// Its own tenant, named or not: 202.
		for _, body := range []map[string]any{{}, {"tenant_id": a.TenantID}} {
			wantStatus(t, do(e, http.MethodPost, "/api/v1/admin/dek/rotate", a.AccessToken, body), http.StatusAccepted)
		}
		if got := auditEntries(t, e, a.TenantID, "dek.rotate", ""); len(got) != 2 || got[0].ActorID != a.UserID.String() {
			t.Fatalf("%d dek.rotate entries in A, want 2 by its owner", len(got))
		}
	})
}
