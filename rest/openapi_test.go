package rest_test

import (
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/credvault/credvault/internal/access"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/google/uuid"

	"github.com/credvault/credvault/rest"
)

// load marshals the document of routes and loads it with kin-openapi.
func load(t *testing.T, routes []rest.Route) *openapi3.T {
	t.Helper()
	raw, err := json.Marshal(rest.OpenAPI(routes, "test"))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := openapi3.NewLoader().LoadFromData(raw)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	return doc
}

func tableRoutes() []rest.Route { return (&rest.API{}).Routes() }

func TestOpenAPIValidates(t *testing.T) {
	t.Parallel()
	doc := load(t, tableRoutes())
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("the document is not valid OpenAPI: %v", err)
	}
	if doc.OpenAPI != "3.1.0" || !doc.IsOpenAPI31OrLater() {
		t.Fatalf("openapi %q, want 3.1.0", doc.OpenAPI)
	}
	// kin-openapi does validate 3.1 schemas: a broken one is refused.
	broken := rest.OpenAPI(tableRoutes(), "test")
	broken["components"].(map[string]any)["schemas"].(map[string]any)["Meta"] = map[string]any{"type": "strnig"}
	raw, _ := json.Marshal(broken)
	bad, err := openapi3.NewLoader().LoadFromData(raw)
	if err == nil {
		err = bad.Validate(context.Background())
	}
	if err == nil {
		t.Fatal("a schema of type strnig validated")
	}
}

