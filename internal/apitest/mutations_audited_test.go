package apitest_test

// Every mutation is audited (SPEC §8), on SQLite and PostgreSQL: the schema's
// Mutation fields are read by introspection, and each must have an entry in
// auditedMutations that performs it over GraphQL and names the audit action it
// writes, so a new mutation without an audit entry (or without a row here)
// fails the test. A mutation's entry is written in the same transaction as
// its change: with the entry refused by the database (a trigger), the change
// does not persist either.

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/credvault/credvault/ent/apikey"
	"github.com/credvault/credvault/ent/auditlog"
	"github.com/credvault/credvault/ent/credential"
	"github.com/credvault/credvault/ent/tenant"
	"github.com/credvault/credvault/internal/apitest"
)

// auditedMutation performs one mutation over GraphQL and says where its entry
// must be: the tenant, the resource id, and the actor's id.
type auditedMutation struct {
	action string
	run    func(t *testing.T, e *apitest.Env) (tenantID uuid.UUID, resourceID, actorID string)
}

func gqlResult[T any](t *testing.T, e *apitest.Env, cred, query string, vars map[string]any) T {
	t.Helper()
	var out T
	gql(t, e, cred, query, vars, &out)
	return out
}

// auditedMutations names every mutation of the schema and its audit action.
var auditedMutations = map[string]auditedMutation{
	"register": {"auth.register", func(t *testing.T, e *apitest.Env) (uuid.UUID, string, string) {
		out := gqlResult[struct {
			Register struct {
				Tenant struct{ ID uuid.UUID }
				User   struct{ ID string }
			}
		}](t, e, "", `mutation($in: RegisterInput!) { register(input: $in) { tenant { id } user { id } accessToken } }`,
			map[string]any{"in": map[string]any{"tenantName": "Mutant", "email": "m-" + uuid.NewString()[:8] + "@mut.test", "password": testPassword}})
		return out.Register.Tenant.ID, out.Register.Tenant.ID.String(), out.Register.User.ID
	}},
	"login": {"auth.login", func(t *testing.T, e *apitest.Env) (uuid.UUID, string, string) {
		tn := register(t, e, "Login")
		out := gqlResult[struct {
			Login struct{ User struct{ ID string } }
		}](t, e, "",
			`mutation($in: LoginInput!) { login(input: $in) { user { id } accessToken } }`,
			map[string]any{"in": map[string]any{"email": tn.Email, "password": testPassword, "tenant": tn.Slug}})
		return tn.TenantID, out.Login.User.ID, tn.UserID.String()
	}},
	"refreshSession": {"auth.refresh", func(t *testing.T, e *apitest.Env) (uuid.UUID, string, string) {
		tn := register(t, e, "Refresh")
		gqlResult[struct{}](t, e, "", `mutation($in: RefreshSessionInput!) { refreshSession(input: $in) { accessToken refreshToken } }`,
			map[string]any{"in": map[string]any{"refreshToken": tn.RefreshToken}})
		return tn.TenantID, tn.UserID.String(), tn.UserID.String()
	}},
	"createUser": {"user.create", func(t *testing.T, e *apitest.Env) (uuid.UUID, string, string) {
		tn := register(t, e, "CreateUser")
		out := gqlResult[struct{ CreateUser struct{ ID string } }](t, e, tn.AccessToken,
			`mutation($in: CreateUserInput!) { createUser(input: $in) { id } }`,
			map[string]any{"in": map[string]any{"email": "new-" + tn.Slug + "@mut.test", "role": "member"}})
		return tn.TenantID, out.CreateUser.ID, tn.UserID.String()
	}},
	"updateUser": {"user.update", func(t *testing.T, e *apitest.Env) (uuid.UUID, string, string) {
		tn := register(t, e, "UpdateUser")
		u := createUser(t, e, tn.AccessToken, "upd-"+tn.Slug+"@mut.test", "member", "")
		gqlResult[struct{}](t, e, tn.AccessToken, `mutation($id: ID!, $in: UpdateUserInput!) { updateUser(id: $id, input: $in) { id } }`,
			map[string]any{"id": u.ID, "in": map[string]any{"name": "Renamed"}})
		return tn.TenantID, u.ID, tn.UserID.String()
	}},
	"deleteUser": {"user.delete", func(t *testing.T, e *apitest.Env) (uuid.UUID, string, string) {
		tn := register(t, e, "DeleteUser")
		u := createUser(t, e, tn.AccessToken, "del-"+tn.Slug+"@mut.test", "member", "")
		gqlResult[struct{}](t, e, tn.AccessToken, `mutation($id: ID!) { deleteUser(id: $id) }`, map[string]any{"id": u.ID})
		return tn.TenantID, u.ID, tn.UserID.String()
	}},
	"createServiceAccount": {"service_account.create", func(t *testing.T, e *apitest.Env) (uuid.UUID, string, string) {
		tn := register(t, e, "ServiceAccount")
		out := gqlResult[struct {
			CreateServiceAccount struct{ ServiceAccount struct{ ID string } } `json:"createServiceAccount"`
		}](t, e, tn.AccessToken, `mutation($in: CreateServiceAccountInput!) { createServiceAccount(input: $in) { serviceAccount { id } } }`,
			map[string]any{"in": map[string]any{"name": "robot", "scopes": []string{"api_keys:read"}}})
		return tn.TenantID, out.CreateServiceAccount.ServiceAccount.ID, tn.UserID.String()
	}},
	"createAPIKey": {"api_key.create", func(t *testing.T, e *apitest.Env) (uuid.UUID, string, string) {
		tn := register(t, e, "CreateKey")
		out := gqlResult[struct {
			CreateAPIKey struct{ APIKey struct{ ID string } } `json:"createAPIKey"`
		}](t, e, tn.AccessToken, `mutation($in: CreateAPIKeyInput!) { createAPIKey(input: $in) { key apiKey { id } } }`,
			map[string]any{"in": map[string]any{"name": "k", "scopes": []string{"api_keys:read"}}})
		return tn.TenantID, out.CreateAPIKey.APIKey.ID, tn.UserID.String()
	}},
	"validateAPIKey": {"api_key.validate", func(t *testing.T, e *apitest.Env) (uuid.UUID, string, string) {
		tn := register(t, e, "ValidateKey")
		k := newKey(t, e, tn.AccessToken, "api_keys:read")
		out := gqlResult[struct {
			ValidateAPIKey struct{ Valid bool } `json:"validateAPIKey"`
		}](t, e, tn.AccessToken, `mutation($id: ID!, $key: String!) { validateAPIKey(id: $id, key: $key) { valid } }`,
			map[string]any{"id": k.ID, "key": k.Key})
		if !out.ValidateAPIKey.Valid {
			t.Fatal("validateAPIKey said the key is not valid")
		}
		e.Flush() // validations are audited in batches
		return tn.TenantID, k.ID.String(), tn.UserID.String()
	}},
	"rotateAPIKey": {"api_key.rotate", func(t *testing.T, e *apitest.Env) (uuid.UUID, string, string) {
		tn := register(t, e, "RotateKey")
		k := newKey(t, e, tn.AccessToken, "api_keys:read")
		gqlResult[struct{}](t, e, tn.AccessToken, `mutation($id: ID!) { rotateAPIKey(id: $id) { key apiKey { id } } }`, map[string]any{"id": k.ID})
		return tn.TenantID, k.ID.String(), tn.UserID.String()
	}},
	"revokeAPIKey": {"api_key.revoke", func(t *testing.T, e *apitest.Env) (uuid.UUID, string, string) {
		tn := register(t, e, "RevokeKey")
		k := newKey(t, e, tn.AccessToken, "api_keys:read")
		gqlResult[struct{}](t, e, tn.AccessToken, `mutation($id: ID!) { revokeAPIKey(id: $id) { id status } }`, map[string]any{"id": k.ID})
		return tn.TenantID, k.ID.String(), tn.UserID.String()
	}},
	"createOAuthClient": {"oauth_client.create", func(t *testing.T, e *apitest.Env) (uuid.UUID, string, string) {
		tn := register(t, e, "CreateClient")
		out := gqlResult[struct {
			CreateOAuthClient struct {
				OauthClient struct {
					ClientID string `json:"clientID"`
				} `json:"oauthClient"`
			} `json:"createOAuthClient"`
		}](t, e, tn.AccessToken, `mutation($in: CreateOAuthClientInput!) { createOAuthClient(input: $in) { clientSecret oauthClient { id clientID } } }`,
			map[string]any{"in": map[string]any{"name": "app", "scopes": []string{"api_keys:read"}}})
		return tn.TenantID, out.CreateOAuthClient.OauthClient.ClientID, tn.UserID.String()
	}},
	"updateOAuthClient": {"oauth_client.update", func(t *testing.T, e *apitest.Env) (uuid.UUID, string, string) {
		tn := register(t, e, "UpdateClient")
		c := createClient(t, e, tn.AccessToken, map[string]any{"name": "client " + randTag(), "scopes": []string{"api_keys:read"}})
		gqlResult[struct{}](t, e, tn.AccessToken, `mutation($cid: String!, $in: UpdateOAuthClientInput!) { updateOAuthClient(clientID: $cid, input: $in) { id } }`,
			map[string]any{"cid": c.ClientID, "in": map[string]any{"name": "renamed app"}})
		return tn.TenantID, c.ClientID, tn.UserID.String()
	}},
	"rotateOAuthClientSecret": {"oauth_client.rotate_secret", func(t *testing.T, e *apitest.Env) (uuid.UUID, string, string) {
		tn := register(t, e, "RotateClient")
		c := createClient(t, e, tn.AccessToken, map[string]any{"name": "client " + randTag(), "scopes": []string{"api_keys:read"}})
		gqlResult[struct{}](t, e, tn.AccessToken, `mutation($cid: String!) { rotateOAuthClientSecret(clientID: $cid) { clientSecret } }`,
			map[string]any{"cid": c.ClientID})
		return tn.TenantID, c.ClientID, tn.UserID.String()
	}},
	"deleteOAuthClient": {"oauth_client.delete", func(t *testing.T, e *apitest.Env) (uuid.UUID, string, string) {
		tn := register(t, e, "DeleteClient")
		c := createClient(t, e, tn.AccessToken, map[string]any{"name": "client " + randTag(), "scopes": []string{"api_keys:read"}})
		gqlResult[struct{}](t, e, tn.AccessToken, `mutation($cid: String!) { deleteOAuthClient(clientID: $cid) }`, map[string]any{"cid": c.ClientID})
		return tn.TenantID, c.ClientID, tn.UserID.String()
	}},
	"storeCredential": {"credential.create", func(t *testing.T, e *apitest.Env) (uuid.UUID, string, string) {
		tn := register(t, e, "StoreCred")
		id := storeCredentialGQL(t, e, tn)
		return tn.TenantID, id, tn.UserID.String()
	}},
	"updateCredential": {"credential.update", func(t *testing.T, e *apitest.Env) (uuid.UUID, string, string) {
		tn := register(t, e, "UpdateCred")
		id := storeCredentialGQL(t, e, tn)
		gqlResult[struct{}](t, e, tn.AccessToken, `mutation($iid: String!, $id: ID!, $in: UpdateCredentialInput!) {
			updateCredential(integrationID: $iid, id: $id, input: $in) { id } }`,
			map[string]any{"iid": "github", "id": id, "in": map[string]any{"name": "renamed"}})
		return tn.TenantID, id, tn.UserID.String()
	}},
	"deleteCredential": {"credential.delete", func(t *testing.T, e *apitest.Env) (uuid.UUID, string, string) {
		tn := register(t, e, "DeleteCred")
		id := storeCredentialGQL(t, e, tn)
		gqlResult[struct{}](t, e, tn.AccessToken, `mutation($iid: String!, $id: ID!) { deleteCredential(integrationID: $iid, id: $id) }`,
			map[string]any{"iid": "github", "id": id})
		return tn.TenantID, id, tn.UserID.String()
	}},
	"rotateDEK": {"dek.rotate", func(t *testing.T, e *apitest.Env) (uuid.UUID, string, string) {
		tn := register(t, e, "RotateDEK")
		storeCredentialGQL(t, e, tn)
		gqlResult[struct{}](t, e, tn.AccessToken, `mutation { rotateDEK { dekVersion jobID } }`, nil)
		return tn.TenantID, tn.TenantID.String(), tn.UserID.String()
	}},
	"triggerJob": {"job.trigger", func(t *testing.T, e *apitest.Env) (uuid.UUID, string, string) {
		tn := register(t, e, "TriggerJob")
		out := gqlResult[struct {
			TriggerJob struct {
				JobID string `json:"jobID"`
			} `json:"triggerJob"`
		}](t, e, tn.AccessToken, `mutation { triggerJob(jobName: "expire_api_keys") { jobID } }`, nil)
		return tn.TenantID, out.TriggerJob.JobID, tn.UserID.String()
	}},
	"updateTenant": {"tenant.update", func(t *testing.T, e *apitest.Env) (uuid.UUID, string, string) {
		tn := register(t, e, "UpdateTenant")
		gqlResult[struct{}](t, e, tn.AccessToken, `mutation($id: ID!, $in: UpdateTenantInput!) { updateTenant(id: $id, input: $in) { id name } }`,
			map[string]any{"id": tn.TenantID, "in": map[string]any{"name": "Renamed Tenant", "plan": "pro"}})
		return tn.TenantID, tn.TenantID.String(), tn.UserID.String()
	}},
	"deleteTenant": {"tenant.delete", func(t *testing.T, e *apitest.Env) (uuid.UUID, string, string) {
		tn := register(t, e, "DeleteTenant")
		g := e.GraphQL(`mutation($id: ID!) { deleteTenant(id: $id) }`, map[string]any{"id": tn.TenantID}, tn.AccessToken)
		if len(g.Errors) > 0 {
			t.Fatalf("deleteTenant: %+v", g.Errors)
		}
		// The tenant's own entries are purged with it: its copy in the platform tenant stays.
		return platformTenantID(t, e), tn.TenantID.String(), tn.UserID.String()
	}},
	"createWebhook": {"webhook.create", func(t *testing.T, e *apitest.Env) (uuid.UUID, string, string) {
		tn := register(t, e, "CreateWebhook")
		return tn.TenantID, createWebhookGQL(t, e, tn.AccessToken), tn.UserID.String()
	}},
	"updateWebhook": {"webhook.update", func(t *testing.T, e *apitest.Env) (uuid.UUID, string, string) {
		tn := register(t, e, "UpdateWebhook")
		id := createWebhookGQL(t, e, tn.AccessToken)
		gqlResult[struct{}](t, e, tn.AccessToken, `mutation($id: ID!) { updateWebhook(id: $id, input: {enabled: false}) { id } }`,
			map[string]any{"id": id})
		return tn.TenantID, id, tn.UserID.String()
	}},
	"deleteWebhook": {"webhook.delete", func(t *testing.T, e *apitest.Env) (uuid.UUID, string, string) {
		tn := register(t, e, "DeleteWebhook")
		id := createWebhookGQL(t, e, tn.AccessToken)
		gqlResult[struct{}](t, e, tn.AccessToken, `mutation($id: ID!) { deleteWebhook(id: $id) }`, map[string]any{"id": id})
		return tn.TenantID, id, tn.UserID.String()
	}},
	"rotateWebhookSecret": {"webhook.rotate_secret", func(t *testing.T, e *apitest.Env) (uuid.UUID, string, string) {
		tn := register(t, e, "RotateWebhook")
		id := createWebhookGQL(t, e, tn.AccessToken)
		gqlResult[struct{}](t, e, tn.AccessToken, `mutation($id: ID!) { rotateWebhookSecret(id: $id) { webhook { id } } }`,
			map[string]any{"id": id})
		return tn.TenantID, id, tn.UserID.String()
	}},
	"testWebhook": {"webhook.test", func(t *testing.T, e *apitest.Env) (uuid.UUID, string, string) {
		tn := register(t, e, "TestWebhook")
		id := createWebhookGQL(t, e, tn.AccessToken)
		gqlResult[struct{}](t, e, tn.AccessToken, `mutation($id: ID!) { testWebhook(id: $id) { eventID } }`, map[string]any{"id": id})
		return tn.TenantID, id, tn.UserID.String()
	}},
	"retryWebhookDelivery": {"webhook.delivery_retry", func(t *testing.T, e *apitest.Env) (uuid.UUID, string, string) {
		tn := register(t, e, "RetryWebhook")
		id, delivery := attemptedWebhookDelivery(t, e, tn.AccessToken)
		gqlResult[struct{}](t, e, tn.AccessToken, `mutation($w: ID!, $d: ID!) { retryWebhookDelivery(webhookID: $w, deliveryID: $d) { id } }`,
			map[string]any{"w": id, "d": delivery})
		return tn.TenantID, id, tn.UserID.String()
	}},
	"createGuardrail": {"guardrail.create", func(t *testing.T, e *apitest.Env) (uuid.UUID, string, string) {
		tn := register(t, e, "CreateGuardrail")
		return tn.TenantID, createGuardrailGQL(t, e, tn.AccessToken), tn.UserID.String()
	}},
	"updateGuardrail": {"guardrail.update", func(t *testing.T, e *apitest.Env) (uuid.UUID, string, string) {
		tn := register(t, e, "UpdateGuardrail")
		id := createGuardrailGQL(t, e, tn.AccessToken)
		gqlResult[struct{}](t, e, tn.AccessToken, `mutation($id: ID!) { updateGuardrail(id: $id, input: {enabled: false}) { id } }`,
			map[string]any{"id": id})
		return tn.TenantID, id, tn.UserID.String()
	}},
	"deleteGuardrail": {"guardrail.delete", func(t *testing.T, e *apitest.Env) (uuid.UUID, string, string) {
		tn := register(t, e, "DeleteGuardrail")
		id := createGuardrailGQL(t, e, tn.AccessToken)
		gqlResult[struct{}](t, e, tn.AccessToken, `mutation($id: ID!) { deleteGuardrail(id: $id) }`, map[string]any{"id": id})
		return tn.TenantID, id, tn.UserID.String()
	}},
	"updateRouterConfig": {"router.config_update", func(t *testing.T, e *apitest.Env) (uuid.UUID, string, string) {
		tn := register(t, e, "UpdateRouterConfig")
		gqlResult[struct{}](t, e, tn.AccessToken, `mutation { updateRouterConfig(input: {timeoutMS: 5000}) { timeoutMS } }`, nil)
		return tn.TenantID, tn.TenantID.String(), tn.UserID.String()
	}},
	"createRouterProvider": {"router.provider_create", func(t *testing.T, e *apitest.Env) (uuid.UUID, string, string) {
		tn := register(t, e, "CreateRouterProvider")
		return tn.TenantID, createRouterProviderGQL(t, e, tn.AccessToken), tn.UserID.String()
	}},
	"updateRouterProvider": {"router.provider_update", func(t *testing.T, e *apitest.Env) (uuid.UUID, string, string) {
		tn := register(t, e, "UpdateRouterProvider")
		id := createRouterProviderGQL(t, e, tn.AccessToken)
		gqlResult[struct{}](t, e, tn.AccessToken, `mutation($id: ID!) { updateRouterProvider(id: $id, input: {enabled: false}) { id } }`,
			map[string]any{"id": id})
		return tn.TenantID, id, tn.UserID.String()
	}},
	"deleteRouterProvider": {"router.provider_delete", func(t *testing.T, e *apitest.Env) (uuid.UUID, string, string) {
		tn := register(t, e, "DeleteRouterProvider")
		id := createRouterProviderGQL(t, e, tn.AccessToken)
		gqlResult[struct{}](t, e, tn.AccessToken, `mutation($id: ID!) { deleteRouterProvider(id: $id) }`, map[string]any{"id": id})
		return tn.TenantID, id, tn.UserID.String()
	}},
	"updateSSOConfig": {"sso.update", func(t *testing.T, e *apitest.Env) (uuid.UUID, string, string) {
		tn := register(t, e, "UpdateSSO")
		m := newIdP(t)
		out := gqlResult[struct{ UpdateSSOConfig struct{ ID string } }](t, e, tn.AccessToken,
			`mutation($in: UpdateSSOConfigInput!) { updateSSOConfig(input: $in) { id } }`,
			map[string]any{"in": map[string]any{"issuer": m.Issuer(), "clientID": m.ClientID, "clientSecret": m.ClientSecret}})
		return tn.TenantID, out.UpdateSSOConfig.ID, tn.UserID.String()
	}},
}

