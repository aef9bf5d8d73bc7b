package rest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"time"
	"unicode"

	"github.com/credvault/credvault/internal/access"

	"github.com/google/uuid"

	"github.com/credvault/credvault/internal/platform/apperr"
	"github.com/credvault/credvault/internal/platform/paging"
)

// object is a JSON object of the document.
type object = map[string]any

// OpenAPIVersion is the version of the OpenAPI specification the document follows.
const OpenAPIVersion = "3.1.0"

// OpenAPI returns the OpenAPI 3.1 document of routes, generated from the
// route table alone so that it cannot drift from the code: paths and
// methods, operation ids (the GraphQL field names), security, the request
// and response schemas reflected from the Body and Result Go types inside
// the envelope, the paging, sort and filter parameters of lists, and the
// error responses each route can give. version is the API's version.
func OpenAPI(routes []Route, version string) object {
	g := &generator{schemas: object{}, names: map[reflect.Type]string{}}
	paths := object{}
	var tags []any
	seenTag := map[string]bool{}
	ids := operationIDs(routes)
	for i, rt := range routes {
		path, params := openAPIPath(rt.Path)
		item, ok := paths[path].(object)
		if !ok {
			item = object{}
			paths[path] = item
		}
		tag := firstSegment(rt.Path)
		if !seenTag[tag] {
			seenTag[tag] = true
			tags = append(tags, object{"name": tag})
		}
		item[strings.ToLower(rt.Method)] = g.operation(rt, ids[i], tag, params)
	}
	return object{
		"openapi": OpenAPIVersion,
		"info": object{
			"title":   "CredVault API",
			"version": version,
			"description": "The REST layer of CredVault, a multi-tenant credentials and access platform. Every " +
				"route calls the resolver of a GraphQL field (its operationId). Responses are enveloped: " +
				"`{success, message, data, meta: {request_id, pagination?}, timestamp}`, errors " +
				"`{success: false, error: {code, message, details?}, meta, timestamp}`. Requests are rate " +
				"limited by the tenant's plan (`X-RateLimit-*` headers; 429 `RATE_LIMIT_EXCEEDED` with " +
				"`Retry-After`).",
		},
		"servers": []any{object{"url": "/api/v1", "description": "this server"}},
		"tags":    tags,
		"paths":   paths,
		"components": object{
			"schemas":         g.components(),
			"responses":       errorResponses(),
			"parameters":      headerParameters(),
			"headers":         responseHeaders(),
			"securitySchemes": securitySchemes(),
		},
	}
}

// credentialSecurity lists the alternatives of SPEC §3: any one suffices.
var credentialSecurity = []any{object{"bearerAuth": []any{}}, object{"apiKeyHeader": []any{}}, object{"apiKeyAuthorization": []any{}}}

func securitySchemes() object {
	return object{
		"bearerAuth": object{"type": "http", "scheme": "bearer",
			"description": "`Authorization: Bearer <token>`: a session token from login or register, an OAuth " +
				"access token from /oauth/token, or an API key (`cvk_…`)."},
		"apiKeyHeader": object{"type": "apiKey", "in": "header", "name": "X-API-Key",
			"description": "`X-API-Key: <api key>`"},
		"apiKeyAuthorization": object{"type": "apiKey", "in": "header", "name": "Authorization",
			"description": "`Authorization: ApiKey <api key>`: enter the whole value, the `ApiKey ` prefix " +
				"included, such as `ApiKey cvk_…`."},
	}
}

func headerParameters() object {
	return object{
		"TenantID": object{"name": "x-tenantid", "in": "header", "required": false,
			"description": "Must be the credential's tenant (else 403 TENANT_MISMATCH); a platform admin " +
				"selects the tenant to act in with it.",
			"schema": object{"type": "string", "format": "uuid"}},
		"Realm": object{"name": "realmname", "in": "header", "required": false,
			"description": "The tenant's slug: picks the tenant at login when the body names none.",
			"schema":      object{"type": "string"}},
		"RequestID": object{"name": "X-Request-ID", "in": "header", "required": false,
			"description": "Echoed in the response header and meta.request_id; generated when absent.",
			"schema":      object{"type": "string", "minLength": 1, "maxLength": 128}},
	}
}

