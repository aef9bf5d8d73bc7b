package apitest_test

import (
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/credvault/credvault/internal/access"
	"github.com/credvault/credvault/internal/apitest"
	"github.com/credvault/credvault/rest"
)

// The isolation and authorisation matrix, generated from the schema (by
// introspection) and from the REST route table: every GraphQL root field and
// every REST route is tried without credentials, by a principal lacking its
// operation's scope, and with another tenant's ids. A field or route added
// tomorrow is in the matrix the day it is added, and must be declared in
// access.Operations to pass.

// schemaType is the part of an introspected type the matrix reads.
type schemaType struct {
	Kind        string     `json:"kind"`
	Name        string     `json:"name"`
	Fields      []gqlField `json:"fields"`
	InputFields []gqlArg   `json:"inputFields"`
	EnumValues  []struct {
		Name string `json:"name"`
	} `json:"enumValues"`
}

type gqlField struct {
	Name string   `json:"name"`
	Args []gqlArg `json:"args"`
	Type typeRef  `json:"type"`
}

type gqlArg struct {
	Name string  `json:"name"`
	Type typeRef `json:"type"`
}

type typeRef struct {
	Kind   string   `json:"kind"`
	Name   string   `json:"name"`
	OfType *typeRef `json:"ofType"`
}

// named is the type beneath any NON_NULL and LIST wrappers.
func (r typeRef) named() typeRef {
	for r.OfType != nil {
		r = *r.OfType
	}
	return r
}

const typeRefFields = `kind name ofType { kind name ofType { kind name ofType { kind name } } }`

// schemaTypes returns every type of the served schema by name.
func schemaTypes(t *testing.T, e *apitest.Env, cred string) map[string]schemaType {
	t.Helper()
	var out struct {
		Schema struct {
			Types []schemaType `json:"types"`
		} `json:"__schema"`
	}
	gql(t, e, cred, `{ __schema { types { kind name
		fields { name args { name type { `+typeRefFields+` } } type { `+typeRefFields+` } }
		inputFields { name type { `+typeRefFields+` } }
		enumValues { name } } } }`, nil, &out)
	types := map[string]schemaType{}
	for _, ty := range out.Schema.Types {
		types[ty.Name] = ty
	}
	return types
}

// victim is another tenant's ids, to be tried everywhere an id goes.
type victim struct {
	ids     []uuid.UUID // tenant, user, service account, key, client row, credential, webhook, delivery
	strings []string    // client_id, integration id
	// parents is the victim's value of the first parameter of a route
	// with two, by its name: its integration, its endpoint.
	parents map[string]string
	// pair is the victim's values of the id arguments of a field that
	// takes a parent and a child, such as retryWebhookDelivery.
	pair map[string]any
}

// victimPair returns the variables that give every required id argument
// of f the victim's real value, when f takes two or more and the victim
// has them all.
func victimPair(f gqlField, vars map[string]any, v victim) (map[string]any, bool) {
	try := map[string]any{}
	for k, x := range vars {
		try[k] = x
	}
	n := 0
	for _, a := range f.Args {
		if a.Type.Kind != "NON_NULL" || a.Type.named().Name != "ID" {
			continue
		}
		val, ok := v.pair[a.Name]
		if !ok {
			return nil, false
		}
		try[a.Name] = val
		n++
	}
	return try, n >= 2
}

// argValues returns the values to try for a required argument: the
// victim's ids for ids, a filler otherwise.
func argValues(types map[string]schemaType, a gqlArg, v victim) []any {
	n := a.Type.named()
	switch {
	case n.Name == "ID" && a.Type.Kind == "LIST" || (a.Type.OfType != nil && a.Type.OfType.Kind == "LIST"):
		ids := make([]any, len(v.ids))
		for i, id := range v.ids {
			ids[i] = id.String()
		}
		return []any{ids}
	case n.Name == "ID":
		out := make([]any, len(v.ids))
		for i, id := range v.ids {
			out[i] = id.String()
		}
		return out
	case n.Name == "String" && strings.HasSuffix(a.Name, "ID"):
		out := make([]any, len(v.strings))
		for i, s := range v.strings {
			out[i] = s
		}
		return out
	}
	return []any{filler(types, a.Name, a.Type)}
}