// unreachableHook is an endpoint URL nothing listens on: its deliveries
// fail at once and are retried, seconds later, on the default schedule.
const unreachableHook = "http://127.0.0.1:9/hook"

// createWebhookGQL creates an endpoint receiving every event, as cred,
// and returns its id.
func createWebhookGQL(t *testing.T, e *apitest.Env, cred string) string {
	t.Helper()
	out := gqlResult[struct {
		CreateWebhook struct{ Webhook struct{ ID string } }
	}](t, e, cred, `mutation($in: CreateWebhookInput!) { createWebhook(input: $in) { webhook { id } } }`,
		map[string]any{"in": map[string]any{"url": unreachableHook, "events": []string{"*"}}})
	return out.CreateWebhook.Webhook.ID
}

// createRouterProviderGQL stores an api_key credential and creates an AI
// gateway provider using it, as cred, and returns the provider's id.
func createRouterProviderGQL(t *testing.T, e *apitest.Env, cred string) string {
	t.Helper()
	integration := "llm-" + randTag()
	wantStatus(t, do(e, "POST", "/api/v1/credentials", cred, map[string]any{
		"integration_id": integration, "auth_type": "api_key", "data": map[string]any{"api_key": "sk-test"}}), 201)
	out := gqlResult[struct {
		CreateRouterProvider struct{ ID string }
	}](t, e, cred, `mutation($in: CreateRouterProviderInput!) { createRouterProvider(input: $in) { id } }`,
		map[string]any{"in": map[string]any{"name": "p-" + randTag(), "baseURL": "http://127.0.0.1:9/v1",
			"credentialIntegrationID": integration, "models": []string{"gpt-test"}}})
	return out.CreateRouterProvider.ID
}