func responseHeaders() object {
	integer := func(desc string) object {
		return object{"description": desc, "schema": object{"type": "integer"}}
	}
	return object{
		"RequestID":          object{"description": "The request id, also in meta.request_id.", "schema": object{"type": "string"}},
		"RateLimitLimit":     integer("Requests allowed in the window: the plan's, or the API key's own limit."),
		"RateLimitRemaining": integer("Requests left in the window."),
		"RateLimitReset":     integer("Unix time (seconds) at which the current window ends."),
		"RetryAfter":         integer("Seconds to wait before retrying; also error.details.retry_after."),
		"CacheControl": object{"description": "no-store: the answer holds a secret that no cache may keep.",
			"schema": object{"type": "string", "const": "no-store"}},
	}
}

// errorCodes are the error codes of SPEC §5, grouped by status below.
var errorCodes = []apperr.Code{apperr.InvalidRequest, apperr.Unauthorized, apperr.Forbidden, apperr.TenantMismatch,
	apperr.NotFound, apperr.MethodNotAllowed, apperr.Conflict, apperr.PayloadTooLarge, apperr.UnsupportedMediaType,
	apperr.Validation, apperr.RateLimited, apperr.Internal, apperr.Unavailable}

// errorResponse names the component of each error status.
var errorResponse = map[int]string{
	http.StatusBadRequest:            "BadRequest",
	http.StatusUnauthorized:          "Unauthorized",
	http.StatusForbidden:             "Forbidden",
	http.StatusNotFound:              "NotFound",
	http.StatusConflict:              "Conflict",
	http.StatusRequestEntityTooLarge: "PayloadTooLarge",
	http.StatusUnsupportedMediaType:  "UnsupportedMediaType",
	http.StatusUnprocessableEntity:   "ValidationError",
	http.StatusTooManyRequests:       "TooManyRequests",
	http.StatusInternalServerError:   "InternalError",
	http.StatusServiceUnavailable:    "ServiceUnavailable",
}

// errorExamples are cheap examples of the error envelope, by status.
var errorExamples = map[int]object{
	http.StatusUnauthorized:        {"reason": "missing"},
	http.StatusForbidden:           {"required_scope": "api_keys:write"},
	http.StatusUnprocessableEntity: {"field": "name", "reason": "required"},
	http.StatusTooManyRequests:     {"retry_after": 42},
	http.StatusServiceUnavailable:  {"retry_after": apperr.RetryAfterSeconds},
}

// errorResponses are the responses components: the error envelope with the
// codes of each status.
func errorResponses() object {
	out := object{}
	for status, name := range errorResponse {
		var codes []any
		for _, c := range errorCodes {
			if c.Status() == status {
				codes = append(codes, string(c))
			}
		}
		example := object{"success": false,
			"error":     object{"code": codes[0], "message": strings.ToLower(http.StatusText(status))},
			"meta":      object{"request_id": "3f1c1f9e-8d1a-4a53-9a43-0d3c9b7c1e2a"},
			"timestamp": "2026-01-01T00:00:00.000Z"}
		if d, ok := errorExamples[status]; ok {
			example["error"].(object)["details"] = d
		}
		headers := object{"X-Request-ID": ref("headers", "RequestID")}
		switch status {
		case http.StatusUnauthorized:
			headers["WWW-Authenticate"] = object{"description": `Bearer realm="credvault"`, "schema": object{"type": "string"}}
		case http.StatusTooManyRequests:
			headers["Retry-After"] = ref("headers", "RetryAfter")
			for _, h := range rateLimitHeaders {
				headers[h[0]] = ref("headers", h[1])
			}
		case http.StatusServiceUnavailable:
			headers["Retry-After"] = ref("headers", "RetryAfter")
		}
		out[name] = object{
			"description": http.StatusText(status),
			"headers":     headers,
			"content": object{"application/json": object{
				"schema": object{"allOf": []any{ref("schemas", "Error"),
					object{"properties": object{"error": object{"properties": object{"code": object{"enum": codes}}}}}}},
				"example": example,
			}},
		}
	}
	return out
}

