package apitest_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/credvault/credvault/internal/access"
	"github.com/credvault/credvault/internal/apitest"
)

// selection writes, from the schema, the selection of every field of type
// name that takes no required argument: scalars and enums, wrapper objects
// whole, and edges to entities (types with an id, or connections of them)
// down to edges levels; at the last level an entity shows its scalars only.
func selection(types map[string]schemaType, name string, edges int) string {
	var parts []string
	for _, f := range types[name].Fields {
		if requiredArgs(f) {
			continue
		}
		n := f.Type.named()
		switch {
		case types[n.Name].Kind == "SCALAR" || types[n.Name].Kind == "ENUM":
			parts = append(parts, f.Name)
		case strings.HasSuffix(n.Name, "Connection"):
			if edges > 0 {
				node := strings.TrimSuffix(n.Name, "Connection")
				parts = append(parts, fmt.Sprintf("%s { totalCount pageInfo { hasNextPage } edges { cursor node { %s } } }",
					f.Name, selection(types, node, edges-1)))
			}
		case isEntity(types, n.Name):
			if edges > 0 {
				parts = append(parts, f.Name+" { "+selection(types, n.Name, edges-1)+" }")
			}
		case types[n.Name].Kind == "OBJECT":
			if sub := selection(types, n.Name, edges); sub != "" {
				parts = append(parts, f.Name+" { "+sub+" }")
			}
		}
	}
	return strings.Join(parts, " ")
}

// isEntity reports whether type name is a row of the graph: it has an id.
func isEntity(types map[string]schemaType, name string) bool {
	for _, f := range types[name].Fields {
		if f.Name == "id" {
			return true
		}
	}
	return false
}

// payloadSelection selects a mutation's payload whole: the entity it
// returns (inside any wrapper) with every scalar and one level of edges.
func payloadSelection(types map[string]schemaType, name string) string {
	if isEntity(types, name) {
		return selection(types, name, 1)
	}
	return selection(types, name, 2)
}

func requiredArgs(f gqlField) bool {
	for _, a := range f.Args {
		if a.Type.Kind == "NON_NULL" {
			return true
		}
	}
	return false
}

// mutationCase is one mutation called with arguments that succeed.
type mutationCase struct {
	name string
	vars func() map[string]any
}