// attemptedWebhookDelivery creates an endpoint and a test delivery to it,
// as cred, and returns their ids once the delivery's first attempt failed.
func attemptedWebhookDelivery(t *testing.T, e *apitest.Env, cred string) (webhookID, deliveryID string) {
	t.Helper()
	webhookID = createWebhookGQL(t, e, cred)
	var sent struct {
		DeliveryID string `json:"delivery_id"`
	}
	wantOK(t, do(e, "POST", "/api/v1/webhooks/"+webhookID+"/test", cred, nil), 202, &sent)
	eventually(t, 10*time.Second, "the test delivery attempted", func() (bool, string) {
		var ds []struct {
			ID      string `json:"id"`
			Attempt int    `json:"attempt"`
			Status  string `json:"status"`
		}
		wantOK(t, do(e, "GET", "/api/v1/webhooks/"+webhookID+"/deliveries", cred, nil), 200, &ds)
		for _, d := range ds {
			if d.ID == sent.DeliveryID && d.Attempt >= 1 && d.Status == "retrying" {
				return true, ""
			}
		}
		return false, fmt.Sprintf("%+v", ds)
	})
	return webhookID, sent.DeliveryID
}

func storeCredentialGQL(t *testing.T, e *apitest.Env, tn *tenantFixture) string {
	t.Helper()
	out := gqlResult[struct{ StoreCredential struct{ ID string } }](t, e, tn.AccessToken,
		`mutation($in: StoreCredentialInput!) { storeCredential(input: $in) { id } }`,
		map[string]any{"in": map[string]any{"integrationID": "github", "authType": "bearer_token", "data": map[string]any{"token": "ghp_x"}}})
	return out.StoreCredential.ID
}