// rateLimitHeaders are the headers of every rate-limited response, with
// their components.
var rateLimitHeaders = [][2]string{{"X-RateLimit-Limit", "RateLimitLimit"},
	{"X-RateLimit-Remaining", "RateLimitRemaining"}, {"X-RateLimit-Reset", "RateLimitReset"}}

func ref(kind, name string) object { return object{"$ref": "#/components/" + kind + "/" + name} }

// operation is the operation object of rt.
func (g *generator) operation(rt Route, id, tag string, pathParams []string) object {
	desc := rt.Summary + "."
	if rt.Op.Field != "" && !rt.Op.RESTOnly {
		desc += fmt.Sprintf(" Calls the GraphQL field `%s`.", rt.Op.Field)
	}
	switch {
	case rt.Op.Open:
		desc += " Open: no credentials needed."
	case rt.Op.Scope != "":
		desc += fmt.Sprintf(" Requires the scope `%s`.", rt.Op.Scope)
	default:
		desc += " Any authenticated principal."
	}
	var params []any
	for _, p := range pathParams {
		params = append(params, object{"name": p, "in": "path", "required": true, "schema": object{"type": "string"}})
	}
	if rt.list {
		params = append(params, listParameters(rt)...)
	}
	if rt.stream != nil {
		params = append(params, filterParameters(rt)...)
	}
	params = append(params, ref("parameters", "RequestID"))
	if rt.Op.Open {
		params = append(params, ref("parameters", "Realm"))
	} else {
		params = append(params, ref("parameters", "TenantID"))
	}
	op := object{
		"operationId": id,
		"summary":     rt.Summary,
		"description": desc,
		"tags":        []any{tag},
		"parameters":  params,
		"responses":   g.responses(rt, len(pathParams) > 0),
	}
	op["x-codeSamples"] = codeSamples(rt, id)
	if rt.Op.Open {
		op["security"] = []any{}
	} else {
		op["security"] = credentialSecurity
		if rt.Op.Scope != "" {
			op["x-required-scope"] = rt.Op.Scope
		}
	}
	if rt.Body != nil {
		body := deref(reflect.TypeOf(rt.Body))
		required := true
		if body.Kind() == reflect.Struct {
			// A body whose fields are all optional may be left out: decodeBody reads none as {}.
			fields, _ := g.properties(body)["required"].([]any)
			required = len(fields) > 0
		}
		// An OpenAI request's schema stays open: the fields the gateway does
		// not read are passed through.
		schema := g.schema(body)
		if !rt.OpenAI {
			schema = g.closed(schema)
		}
		op["requestBody"] = object{"required": required,
			"content": object{"application/json": object{"schema": schema}}}
	}
	return op
}

// listParameters are the paging, sort and filter parameters of a list (SPEC §5).
func listParameters(rt Route) []any {
	query := func(name, desc string, schema object) object {
		return object{"name": name, "in": "query", "required": false, "description": desc, "schema": schema}
	}
	params := []any{
		query("limit", fmt.Sprintf("Page size (default %d); above %d it is clamped to %d.", DefaultLimit, MaxLimit, MaxLimit),
			object{"type": "integer", "minimum": 1, "default": DefaultLimit}),
		query("offset", "Items to skip; not with page or cursor.", object{"type": "integer", "minimum": 0, "maximum": MaxOffset, "default": 0}),
		query("page", "Page number, from 1; with per_page instead of limit and offset.", object{"type": "integer", "minimum": 1, "maximum": MaxPage}),
		query("per_page", fmt.Sprintf("Page size with page (default %d); above %d it is clamped to %d.", DefaultPerPage, MaxPerPage, MaxPerPage),
			object{"type": "integer", "minimum": 1}),
		query("cursor", "The opaque meta.pagination.next_cursor of the previous page of this list: the next page seeks past "+
			"that page's last item, however deep, and keeps its sort and order (another is 422). Not with offset or page.", object{"type": "string"}),
	}
	if len(rt.Sort) > 0 {
		params = append(params, query("sort", "Field to sort by; another is 422 VALIDATION_ERROR.",
			object{"type": "string", "enum": anySlice(rt.Sort), "default": rt.Sort[0]}))
	}
	params = append(params, query("order", "Sort direction.", object{"type": "string", "enum": []any{"asc", "desc"}, "default": "desc"}))
	return append(params, filterParameters(rt)...)
}