// TestOpenAPIDocumentsEveryRoute compares the document with the route
// table it is generated from, route by route.
func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	t.Parallel()
	routes := tableRoutes()
	doc := load(t, routes)
	ids := map[string]string{}
	operations := 0
	for _, item := range doc.Paths.Map() {
		operations += len(item.Operations())
	}
	if operations != len(routes) {
		t.Errorf("%d operations for %d routes", operations, len(routes))
	}
	for _, rt := range routes {
		name := rt.Method + " " + rt.Path
		item := doc.Paths.Find(rt.Path)
		if item == nil || item.GetOperation(rt.Method) == nil {
			t.Errorf("%s is not in the document", name)
			continue
		}
		op := item.GetOperation(rt.Method)
		if prev, dup := ids[op.OperationID]; dup || op.OperationID == "" {
			t.Errorf("%s: operationId %q is also %s's", name, op.OperationID, prev)
		}
		ids[op.OperationID] = name
		if !strings.HasPrefix(op.OperationID, rt.Op.Field) {
			t.Errorf("%s: operationId %q does not start with the GraphQL field %q", name, op.OperationID, rt.Op.Field)
		}
		if tag := strings.Split(rt.Path, "/")[1]; !slices.Equal(op.Tags, []string{tag}) {
			t.Errorf("%s: tags %v, want [%s]", name, op.Tags, tag)
		}
		if op.Summary != rt.Summary {
			t.Errorf("%s: summary %q", name, op.Summary)
		}
		if op.Security == nil || (len(*op.Security) == 0) != rt.Op.Open {
			t.Errorf("%s: open %v but security %v", name, rt.Op.Open, op.Security)
		}
		success := op.Responses.Status(rt.Status)
		if success == nil {
			t.Errorf("%s: no %d response", name, rt.Status)
			continue
		}
		if len(rt.Streams) > 0 {
			// A stream answers in its media types, without the envelope.
			for _, mt := range rt.Streams {
				if success.Value.Content.Get(mt) == nil {
					t.Errorf("%s: streams %s, undocumented", name, mt)
				}
			}
			if len(success.Value.Content) != len(rt.Streams) {
				t.Errorf("%s: %d media types documented, want %v", name, len(success.Value.Content), rt.Streams)
			}
		} else if rt.Status == http.StatusFound {
			// A redirect answers no body, only where the browser goes.
			if !rt.Redirects || success.Value.Headers["Location"] == nil || len(success.Value.Content) != 0 {
				t.Errorf("%s: a 302 without Redirects, a Location header, or with a body", name)
			}
		} else if rt.OpenAI {
			// OpenAI's answer, outside the envelope.
			if success.Value.Content.Get("application/json") == nil {
				t.Errorf("%s: no JSON answer documented", name)
			}
		} else {
			data := success.Value.Content.Get("application/json").Schema.Value.Properties["data"].Value
			// A list's data is an array, and so is a fixed catalogue's (unpaged).
			catalogue := !rt.List() && reflect.TypeOf(rt.Result).Kind() == reflect.Slice
			if (rt.List() || catalogue) != data.Type.Is("array") {
				t.Errorf("%s: list %v, data type %v", name, rt.List(), data.Type)
			}
		}
		expect := map[int]bool{http.StatusInternalServerError: true, http.StatusServiceUnavailable: true, http.StatusTooManyRequests: !rt.Unlimited,
			http.StatusUnauthorized: !rt.Op.Open, http.StatusForbidden: !rt.Op.Open,
			http.StatusUnsupportedMediaType: rt.Body != nil, http.StatusRequestEntityTooLarge: rt.Body != nil,
			http.StatusUnprocessableEntity: (rt.Body != nil && !rt.OpenAI) || rt.List() || len(rt.Filters) > 0,
			http.StatusNotFound:            strings.Contains(rt.Path, "{") || rt.Op.Tenant == access.NamedTenant || (rt.OpenAI && rt.Body != nil)}
		for status, want := range expect {
			if got := op.Responses.Status(status) != nil; got != want {
				t.Errorf("%s: documents %d: %v, want %v", name, status, got, want)
			}
		}
		if (op.RequestBody != nil) != (rt.Body != nil) {
			t.Errorf("%s: request body documented %v, route has one %v", name, op.RequestBody != nil, rt.Body != nil)
		}
		for _, p := range strings.Split(rt.Path, "/") {
			if strings.HasPrefix(p, "{") {
				if op.Parameters.GetByInAndName("path", strings.Trim(p, "{}")) == nil {
					t.Errorf("%s: path parameter %s not documented", name, p)
				}
			}
		}
		for _, f := range rt.Filters {
			p := op.Parameters.GetByInAndName("query", f.Name)
			if p == nil || len(p.Schema.Value.Enum) != len(f.Enum) {
				t.Errorf("%s: filter %s not documented with its values", name, f.Name)
			}
		}
		if !rt.List() {
			continue
		}
		for _, q := range []string{"limit", "offset", "page", "per_page", "cursor", "sort", "order"} {
			if op.Parameters.GetByInAndName("query", q) == nil {
				t.Errorf("%s: query parameter %s not documented", name, q)
			}
		}
		var sorts []string
		for _, v := range op.Parameters.GetByInAndName("query", "sort").Schema.Value.Enum {
			sorts = append(sorts, v.(string))
		}
		if !slices.Equal(sorts, rt.Sort) {
			t.Errorf("%s: sort enum %v, want %v", name, sorts, rt.Sort)
		}
	}
	for _, scheme := range []string{"bearerAuth", "apiKeyHeader", "apiKeyAuthorization"} {
		if doc.Components.SecuritySchemes[scheme] == nil {
			t.Errorf("security scheme %s missing", scheme)
		}
	}
	if s := doc.Components.SecuritySchemes["apiKeyAuthorization"].Value; s.In != "header" || s.Name != "Authorization" || !strings.Contains(s.Description, "ApiKey ") {
		t.Errorf("apiKeyAuthorization = %+v", s)
	}
}