func TestEveryMutationIsAudited(t *testing.T) {
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		fields := mutationFields(t, e, "")
		if len(fields) < 22 {
			t.Fatalf("introspection found %d mutations: %v", len(fields), fields)
		}
		for _, f := range fields {
			if _, ok := auditedMutations[f]; !ok {
				t.Errorf("mutation %s has no entry in auditedMutations: add one that performs it and names the audit action it must write", f)
			}
		}
		for name := range auditedMutations {
			if !slices.Contains(fields, name) {
				t.Errorf("auditedMutations names %s, which the schema does not have", name)
			}
		}
		slices.Sort(fields)
		for _, name := range fields {
			m, ok := auditedMutations[name]
			if !ok {
				continue
			}
			t.Run(name, func(t *testing.T) {
				e := on(t, e)
				tid, resource, actor := m.run(t, e)
				entries := auditEntries(t, e, tid, m.action, resource)
				var ok []string
				for _, a := range entries {
					if a.Outcome == auditlog.OutcomeSuccess && a.ActorID == actor && a.RequestID != "" {
						ok = append(ok, a.ID.String())
					}
				}
				if len(ok) != 1 {
					t.Fatalf("%s wrote %d %s/success entries on %s by %s, want 1 (all with that action and resource: %d)",
						name, len(ok), m.action, resource, actor, len(entries))
				}
			})
		}
	}, withAdmin)
}