// filler is a well-formed value of type r.
func filler(types map[string]schemaType, name string, r typeRef) any {
	switch r.Kind {
	case "NON_NULL":
		return filler(types, name, *r.OfType)
	case "LIST":
		return []any{}
	case "ENUM":
		return types[r.Name].EnumValues[0].Name
	case "INPUT_OBJECT":
		obj := map[string]any{}
		for _, f := range types[r.Name].InputFields {
			if f.Type.Kind == "NON_NULL" {
				obj[f.Name] = filler(types, f.Name, f.Type)
			}
		}
		return obj
	}
	switch r.Name {
	case "ID", "UUID":
		return uuid.NewString()
	case "Int":
		return 1
	case "Boolean":
		return false
	case "Time":
		return "2099-01-01T00:00:00Z"
	case "Map":
		return map[string]any{"x": "y"}
	}
	switch name {
	case "jobName":
		return "expire_api_keys"
	case "email":
		return "matrix-" + randTag() + "@example.test"
	case "password":
		return "matrix-password-123"
	}
	return "matrix"
}

// operation writes a one-field GraphQL document with its required
// arguments as variables.
func operation(kind string, f gqlField, types map[string]schemaType) string {
	var decl, pass []string
	for _, a := range f.Args {
		if a.Type.Kind != "NON_NULL" {
			continue
		}
		decl = append(decl, fmt.Sprintf("$%s: %s", a.Name, typeString(a.Type)))
		pass = append(pass, fmt.Sprintf("%s: $%s", a.Name, a.Name))
	}
	doc := kind
	if len(decl) > 0 {
		doc += "(" + strings.Join(decl, ", ") + ")"
	}
	doc += " { " + f.Name
	if len(pass) > 0 {
		doc += "(" + strings.Join(pass, ", ") + ")"
	}
	if k := types[f.Type.named().Name].Kind; k == "OBJECT" || k == "INTERFACE" {
		doc += " { __typename }"
	}
	return doc + " }"
}

func typeString(r typeRef) string {
	switch r.Kind {
	case "NON_NULL":
		return typeString(*r.OfType) + "!"
	case "LIST":
		return "[" + typeString(*r.OfType) + "]"
	}
	return r.Name
}

// rootFields is every field of Query and Mutation, with its kind.
func rootFields(types map[string]schemaType) []struct {
	kind  string
	field gqlField
} {
	var out []struct {
		kind  string
		field gqlField
	}
	for _, kind := range []string{"Query", "Mutation"} {
		for _, f := range types[kind].Fields {
			out = append(out, struct {
				kind  string
				field gqlField
			}{strings.ToLower(kind), f})
		}
	}
	return out
}

// allBut returns every scope the owner holds but sc.
func allBut(sc access.Scope) []string {
	var out []string
	for _, s := range access.ForRole(access.Owner, false).List() {
		if s != sc {
			out = append(out, s)
		}
	}
	return out
}

// matrixVictim is tenant B, filled with one of everything: its webhook
// endpoint has one delivery, already made, so nothing of B changes unless
// tenant A changes it.
func matrixVictim(t *testing.T, e *apitest.Env) (*tenantFixture, victim) {
	t.Helper()
	b := graphFixture(t, e, "Matrix victim")
	wantStatus(t, do(e, http.MethodPost, "/api/v1/credentials", b.AccessToken, map[string]any{
		"integration_id": "victim-only", "auth_type": "bearer_token", "data": map[string]any{"token": "victim-secret"}}), http.StatusCreated)
	hook := whCreate(t, e, b.AccessToken, map[string]any{"url": newWHReceiver(t, nil).URL + "/victim", "events": []string{"webhook.test"}})
	var sent whSentTest
	wantOK(t, do(e, http.MethodPost, whPath(hook.ID, "test"), b.AccessToken, nil), http.StatusAccepted, &sent)
	whAwait(t, e, b.AccessToken, hook.ID, sent.DeliveryID, "the victim's test event is delivered", func(d whDelivery) bool { return d.Status == "succeeded" })
	rail := uid(t, createGuardrailGQL(t, e, b.AccessToken))
	var ids struct {
		Me struct {
			Tenant struct {
				ID              string `json:"id"`
				Users           count  `json:"users"`
				ServiceAccounts count  `json:"serviceAccounts"`
				APIKeys         count  `json:"apiKeys"`
				OAuthClients    struct {
					Edges []struct {
						Node struct {
							ID       string `json:"id"`
							ClientID string `json:"clientID"`
						} `json:"node"`
					} `json:"edges"`
				} `json:"oauthClients"`
				Credentials count `json:"credentials"`
			} `json:"tenant"`
		} `json:"me"`
	}
	gql(t, e, b.AccessToken, `{ me { tenant { id users { edges { node { id } } } serviceAccounts { edges { node { id } } }
		apiKeys { edges { node { id } } } oauthClients { edges { node { id clientID } } } credentials { edges { node { id } } } } } }`, nil, &ids)
	ten := ids.Me.Tenant
	v := victim{ids: []uuid.UUID{uid(t, ten.ID), hook.ID, sent.DeliveryID, rail}, strings: []string{"victim-only"},
		parents: map[string]string{"integrationId": "victim-only", "webhookId": hook.ID.String()},
		pair:    map[string]any{"webhookID": hook.ID.String(), "deliveryID": sent.DeliveryID.String()}}
	for _, list := range []count{ten.Users, ten.ServiceAccounts, ten.APIKeys, ten.Credentials} {
		for _, n := range list.Edges {
			v.ids = append(v.ids, uid(t, n.Node.ID))
		}
	}
	for _, n := range ten.OAuthClients.Edges {
		v.ids = append(v.ids, uid(t, n.Node.ID))
		v.strings = append(v.strings, n.Node.ClientID)
	}
	return b, v
}