// filterParameters are the filter parameters of a list or a stream.
func filterParameters(rt Route) []any {
	var params []any
	for _, f := range rt.Filters {
		s := object{"type": "string"}
		if len(f.Enum) > 0 {
			s["enum"] = anySlice(f.Enum)
		}
		if f.Format != "" {
			s["format"] = f.Format
		}
		doc := f.Doc
		if doc == "" {
			doc = "Only items whose " + f.Name + " is this value."
		}
		params = append(params, object{"name": f.Name, "in": "query", "required": false, "description": doc, "schema": s})
	}
	return params
}

// responses are the success response, in the envelope, and the error
// responses rt can give.
func (g *generator) responses(rt Route, hasPathParams bool) object {
	if rt.OpenAI {
		return g.openAIResponses(rt)
	}
	result := reflect.TypeOf(rt.Result)
	var data object
	if rt.list {
		// A page's items are never null.
		data = object{"type": "array", "items": g.schema(deref(result.Elem()))}
	} else {
		data = g.schema(deref(result))
	}
	meta := ref("schemas", "Meta")
	if rt.list {
		meta = ref("schemas", "ListMeta")
	}
	required := []any{"success", "data", "meta", "timestamp"}
	if rt.Message != "" {
		required = append(required, "message")
	}
	headers := object{"X-Request-ID": ref("headers", "RequestID")}
	if !rt.Unlimited {
		for _, h := range rateLimitHeaders {
			headers[h[0]] = ref("headers", h[1])
		}
	}
	if rt.Secret {
		headers["Cache-Control"] = ref("headers", "CacheControl")
	}
	content := object{"application/json": object{"schema": object{
		"type":     "object",
		"required": required,
		"properties": object{
			"success":   object{"const": true},
			"message":   object{"type": "string", "examples": []any{rt.Message}},
			"data":      data,
			"meta":      meta,
			"timestamp": object{"type": "string", "format": "date-time"},
		},
	}}}
	if rt.stream != nil {
		content = g.streamContent(rt)
	}
	out := object{
		fmt.Sprint(rt.Status): object{"description": rt.Message, "headers": headers, "content": content},
		"default": object{"description": "An error, in the error envelope.",
			"content": object{"application/json": object{"schema": ref("schemas", "Error")}}},
	}
	if rt.Redirects {
		out[fmt.Sprint(http.StatusFound)] = object{
			"description": "Found: the browser goes on to Location.",
			"headers": object{"X-Request-ID": ref("headers", "RequestID"),
				"Location": object{"description": "Where the browser goes next.", "schema": object{"type": "string", "format": "uri"}}},
		}
	}
	// Every route reads the database (to authenticate, or as its work), so
	// every route answers 503 when it does not answer.
	statuses := []int{http.StatusInternalServerError, http.StatusServiceUnavailable}
	if !rt.Unlimited {
		statuses = append(statuses, http.StatusTooManyRequests)
	}
	if !rt.Op.Open {
		statuses = append(statuses, http.StatusUnauthorized, http.StatusForbidden)
	}
	if rt.Body != nil {
		statuses = append(statuses, http.StatusBadRequest, http.StatusRequestEntityTooLarge,
			http.StatusUnsupportedMediaType, http.StatusUnprocessableEntity)
	}
	if rt.Status == http.StatusCreated || rt.Method == http.MethodPatch || rt.Conflicts {
		// A name, email or slug that must be unique is taken, or a
		// concurrent change came first.
		statuses = append(statuses, http.StatusConflict)
	}
	if rt.list || len(rt.Filters) > 0 {
		statuses = append(statuses, http.StatusUnprocessableEntity)
	}
	if hasPathParams || rt.Op.Tenant == access.NamedTenant {
		statuses = append(statuses, http.StatusNotFound)
	}
	for _, s := range statuses {
		out[fmt.Sprint(s)] = ref("responses", errorResponse[s])
	}
	return out
}