// refuseAudits installs triggers that make the database refuse an audit
// entry whose action, or a job whose name, is listed in ops_refused.
func refuseAudits(t *testing.T, e *apitest.Env) (refuse func(string), allow func(string)) {
	t.Helper()
	var stmts []string
	if e.Store.Dialect == "postgres" {
		stmts = []string{
			`CREATE TABLE ops_refused (name TEXT PRIMARY KEY)`,
			`CREATE FUNCTION ops_refuse_audit() RETURNS trigger LANGUAGE plpgsql AS $$
			BEGIN
				IF EXISTS (SELECT 1 FROM ops_refused WHERE name = NEW.action) THEN
					RAISE EXCEPTION 'audit entry refused by the test';
				END IF;
				RETURN NEW;
			END $$`,
			`CREATE TRIGGER ops_refuse_audit BEFORE INSERT ON audit_logs FOR EACH ROW EXECUTE FUNCTION ops_refuse_audit()`,
			`CREATE FUNCTION ops_refuse_job() RETURNS trigger LANGUAGE plpgsql AS $$
			BEGIN
				IF EXISTS (SELECT 1 FROM ops_refused WHERE name = NEW.name) THEN
					RAISE EXCEPTION 'job refused by the test';
				END IF;
				RETURN NEW;
			END $$`,
			`CREATE TRIGGER ops_refuse_job BEFORE INSERT ON jobs FOR EACH ROW EXECUTE FUNCTION ops_refuse_job()`,
		}
	} else {
		stmts = []string{
			`CREATE TABLE ops_refused (name TEXT PRIMARY KEY)`,
			`CREATE TRIGGER ops_refuse_audit BEFORE INSERT ON audit_logs
			WHEN NEW.action IN (SELECT name FROM ops_refused)
			BEGIN SELECT RAISE(ABORT, 'audit entry refused by the test'); END`,
			`CREATE TRIGGER ops_refuse_job BEFORE INSERT ON jobs
			WHEN NEW.name IN (SELECT name FROM ops_refused)
			BEGIN SELECT RAISE(ABORT, 'job refused by the test'); END`,
		}
	}
	for _, s := range stmts {
		if _, err := e.Store.DB.Exec(s); err != nil {
			t.Fatalf("install trigger: %v", err)
		}
	}
	ph := "?"
	if e.Store.Dialect == "postgres" {
		ph = "$1"
	}
	refuse = func(name string) {
		t.Helper()
		if _, err := e.Store.DB.Exec("INSERT INTO ops_refused (name) VALUES ("+ph+")", name); err != nil {
			t.Fatal(err)
		}
	}
	allow = func(name string) {
		t.Helper()
		if _, err := e.Store.DB.Exec("DELETE FROM ops_refused WHERE name = "+ph, name); err != nil {
			t.Fatal(err)
		}
	}
	return refuse, allow
}