// victimIntact checks that nothing of tenant B changed: the matrix ran
// every mutation against its ids.
func victimIntact(t *testing.T, e *apitest.Env, b *tenantFixture, before string) {
	t.Helper()
	g := gqlDo(e, b.AccessToken, victimSnapshot, nil)
	if len(g.Errors) > 0 || string(g.Data) != before {
		t.Fatalf("tenant B changed while tenant A tried its ids:\nbefore %s\nafter  %s", redact([]byte(before)), showGQL(g))
	}
}

const victimSnapshot = `{ me { tenant { name plan status
	users { edges { node { id email role status updatedAt } } }
	serviceAccounts { edges { node { id name status updatedAt } } }
	apiKeys { edges { node { id name status scopes prefix updatedAt } } }
	oauthClients { edges { node { id clientID status scopes updatedAt } } }
	credentials { edges { node { id integrationID status updatedAt } } }
	webhooks { edges { node { id url events enabled description disabledReason updatedAt
		deliveries { totalCount edges { node { id eventType status attempt nextAttemptAt updatedAt } } } } } } } } }`

// gqlOutcome is what the matrix accepts of a refused call.
func refusedWith(g *apitest.GraphQLResponse, codes ...string) bool {
	return len(g.Errors) > 0 && slices.Contains(codes, g.Code())
}

// TestMatrixGraphQL runs every GraphQL root field through the matrix.
func TestMatrixGraphQL(t *testing.T) {
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		a := register(t, e, "Matrix A")
		b, v := matrixVictim(t, e)
		before := gqlDo(e, b.AccessToken, victimSnapshot, nil)
		types := schemaTypes(t, e, a.AccessToken)
		lacking := map[access.Scope]string{}
		for _, rf := range rootFields(types) {
			f := rf.field
			op, declared := access.Operations[f.Name]
			if !declared {
				t.Errorf("%s %s: no access.Operation declares it", rf.kind, f.Name)
				continue
			}
			if op.Open {
				continue
			}
			doc := operation(rf.kind, f, types)
			vars := map[string]any{}
			for _, arg := range f.Args {
				if arg.Type.Kind == "NON_NULL" {
					vars[arg.Name] = filler(types, arg.Name, arg.Type)
				}
			}
			// No credentials.
			if g := gqlDo(e, "", doc, vars); !refusedWith(g, "UNAUTHORIZED") {
				t.Errorf("%s without credentials: %s, want UNAUTHORIZED", f.Name, showGQL(g))
			}
			// Without the operation's scope.
			if op.Scope != "" {
				if lacking[op.Scope] == "" {
					lacking[op.Scope] = a.key(t, allBut(op.Scope)...).Key
				}
				g := gqlDo(e, lacking[op.Scope], doc, vars)
				if det, _ := g.Errors[0].Extensions["details"].(map[string]any); !refusedWith(g, "FORBIDDEN") || len(g.Errors) == 0 || det["required_scope"] != op.Scope {
					t.Errorf("%s without %s: %s, want FORBIDDEN naming it", f.Name, op.Scope, showGQL(g))
				}
			}
			// With tenant B's ids, as tenant A's owner.
			for _, arg := range f.Args {
				if arg.Type.Kind != "NON_NULL" {
					continue
				}
				n := arg.Type.named().Name
				if n != "ID" && !(n == "String" && strings.HasSuffix(arg.Name, "ID")) {
					continue
				}
				for _, val := range argValues(types, arg, v) {
					try := map[string]any{}
					for k, x := range vars {
						try[k] = x
					}
					try[arg.Name] = val
					g := gqlDo(e, a.AccessToken, doc, try)
					if !refusedWith(g, "NOT_FOUND", "FORBIDDEN") {
						t.Errorf("%s(%s: another tenant's %v): %s, want NOT_FOUND", f.Name, arg.Name, val, showGQL(g))
					}
				}
			}
			// A parent and a child id: tenant B's real pair.
			if try, ok := victimPair(f, vars, v); ok {
				if g := gqlDo(e, a.AccessToken, doc, try); !refusedWith(g, "NOT_FOUND", "FORBIDDEN") {
					t.Errorf("%s(another tenant's %v): %s, want NOT_FOUND", f.Name, v.pair, showGQL(g))
				}
			}
		}
		victimIntact(t, e, b, string(before.Data))
	})
}