// openAIResponses are an OpenAI-compatible route's: its answer as OpenAI's
// API gives it, outside the envelope and open to fields OpenAI adds, and
// every error in OpenAI's shape.
func (g *generator) openAIResponses(rt Route) object {
	str := object{"type": "string"}
	errResp := object{"description": "An error, in OpenAI's shape.", "content": object{"application/json": object{"schema": object{
		"type": "object", "required": []any{"error"},
		"properties": object{"error": object{"type": "object", "required": []any{"message", "type", "code", "param"},
			"properties": object{"message": str, "type": str, "code": nullable(str), "param": nullable(str)}}},
	}}}}
	content := object{"application/json": object{"schema": g.schema(deref(reflect.TypeOf(rt.Result)))}}
	if rt.Body != nil {
		content[EventStream] = object{"schema": object{"type": "string",
			"description": "With stream: true, Server-Sent Events: each `data:` line a chat.completion.chunk, then `data: [DONE]`."}}
	}
	out := object{fmt.Sprint(rt.Status): object{"description": rt.Message, "content": content}, "default": errResp}
	statuses := []int{http.StatusUnauthorized, http.StatusForbidden, http.StatusTooManyRequests,
		http.StatusInternalServerError, http.StatusServiceUnavailable}
	if rt.Body != nil {
		// A chat request: its body, its model (404 model_not_found), its
		// guardrails (400 guardrail_violation) and its providers (502).
		statuses = append(statuses, http.StatusBadRequest, http.StatusNotFound, http.StatusRequestEntityTooLarge,
			http.StatusUnsupportedMediaType, http.StatusBadGateway)
	}
	for _, s := range statuses {
		resp := object{"description": http.StatusText(s) + ", in OpenAI's error shape.", "content": errResp["content"]}
		if s == http.StatusTooManyRequests || s == http.StatusServiceUnavailable {
			resp["headers"] = object{"Retry-After": ref("headers", "RetryAfter")}
		}
		out[fmt.Sprint(s)] = resp
	}
	return out
}

// streamContent is the content of a streaming route's answer, by media
// type: NDJSON is one item per line, the schema's array without its
// brackets and commas; CSV a header row of the item's properties, then a
// row per item.
func (g *generator) streamContent(rt Route) object {
	item := g.schema(deref(reflect.TypeOf(rt.Result)))
	out := object{}
	for _, t := range rt.Streams {
		switch t {
		case "application/x-ndjson":
			out[t] = object{"schema": object{"type": "array", "items": item,
				"description": "Newline-delimited JSON: each item on a line of its own, without the array's brackets or commas."}}
		case EventStream:
			out[t] = object{"schema": object{"type": "string",
				"description": "Server-Sent Events: `snapshot` ({keys: [item]}), `upsert` (item) and `remove` ({id}) " +
					"events, each with an id; comment lines as heartbeats."}}
		case "text/csv":
			out[t] = object{"schema": object{"type": "string",
				"description": "RFC 4180 CSV: a header row naming the item's properties, then a row per item; " +
					"an object property holds its JSON."}}
		default:
			panic("openapi: no schema for the stream media type " + t)
		}
	}
	return out
}

// operationIDs gives each route its GraphQL field as operationId. Where
// several routes call one field (the /admin/api-keys aliases, a credential
// with and without its data), the later ones add the words of their path
// that the first one's lacks: createAPIKeyAdmin, credentialDetails.
func operationIDs(routes []Route) []string {
	ids := make([]string, len(routes))
	first := map[string]string{}
	used := map[string]bool{}
	for i, rt := range routes {
		id := rt.Op.Field
		if id == "" {
			id = strings.ToLower(rt.Method) + camel(literalSegments(rt.Path))
		}
		if firstPath, ok := first[id]; ok {
			var extra []string
			for _, seg := range literalSegments(rt.Path) {
				if !slices.Contains(literalSegments(firstPath), seg) {
					extra = append(extra, seg)
				}
			}
			id += camel(extra)
		} else {
			first[id] = rt.Path
		}
		for base, n := id, 2; used[id]; n++ {
			id = fmt.Sprintf("%s%d", base, n)
		}
		used[id] = true
		ids[i] = id
	}
	return ids
}