// TestMutationAndItsAuditEntryCommitTogether refuses a mutation's audit
// entry in the database and checks that the change was rolled back with it;
// allowed again, the same mutation commits both.
func TestMutationAndItsAuditEntryCommitTogether(t *testing.T) {
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		refuse, allow := refuseAudits(t, e)
		tn := register(t, e, "Atomic")
		member := createUser(t, e, tn.AccessToken, "atomic-"+tn.Slug+"@mut.test", "member", "")
		ctx := unrestricted()
		c := e.Store.Client

		cases := []struct {
			name, action, query string
			vars                map[string]any
			changed             func() bool
		}{
			{"updateTenant (an update)", "tenant.update",
				`mutation($id: ID!, $in: UpdateTenantInput!) { updateTenant(id: $id, input: $in) { id } }`,
				map[string]any{"id": tn.TenantID, "in": map[string]any{"name": "Changed Name", "plan": "enterprise"}},
				func() bool {
					db := dbTenant(t, e, tn.TenantID)
					return db.Name == "Changed Name" || db.Plan == "enterprise"
				}},
			{"createAPIKey (an insert)", "api_key.create",
				`mutation($in: CreateAPIKeyInput!) { createAPIKey(input: $in) { key } }`,
				map[string]any{"in": map[string]any{"name": "atomic key", "scopes": []string{"api_keys:read"}}},
				func() bool {
					n, err := c.APIKey.Query().Where(apikey.TenantID(tn.TenantID), apikey.Name("atomic key")).Count(ctx)
					if err != nil {
						t.Fatal(err)
					}
					return n > 0
				}},
			{"storeCredential (an insert, with the tenant's first DEK)", "credential.create",
				`mutation($in: StoreCredentialInput!) { storeCredential(input: $in) { id } }`,
				map[string]any{"in": map[string]any{"integrationID": "atomic", "authType": "bearer_token", "data": map[string]any{"token": "t"}}},
				func() bool {
					n, err := c.Credential.Query().Where(credential.TenantID(tn.TenantID)).Count(ctx)
					if err != nil {
						t.Fatal(err)
					}
					return n > 0
				}},
			{"deleteUser (a delete)", "user.delete",
				`mutation($id: ID!) { deleteUser(id: $id) }`, map[string]any{"id": member.ID},
				func() bool { return dbUser(t, e, uid(t, member.ID)) == nil }},
		}
		for _, cs := range cases {
			t.Run(cs.name, func(t *testing.T) {
				e := on(t, e)
				before := len(auditEntries(t, e, tn.TenantID, cs.action, ""))
				refuse(cs.action)
				g := e.GraphQL(cs.query, cs.vars, tn.AccessToken)
				allow(cs.action)
				if len(g.Errors) == 0 || g.Code() != "INTERNAL_ERROR" {
					t.Fatalf("with its entry refused, %s answered %s / %+v, want INTERNAL_ERROR", cs.name, g.Data, g.Errors)
				}
				if strings.Contains(fmt.Sprint(g.Errors), "refused by the test") {
					t.Fatalf("the database's error reached the client: %+v", g.Errors)
				}
				if cs.changed() {
					t.Fatalf("%s: the change persisted without its audit entry", cs.name)
				}
				if n := len(auditEntries(t, e, tn.TenantID, cs.action, "")); n != before {
					t.Fatalf("%s: %d %s entries, want %d", cs.name, n, cs.action, before)
				}
				// Allowed again, the same mutation commits the change and its entry.
				if g := e.GraphQL(cs.query, cs.vars, tn.AccessToken); len(g.Errors) > 0 {
					t.Fatalf("%s: %+v", cs.name, g.Errors)
				}
				if !cs.changed() {
					t.Fatalf("%s: no change after a successful mutation", cs.name)
				}
				if n := len(auditEntries(t, e, tn.TenantID, cs.action, "")); n != before+1 {
					t.Fatalf("%s: %d %s entries after it, want %d", cs.name, n, cs.action, before+1)
				}
			})
		}

		// A mutation failing after it wrote its entry keeps neither: DELETE
		// of a tenant writes its status and two entries, then enqueues the
		// purge, which the database refuses here.
		t.Run("deleteTenant (fails after its entries)", func(t *testing.T) {
			e := on(t, e)
			gone := register(t, e, "AtomicDelete")
			refuse("purge_deleted_tenants")
			g := e.GraphQL(`mutation($id: ID!) { deleteTenant(id: $id) }`, map[string]any{"id": gone.TenantID}, gone.AccessToken)
			allow("purge_deleted_tenants")
			if len(g.Errors) == 0 {
				t.Fatalf("deleteTenant with its purge job refused answered %s", g.Data)
			}
			if db := dbTenant(t, e, gone.TenantID); db == nil || db.Status != tenant.StatusActive || db.DeletedAt != nil {
				t.Fatalf("the tenant after a failed delete: %+v", db)
			}
			for _, tid := range []uuid.UUID{gone.TenantID, platformTenantID(t, e)} {
				if n := len(auditEntries(t, e, tid, "tenant.delete", gone.TenantID.String())); n != 0 {
					t.Fatalf("%d tenant.delete entries in %s survived the failed delete", n, tid)
				}
			}
			me(t, e, gone.AccessToken)
		})
	})
}