// TestEveryMutationPayloadResolvesEveryEdge calls every mutation of the
// schema with its payload selected whole — every scalar and one level of
// edges, written from the schema — and finds no error: the payload is read
// after the commit, not through the closed transaction.
func TestEveryMutationPayloadResolvesEveryEdge(t *testing.T) {
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		tn := graphFixture(t, e, "Payloads")
		cred := tn.AccessToken
		types := schemaTypes(t, e, cred)
		doomed := register(t, e, "Payloads doomed")

		// Rows the mutations act on.
		member := createUser(t, e, cred, "member-"+randTag()+"@payloads.test", "member", testPassword)
		victimUser := createUser(t, e, cred, "gone-"+randTag()+"@payloads.test", "viewer", "")
		k := tn.key(t, access.APIKeysRead)
		gone := tn.key(t, access.APIKeysRead)
		c := tn.createClient(t, map[string]any{"name": "payload app", "scopes": []string{access.APIKeysRead}})
		goneClient := tn.createClient(t, map[string]any{"name": "gone app", "scopes": []string{access.APIKeysRead}})
		var stored, goneCred struct {
			ID string `json:"id"`
		}
		wantOK(t, do(e, http.MethodPost, "/api/v1/credentials", cred, map[string]any{"integration_id": "payloads",
			"auth_type": "bearer_token", "data": map[string]any{"token": "payload-secret"}}), http.StatusCreated, &stored)
		wantOK(t, do(e, http.MethodPost, "/api/v1/credentials", cred, map[string]any{"integration_id": "payloads",
			"auth_type": "bearer_token", "data": map[string]any{"token": "payload-secret-2"}}), http.StatusCreated, &goneCred)

		hook, goneHook := createWebhookGQL(t, e, cred), createWebhookGQL(t, e, cred)
		retried, retriedDelivery := attemptedWebhookDelivery(t, e, cred)
		rail, goneRail := createGuardrailGQL(t, e, cred), createGuardrailGQL(t, e, cred)
		provider, goneProvider := createRouterProviderGQL(t, e, cred), createRouterProviderGQL(t, e, cred)

		cases := []mutationCase{
			{"register", func() map[string]any {
				return map[string]any{"input": map[string]any{"tenantName": "Payloads " + randTag(), "email": "reg-" + randTag() + "@payloads.test", "password": testPassword}}
			}},
			{"login", func() map[string]any {
				return map[string]any{"input": map[string]any{"email": tn.Email, "password": testPassword, "tenant": tn.Slug}}
			}},
			{"refreshSession", func() map[string]any {
				return map[string]any{"input": map[string]any{"refreshToken": login(t, e, tn.Email, testPassword, tn.Slug).RefreshToken}}
			}},
			{"createUser", func() map[string]any {
				return map[string]any{"input": map[string]any{"email": "new-" + randTag() + "@payloads.test", "role": "viewer"}}
			}},
			{"updateUser", func() map[string]any {
				return map[string]any{"id": member.ID, "input": map[string]any{"name": "Renamed"}}
			}},
			{"deleteUser", func() map[string]any { return map[string]any{"id": victimUser.ID} }},
			{"createServiceAccount", func() map[string]any {
				return map[string]any{"input": map[string]any{"name": "svc " + randTag(), "scopes": []string{access.APIKeysRead}, "createAPIKey": true}}
			}},
			{"createAPIKey", func() map[string]any { return map[string]any{"input": map[string]any{"name": "payload key"}} }},
			{"validateAPIKey", func() map[string]any { return map[string]any{"id": k.ID.String(), "key": k.Key} }},
			{"rotateAPIKey", func() map[string]any { return map[string]any{"id": k.ID.String()} }},
			{"revokeAPIKey", func() map[string]any { return map[string]any{"id": gone.ID.String()} }},
			{"createOAuthClient", func() map[string]any {
				return map[string]any{"input": map[string]any{"name": "new app", "scopes": []string{access.APIKeysRead}}}
			}},
			{"updateOAuthClient", func() map[string]any {
				return map[string]any{"clientID": c.ClientID, "input": map[string]any{"name": "renamed app"}}
			}},
			{"rotateOAuthClientSecret", func() map[string]any { return map[string]any{"clientID": c.ClientID} }},
			{"deleteOAuthClient", func() map[string]any { return map[string]any{"clientID": goneClient.ClientID} }},
			{"storeCredential", func() map[string]any {
				return map[string]any{"input": map[string]any{"integrationID": "payloads-2", "authType": "api_key", "data": map[string]any{"api_key": "k"}}}
			}},
			{"updateCredential", func() map[string]any {
				return map[string]any{"integrationID": "payloads", "id": stored.ID, "input": map[string]any{"name": "renamed"}}
			}},
			{"deleteCredential", func() map[string]any { return map[string]any{"integrationID": "payloads", "id": goneCred.ID} }},
			{"updateTenant", func() map[string]any {
				return map[string]any{"id": tn.TenantID.String(), "input": map[string]any{"name": "Payloads renamed"}}
			}},
			{"rotateDEK", func() map[string]any { return map[string]any{} }},
			{"triggerJob", func() map[string]any { return map[string]any{"jobName": "expire_api_keys"} }},
			{"deleteTenant", func() map[string]any { return map[string]any{"id": doomed.TenantID.String()} }},
			{"createWebhook", func() map[string]any {
				return map[string]any{"input": map[string]any{"url": unreachableHook, "events": []string{"credential.created"}}}
			}},
			{"updateWebhook", func() map[string]any {
				return map[string]any{"id": hook, "input": map[string]any{"description": "renamed"}}
			}},
			{"rotateWebhookSecret", func() map[string]any {
				return map[string]any{"id": hook, "input": map[string]any{"gracePeriodSeconds": 60}}
			}},
			{"testWebhook", func() map[string]any { return map[string]any{"id": hook} }},
			{"retryWebhookDelivery", func() map[string]any { return map[string]any{"webhookID": retried, "deliveryID": retriedDelivery} }},
			{"deleteWebhook", func() map[string]any { return map[string]any{"id": goneHook} }},
			{"createGuardrail", func() map[string]any {
				return map[string]any{"input": map[string]any{"name": "payload pii", "kind": "pii", "config": map[string]any{"types": []string{"email"}}}}
			}},
			{"updateGuardrail", func() map[string]any {
				return map[string]any{"id": rail, "input": map[string]any{"name": "renamed", "action": "block"}}
			}},
			{"deleteGuardrail", func() map[string]any { return map[string]any{"id": goneRail} }},
			{"createRouterProvider", func() map[string]any {
				return map[string]any{"input": map[string]any{"name": "payload provider", "baseURL": "http://127.0.0.1:9/v1",
					"credentialIntegrationID": "payloads", "models": []string{"gpt-test"}}}
			}},
			{"updateRouterProvider", func() map[string]any {
				return map[string]any{"id": provider, "input": map[string]any{"models": []string{"gpt-test", "gpt-other"}}}
			}},
			{"updateRouterConfig", func() map[string]any {
				return map[string]any{"input": map[string]any{"maxAttempts": 2, "fallback": true}}
			}},
			{"deleteRouterProvider", func() map[string]any { return map[string]any{"id": goneProvider} }},
			{"updateSSOConfig", func() map[string]any {
				return map[string]any{"input": map[string]any{"issuer": "https://sso.payloads.test", "clientID": "payloads",
					"clientSecret": "payload-sso-secret", "allowedDomains": []string{"payloads.test"}, "enabled": false}}
			}},
		}
		fields := map[string]gqlField{}
		for _, f := range types["Mutation"].Fields {
			fields[f.Name] = f
		}
		for _, c := range cases {
			f, ok := fields[c.name]
			if !ok {
				t.Errorf("mutation %s is not in the schema", c.name)
				continue
			}
			delete(fields, c.name)
			cred := cred
			switch c.name {
			case "deleteTenant":
				cred = doomed.AccessToken
			case "register", "login", "refreshSession":
				cred = "" // as a client signing in calls them
			}
			doc := operation("mutation", f, types)
			if sel := payloadSelection(types, f.Type.named().Name); sel != "" {
				doc = strings.Replace(doc, "{ __typename }", "{ "+sel+" }", 1)
			}
			vars := c.vars()
			// Optional arguments are declared too, so the document names them.
			g := gqlDo(e, cred, withOptionalArgs(doc, f, vars), vars)
			if len(g.Errors) > 0 || len(g.Data) == 0 || string(g.Data) == "null" {
				t.Errorf("%s: %s", c.name, showGQL(g))
			}
		}
		for name := range fields {
			t.Errorf("mutation %s has no case here: add one, so that its payload is checked", name)
		}
	})
}

// withOptionalArgs passes the optional arguments present in vars, which
// operation leaves out.
func withOptionalArgs(doc string, f gqlField, vars map[string]any) string {
	for _, a := range f.Args {
		if a.Type.Kind == "NON_NULL" {
			continue
		}
		if _, ok := vars[a.Name]; !ok {
			continue
		}
		decl := fmt.Sprintf("$%s: %s", a.Name, typeString(a.Type))
		pass := fmt.Sprintf("%s: $%s", a.Name, a.Name)
		if strings.HasPrefix(doc, "mutation(") {
			doc = strings.Replace(doc, "mutation(", "mutation("+decl+", ", 1)
		} else {
			doc = strings.Replace(doc, "mutation", "mutation("+decl+")", 1)
		}
		if strings.Contains(doc, " "+f.Name+"(") {
			doc = strings.Replace(doc, " "+f.Name+"(", " "+f.Name+"("+pass+", ", 1)
		} else {
			doc = strings.Replace(doc, " "+f.Name, " "+f.Name+"("+pass+")", 1)
		}
	}
	return doc
}