// literalSegments are the path's segments that are not parameters.
func literalSegments(path string) []string {
	var out []string
	for _, seg := range strings.Split(path, "/") {
		if seg != "" && !strings.HasPrefix(seg, "{") {
			out = append(out, seg)
		}
	}
	return out
}

// camel joins words (which may hold dashes) in CamelCase.
func camel(words []string) string {
	var b strings.Builder
	for _, w := range words {
		for _, part := range strings.FieldsFunc(w, func(r rune) bool { return r == '-' || r == '_' }) {
			b.WriteString(strings.ToUpper(part[:1]) + part[1:])
		}
	}
	return b.String()
}

func firstSegment(path string) string {
	seg, _, _ := strings.Cut(strings.TrimPrefix(path, "/"), "/")
	return seg
}

// chiParam matches a chi path parameter, with its optional regexp.
var chiParam = regexp.MustCompile(`\{([^}:]+)(:[^}]*)?\}`)

// openAPIPath turns a chi pattern into an OpenAPI path and its parameter names.
func openAPIPath(pattern string) (string, []string) {
	var names []string
	path := chiParam.ReplaceAllStringFunc(pattern, func(m string) string {
		name := chiParam.FindStringSubmatch(m)[1]
		names = append(names, name)
		return "{" + name + "}"
	})
	return path, names
}