// pathParam matches a chi path parameter; idParam one that names a row.
var (
	pathParam = regexp.MustCompile(`\{[^}]+\}`)
	idParam   = regexp.MustCompile(`\{[^}]*(Id|id)\}`)
)

// TestMatrixREST runs every REST route of the route table through the matrix.
func TestMatrixREST(t *testing.T) {
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		a := register(t, e, "Matrix REST A")
		b, v := matrixVictim(t, e)
		before := gqlDo(e, b.AccessToken, victimSnapshot, nil)
		lacking := map[access.Scope]string{}
		for _, rt := range (&rest.API{}).Routes() {
			if rt.Op.Open {
				continue
			}
			name := rt.Method + " " + rt.Path
			if _, declared := access.Operations[rt.Op.Field]; !declared && rt.Op.Field != "" {
				t.Errorf("%s: its operation %q is not in access.Operations", name, rt.Op.Field)
			}
			var body any
			if rt.Method == http.MethodPost || rt.Method == http.MethodPatch || rt.Method == http.MethodPut {
				body = map[string]any{}
			}
			path := "/api/v1" + pathParam.ReplaceAllStringFunc(rt.Path, func(string) string { return uuid.NewString() })
			// The OpenAI-compatible routes answer in OpenAI's error shape:
			// its codes, the scope named in the message.
			unauthorized, forbidden := "UNAUTHORIZED", "FORBIDDEN"
			if rt.OpenAI {
				unauthorized, forbidden = "invalid_api_key", "insufficient_scope"
			}
			if r := do(e, rt.Method, path, "", body); r.Status != http.StatusUnauthorized || r.ErrorCode() != unauthorized {
				t.Errorf("%s without credentials: %d %s, want 401 %s", name, r.Status, r.ErrorCode(), unauthorized)
			}
			if rt.Op.Scope != "" {
				if lacking[rt.Op.Scope] == "" {
					lacking[rt.Op.Scope] = a.key(t, allBut(rt.Op.Scope)...).Key
				}
				r := do(e, rt.Method, path, lacking[rt.Op.Scope], body)
				named := fmt.Sprint(r.Envelope.Error.Details["required_scope"]) == rt.Op.Scope
				if rt.OpenAI {
					named = strings.HasSuffix(r.Envelope.Error.Message, " "+rt.Op.Scope)
				}
				if r.Status != http.StatusForbidden || r.ErrorCode() != forbidden || !named {
					t.Errorf("%s without %s: %d %s, want 403 FORBIDDEN naming it", name, rt.Op.Scope, r.Status, redact(r.Body))
				}
			}
			if !idParam.MatchString(rt.Path) || strings.Count(rt.Path, "{") != len(idParam.FindAllString(rt.Path, -1)) {
				continue
			}
			var candidates []string
			for _, id := range v.ids {
				candidates = append(candidates, id.String())
			}
			candidates = append(candidates, v.strings...)
			for _, c := range candidates {
				p := "/api/v1" + idParam.ReplaceAllString(rt.Path, c)
				if strings.Count(rt.Path, "{") == 2 {
					// /credentials/{integrationId}/{credentialId},
					// /webhooks/{webhookId}/deliveries/{deliveryId}/retry:
					// B's parent, then each id.
					parent, ok := v.parents[strings.Trim(pathParam.FindString(rt.Path), "{}")]
					if !ok {
						t.Fatalf("%s: the victim has no value for its first parameter", name)
					}
					p = "/api/v1" + strings.Replace(idParam.ReplaceAllString(rt.Path, c), c, parent, 1)
				}
				r := do(e, rt.Method, p, a.AccessToken, body)
				if r.Status != http.StatusNotFound && r.Status != http.StatusForbidden {
					t.Errorf("%s with another tenant's %s: %d %s, want 404", name, c, r.Status, redact(r.Body))
				}
			}
		}
		victimIntact(t, e, b, string(before.Data))
	})
}