// specEndpoints are the SPEC §5 endpoints the route table has today, with
// their operationId. More are being added; the test above covers those.
var specEndpoints = [][3]string{
	{"POST", "/auth/register", "register"}, {"POST", "/auth/login", "login"},
	{"POST", "/auth/refresh", "refreshSession"}, {"GET", "/auth/me", "me"},
	{"POST", "/api-keys", "createAPIKey"}, {"GET", "/api-keys", "apiKeys"},
	{"GET", "/api-keys/{keyId}", "apiKey"}, {"POST", "/api-keys/{keyId}/validate", "validateAPIKey"},
	{"POST", "/api-keys/{keyId}/rotate", "rotateAPIKey"}, {"DELETE", "/api-keys/{keyId}", "revokeAPIKey"},
	{"POST", "/oauth-clients", "createOAuthClient"}, {"GET", "/oauth-clients", "oauthClients"},
	{"GET", "/oauth-clients/{clientId}", "oauthClient"}, {"PATCH", "/oauth-clients/{clientId}", "updateOAuthClient"},
	{"POST", "/oauth-clients/{clientId}/rotate-secret", "rotateOAuthClientSecret"},
	{"DELETE", "/oauth-clients/{clientId}", "deleteOAuthClient"},
	{"POST", "/credentials", "storeCredential"}, {"GET", "/credentials", "credentials"},
	{"GET", "/credentials/{integrationId}", "credential"}, {"GET", "/credentials/{integrationId}/details", "credentialDetails"},
	{"PATCH", "/credentials/{integrationId}/{credentialId}", "updateCredential"},
	{"DELETE", "/credentials/{integrationId}/{credentialId}", "deleteCredential"},
	{"POST", "/admin/dek/rotate", "rotateDEK"}, {"POST", "/admin/service-account/create", "createServiceAccount"},
	{"GET", "/admin/users", "users"}, {"POST", "/admin/users", "createUser"},
	{"PATCH", "/admin/users/{id}", "updateUser"}, {"DELETE", "/admin/users/{id}", "deleteUser"},
	{"POST", "/admin/api-keys", "createAPIKeyAdmin"}, {"GET", "/admin/api-keys", "apiKeysAdmin"},
	{"DELETE", "/admin/api-keys/{id}", "revokeAPIKeyAdmin"},
	{"GET", "/health", "health"},
}

// TestOpenAPIRetryAfter checks that every answer telling the client to
// come back later declares when: each route's 503 (the database does not
// answer) and 429 carry Retry-After, in seconds.
func TestOpenAPIRetryAfter(t *testing.T) {
	t.Parallel()
	routes := tableRoutes()
	doc := load(t, routes)
	for _, rt := range routes {
		name := rt.Method + " " + rt.Path
		op := doc.Paths.Find(rt.Path).GetOperation(rt.Method)
		statuses := []int{http.StatusServiceUnavailable}
		if !rt.Unlimited {
			statuses = append(statuses, http.StatusTooManyRequests)
		}
		for _, status := range statuses {
			resp := op.Responses.Status(status)
			if resp == nil {
				t.Errorf("%s: no %d response", name, status)
				continue
			}
			h := resp.Value.Headers["Retry-After"]
			if h == nil || h.Value == nil || h.Value.Schema == nil || !h.Value.Schema.Value.Type.Is("integer") {
				t.Errorf("%s: the %d response declares no integer Retry-After header", name, status)
			}
			if rt.OpenAI {
				continue // OpenAI's error shape: no envelope codes
			}
			codes := resp.Value.Content.Get("application/json").Schema.Value.AllOf[1].Value.
				Properties["error"].Value.Properties["code"].Value.Enum
			if status == http.StatusServiceUnavailable && (len(codes) != 1 || codes[0] != "SERVICE_UNAVAILABLE") {
				t.Errorf("%s: the 503 response's codes are %v, want SERVICE_UNAVAILABLE", name, codes)
			}
		}
	}
}

// TestOpenAPIDeclaresRotationConflicts: the secret rotations, which answer
// 409 when a concurrent rotation came first, declare it.
func TestOpenAPIDeclaresRotationConflicts(t *testing.T) {
	t.Parallel()
	doc := load(t, tableRoutes())
	for _, path := range []string{"/api-keys/{keyId}/rotate", "/oauth-clients/{clientId}/rotate-secret", "/webhooks/{webhookId}/rotate-secret"} {
		op := doc.Paths.Find(path).GetOperation(http.MethodPost)
		if op == nil || op.Responses.Status(http.StatusConflict) == nil {
			t.Errorf("POST %s: no 409 response", path)
		}
	}
}