func anySlice(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

// generator reflects Go types into JSON Schemas, named struct types into
// components.
type generator struct {
	schemas object
	names   map[reflect.Type]string
}

var (
	timeType = reflect.TypeFor[time.Time]()
	uuidType = reflect.TypeFor[uuid.UUID]()
)

func deref(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

// schema is the JSON Schema of values of t as encoding/json writes them:
// json tags name the properties, fields without omitempty are required,
// pointers may be null, time.Time is a date-time string, uuid.UUID a uuid
// string, maps are objects and slices arrays.
func (g *generator) schema(t reflect.Type) object {
	switch t {
	case timeType:
		return object{"type": "string", "format": "date-time"}
	case uuidType:
		return object{"type": "string", "format": "uuid"}
	}
	switch t.Kind() {
	case reflect.Pointer:
		return nullable(g.schema(t.Elem()))
	case reflect.Interface:
		return object{}
	case reflect.Bool:
		return object{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return object{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return object{"type": "number"}
	case reflect.String:
		return object{"type": "string"}
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return object{"type": "string", "contentEncoding": "base64"}
		}
		// Strict: a nil slice would be written as null, which the API never
		// answers (lists are [] when empty), so the contract tests catch it.
		return object{"type": "array", "items": g.schema(t.Elem())}
	case reflect.Map:
		return object{"type": "object", "additionalProperties": g.schema(t.Elem())}
	case reflect.Struct:
		return g.structSchema(t)
	}
	panic("openapi: no JSON Schema for Go type " + t.String())
}

// structSchema is a $ref to the component of a named struct, or the schema
// itself for an anonymous one.
func (g *generator) structSchema(t reflect.Type) object {
	if t.Name() == "" {
		return g.properties(t)
	}
	if name, ok := g.names[t]; ok {
		return ref("schemas", name)
	}
	name := componentName(t)
	for base, n := name, 2; g.schemas[name] != nil; n++ {
		name = fmt.Sprintf("%s%d", base, n)
	}
	g.names[t] = name
	g.schemas[name] = object{} // reserved: t may refer to itself
	g.schemas[name] = g.properties(t)
	return ref("schemas", name)
}

// properties is the object schema of struct t.
func (g *generator) properties(t reflect.Type) object {
	props := object{}
	var required []any
	for f := range t.Fields() {
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" && opts == "" {
			continue
		}
		// encoding/json promotes the fields of an embedded struct, exported or not.
		if f.Anonymous && name == "" && f.Type.Kind() == reflect.Struct {
			embedded := g.properties(f.Type)
			for k, v := range embedded["properties"].(object) {
				props[k] = v
			}
			if r, ok := embedded["required"].([]any); ok {
				required = append(required, r...)
			}
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		props[name] = g.schema(f.Type)
		if !slices.Contains(strings.Split(opts, ","), "omitempty") && !slices.Contains(strings.Split(opts, ","), "omitzero") {
			required = append(required, name)
		}
	}
	s := object{"type": "object", "properties": props}
	if len(required) > 0 {
		s["required"] = required
	}
	return s
}

// closed forbids unknown properties in a request body's schema: the decoder
// refuses them with 422.
func (g *generator) closed(s object) object {
	target := s
	if r, ok := s["$ref"].(string); ok {
		target = g.schemas[strings.TrimPrefix(r, "#/components/schemas/")].(object)
	}
	if target["type"] == "object" {
		target["additionalProperties"] = false
	}
	return s
}

// nullable is s that also allows null.
func nullable(s object) object {
	switch typ := s["type"].(type) {
	case string:
		out := object{}
		for k, v := range s {
			out[k] = v
		}
		out["type"] = []any{typ, "null"}
		return out
	case []any:
		if slices.Contains(typ, any("null")) {
			return s
		}
	}
	if len(s) == 0 {
		return s // anything, null included
	}
	return object{"anyOf": []any{s, object{"type": "null"}}}
}

// componentName is a Go type's name as a component: exported, without a
// JSON suffix (apiKeyJSON is APIKey's REST shape: ApiKey).
func componentName(t reflect.Type) string {
	name := strings.TrimSuffix(t.Name(), "JSON")
	name = strings.Map(func(r rune) rune {
		if unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_' || r == '.' || r == '-' {
			return r
		}
		return '_'
	}, name)
	return strings.ToUpper(name[:1]) + name[1:]
}

// components are the schemas the routes refer to, plus the envelope's.
func (g *generator) components() object {
	g.schema(reflect.TypeFor[Pagination]())
	page := g.schemas["Pagination"].(object)["properties"].(object)
	page["total"] = object{"type": "integer", "description": fmt.Sprintf("The number of items, counted only as far as %d "+
		"past the page's start: a longer list reports start + %d, a lower bound, with total_is_lower_bound.", paging.TotalCap, paging.TotalCap+1)}
	page["total_is_lower_bound"] = object{"type": "boolean", "description": "Present, and true, only when total is a lower bound rather than a count."}
	g.schemas["Meta"] = object{"type": "object", "required": []any{"request_id"},
		"properties": object{"request_id": object{"type": "string"}, "pagination": ref("schemas", "Pagination")}}
	g.schemas["ListMeta"] = object{"type": "object", "required": []any{"request_id", "pagination"},
		"properties": object{"request_id": object{"type": "string"}, "pagination": ref("schemas", "Pagination")}}
	codes := make([]any, len(errorCodes))
	for i, c := range errorCodes {
		codes[i] = string(c)
	}
	g.schemas["Error"] = object{
		"type":     "object",
		"required": []any{"success", "error", "meta", "timestamp"},
		"properties": object{
			"success": object{"const": false},
			"error": object{"type": "object", "required": []any{"code", "message"}, "properties": object{
				"code":    object{"type": "string", "enum": codes},
				"message": object{"type": "string"},
				"details": object{"type": "object", "description": "Such as field and reason (422), " +
					"reason (401), required_scope (403) or retry_after in seconds (429, 503)."},
			}},
			"meta":      ref("schemas", "Meta"),
			"timestamp": object{"type": "string", "format": "date-time"},
		},
	}
	return g.schemas
}

// openAPIHandler serves the document of the route table, built once.
func (a *API) openAPIHandler() http.HandlerFunc {
	doc, err := json.MarshalIndent(OpenAPI(a.Routes(), a.Resolver.Version), "", "  ")
	if err != nil {
		panic("openapi: " + err.Error()) // the document is made of plain maps and slices
	}
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Set("Cache-Control", "no-cache")
		_, _ = w.Write(doc)
	}
}