func TestOpenAPIListsTheSpecEndpoints(t *testing.T) {
	t.Parallel()
	doc := load(t, tableRoutes())
	for _, ep := range specEndpoints {
		// SPEC names the alias's parameter {id}; the table names it {keyId}.
		path := strings.Replace(ep[1], "/admin/api-keys/{id}", "/admin/api-keys/{keyId}", 1)
		item := doc.Paths.Find(path)
		if item == nil || item.GetOperation(ep[0]) == nil {
			t.Errorf("%s %s is not documented", ep[0], ep[1])
			continue
		}
		if id := item.GetOperation(ep[0]).OperationID; id != ep[2] {
			t.Errorf("%s %s: operationId %q, want %q", ep[0], ep[1], id, ep[2])
		}
	}
}

// shape has a field of every kind the reflection handles.
type shape struct {
	ID       uuid.UUID      `json:"id"`
	At       time.Time      `json:"at"`
	When     *time.Time     `json:"when"`
	Note     *string        `json:"note,omitempty"`
	Tags     []string       `json:"tags"`
	Labels   map[string]int `json:"labels"`
	Anything any            `json:"anything"`
	Ratio    float64        `json:"ratio"`
	Child    *child         `json:"child"`
	Skipped  string         `json:"-"`
	//lint:ignore U1000 an unexported field, which the schema must leave out
	hidden string
	child
}

type child struct {
	Depth int `json:"depth"`
}

func TestOpenAPIReflectsGoTypes(t *testing.T) {
	t.Parallel()
	route := rest.HandleBody(rest.Route{Method: http.MethodPost, Path: "/shapes/{shapeId:[a-z]+}", Op: access.Operation{Field: "createShape"},
		Summary: "Create a shape", Status: http.StatusCreated, Message: "created"},
		func(context.Context, *rest.Call, *shape) (*shape, error) { return nil, nil })
	doc := load(t, []rest.Route{route})
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatal(err)
	}
	op := doc.Paths.Find("/shapes/{shapeId}").Post
	if op == nil || op.Parameters.GetByInAndName("path", "shapeId") == nil {
		t.Fatal("the chi pattern's parameter is not a path parameter")
	}
	s := doc.Components.Schemas["Shape"].Value
	check := func(prop, typ, format string, nullable bool) {
		t.Helper()
		p := s.Properties[prop]
		if p == nil {
			t.Errorf("%s: missing", prop)
			return
		}
		v := p.Value
		if v.Type == nil && len(v.AnyOf) == 2 {
			v = v.AnyOf[0].Value
			if !nullable {
				t.Errorf("%s: nullable", prop)
			}
		} else if v.Type.IncludesNull() != nullable {
			t.Errorf("%s: type %v, nullable want %v", prop, *v.Type, nullable)
		}
		if !v.Type.Includes(typ) || v.Format != format {
			t.Errorf("%s: type %v format %q, want %s %q", prop, v.Type, v.Format, typ, format)
		}
	}
	check("id", "string", "uuid", false)
	check("at", "string", "date-time", false)
	check("when", "string", "date-time", true)
	check("note", "string", "", true)
	check("tags", "array", "", false)
	check("labels", "object", "", false)
	check("ratio", "number", "", false)
	check("child", "object", "", true)
	check("depth", "integer", "", false)
	if s.Properties["tags"].Value.Items.Value.Type.Slice()[0] != "string" ||
		!s.Properties["labels"].Value.AdditionalProperties.Schema.Value.Type.Is("integer") {
		t.Error("items or additionalProperties not reflected")
	}
	if a := s.Properties["anything"].Value; a.Type != nil {
		t.Errorf("an any field has type %v", a.Type)
	}
	for _, gone := range []string{"Skipped", "-", "hidden"} {
		if s.Properties[gone] != nil {
			t.Errorf("property %s documented", gone)
		}
	}
	if slices.Contains(s.Required, "note") || !slices.Contains(s.Required, "when") || !slices.Contains(s.Required, "depth") {
		t.Errorf("required %v: omitempty fields are optional, the others required", s.Required)
	}
	// A request body refuses unknown fields, as the decoder does.
	if ap := s.AdditionalProperties.Has; ap == nil || *ap {
		t.Error("the body schema allows unknown properties")
	}
	data := op.Responses.Status(http.StatusCreated).Value.Content.Get("application/json").Schema.Value.Properties["data"]
	if data.Ref != "#/components/schemas/Shape" {
		t.Errorf("data is %q, want the Shape component (not null)", data.Ref)
	}
}
