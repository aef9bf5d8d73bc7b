package rest

import (
	"encoding/json"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode"
)

// sdkCall is how the three SDKs call one operation. The method names are
// those of the SDKs' own operation tables (sdk/js/src/operations.ts,
// sdk/python/credvault/operations.py, sdk/go/operations.go), which a test
// holds this table to; the same test builds and type-checks every sample
// against the SDKs.
type sdkCall struct {
	// JS, Python and Go name the SDK method: "apiKeys.create" on a
	// CredVault, "api_keys.create" on a CredVault, "APIKeys.Create" on a
	// *credvault.Client.
	JS, Python, Go string
	// Fields are the body fields the example sets, in the body type's order;
	// nil means its required fields, or its first field when none is.
	Fields []string
	// Values override the example value of a body field.
	Values map[string]any
	// JSArgs and GoArgs: the SDK takes the example's fields as arguments of
	// their own, in order, instead of one object or request struct.
	JSArgs, GoArgs bool
	// GoType is the Go SDK's request struct for the body.
	GoType string
	// GoExtra are literal arguments appended to the Go call.
	GoExtra []string
	// Alias names the operation whose SDK call this route's does the same
	// work as (the /admin/api-keys aliases).
	Alias string
	// Browser marks an operation no SDK has a method for (a browser's leg
	// of single sign-on, the OpenAI-compatible routes, the AI gateway's
	// router administration): only curl shows it.
	Browser bool
}

// sdkCalls maps every operationId to its SDK calls.
var sdkCalls = map[string]sdkCall{
	"register":       {JS: "auth.register", Python: "auth.register", Go: "Auth.Register", GoType: "RegisterRequest"},
	"login":          {JS: "auth.login", Python: "auth.login", Go: "Auth.Login", GoType: "LoginRequest"},
	"refreshSession": {JS: "auth.refresh", Python: "auth.refresh", Go: "Auth.Refresh", JSArgs: true, GoArgs: true},
	"me":             {JS: "auth.me", Python: "auth.me", Go: "Auth.Me"},

	"createAPIKey": {JS: "apiKeys.create", Python: "api_keys.create", Go: "APIKeys.Create", GoType: "CreateAPIKeyRequest",
		Fields: []string{"name", "scopes"}},
	"apiKeys":        {JS: "apiKeys.list", Python: "api_keys.list", Go: "APIKeys.List"},
	"apiKey":         {JS: "apiKeys.get", Python: "api_keys.get", Go: "APIKeys.Get"},
	"rotateAPIKey":   {JS: "apiKeys.rotate", Python: "api_keys.rotate", Go: "APIKeys.Rotate", GoType: "RotateRequest"},
	"revokeAPIKey":   {JS: "apiKeys.revoke", Python: "api_keys.revoke", Go: "APIKeys.Revoke"},
	"validateAPIKey": {JS: "apiKeys.validate", Python: "api_keys.validate", Go: "APIKeys.Validate", JSArgs: true, GoArgs: true},
	"streamAPIKeys":  {JS: "apiKeys.stream", Python: "api_keys.stream", Go: "NewVerifier"},

	"apiKeysAdmin":      {Alias: "apiKeys"},
	"createAPIKeyAdmin": {Alias: "createAPIKey"},
	"revokeAPIKeyAdmin": {Alias: "revokeAPIKey"},

	"createOAuthClient": {JS: "oauthClients.create", Python: "oauth_clients.create", Go: "OAuthClients.Create",
		GoType: "CreateOAuthClientRequest", Values: map[string]any{"name": "billing-service"}},
	"oauthClients": {JS: "oauthClients.list", Python: "oauth_clients.list", Go: "OAuthClients.List"},
	"oauthClient":  {JS: "oauthClients.get", Python: "oauth_clients.get", Go: "OAuthClients.Get"},
	"updateOAuthClient": {JS: "oauthClients.update", Python: "oauth_clients.update", Go: "OAuthClients.Update",
		GoType: "UpdateOAuthClientRequest", Fields: []string{"scopes"}},
	"rotateOAuthClientSecret": {JS: "oauthClients.rotateSecret", Python: "oauth_clients.rotate_secret",
		Go: "OAuthClients.RotateSecret", GoType: "RotateRequest"},
	"deleteOAuthClient": {JS: "oauthClients.delete", Python: "oauth_clients.delete", Go: "OAuthClients.Delete"},

	"storeCredential": {JS: "credentials.store", Python: "credentials.store", Go: "Credentials.Store",
		GoType: "StoreCredentialRequest"},
	"credentials":       {JS: "credentials.list", Python: "credentials.list", Go: "Credentials.List"},
	"credential":        {JS: "credentials.get", Python: "credentials.get", Go: "Credentials.Get"},
	"credentialDetails": {JS: "credentials.details", Python: "credentials.details", Go: "Credentials.Details"},
	"updateCredential": {JS: "credentials.update", Python: "credentials.update", Go: "Credentials.Update",
		GoType: "UpdateCredentialRequest", Fields: []string{"data"}},
	"deleteCredential": {JS: "credentials.delete", Python: "credentials.delete", Go: "Credentials.Delete"},
	"rotateDEK":        {JS: "admin.rotateDEK", Python: "admin.rotate_dek", Go: "Admin.RotateDEK", Fields: []string{}, GoExtra: []string{`""`}},

	"healthAdmin":    {JS: "admin.health", Python: "admin.health", Go: "Admin.DetailedHealth"},
	"health":         {JS: "health", Python: "health", Go: "Admin.Health"},
	"dashboardStats": {JS: "admin.dashboardStats", Python: "admin.dashboard_stats", Go: "Admin.DashboardStats"},
	"usageSummary":   {JS: "admin.usageSummary", Python: "admin.usage_summary", Go: "Admin.UsageSummary", GoExtra: []string{"30"}},
	"featureStatus":  {JS: "admin.features", Python: "admin.feature_status", Go: "Admin.Features"},
	"triggerJob":     {JS: "admin.triggerJob", Python: "admin.trigger_job", Go: "Admin.TriggerJob", GoType: "TriggerJobRequest"},
	"jobStats":       {JS: "admin.jobStats", Python: "admin.job_stats", Go: "Admin.JobStats"},

	"auditLogs":       {JS: "audit.list", Python: "audit.list", Go: "Audit.List"},
	"exportAuditLogs": {JS: "audit.export", Python: "audit.export", Go: "Audit.Export"},

	"tenants": {JS: "tenants.list", Python: "tenants.list", Go: "Tenants.List"},
	"tenant":  {JS: "tenants.get", Python: "tenants.get", Go: "Tenants.Get"},
	"updateTenant": {JS: "tenants.update", Python: "tenants.update", Go: "Tenants.Update", GoType: "UpdateTenantRequest",
		Values: map[string]any{"name": "Acme Inc."}},
	"deleteTenant": {JS: "tenants.delete", Python: "tenants.delete", Go: "Tenants.Delete"},
	"tenantStats":  {JS: "tenants.stats", Python: "tenants.stats", Go: "Tenants.Stats"},

	"createServiceAccount": {JS: "serviceAccounts.create", Python: "service_accounts.create", Go: "ServiceAccounts.Create",
		GoType: "CreateServiceAccountRequest", Values: map[string]any{"name": "nightly-sync"}},

	"users":      {JS: "users.list", Python: "users.list", Go: "Users.List"},
	"createUser": {JS: "users.create", Python: "users.create", Go: "Users.Create", GoType: "CreateUserRequest"},
	"updateUser": {JS: "users.update", Python: "users.update", Go: "Users.Update", GoType: "UpdateUserRequest",
		Fields: []string{"role"}, Values: map[string]any{"role": "admin"}},
	"deleteUser": {JS: "users.delete", Python: "users.delete", Go: "Users.Delete"},

	"webhooks":          {JS: "webhooks.list", Python: "webhooks.list", Go: "Webhooks.List"},
	"createWebhook":     {JS: "webhooks.create", Python: "webhooks.create", Go: "Webhooks.Create", GoType: "CreateWebhookRequest"},
	"webhookEventTypes": {JS: "webhooks.eventTypes", Python: "webhooks.event_types", Go: "Webhooks.EventTypes"},
	"webhook":           {JS: "webhooks.get", Python: "webhooks.get", Go: "Webhooks.Get"},
	"updateWebhook": {JS: "webhooks.update", Python: "webhooks.update", Go: "Webhooks.Update", GoType: "UpdateWebhookRequest",
		Fields: []string{"enabled"}, Values: map[string]any{"enabled": false}},
	"deleteWebhook": {JS: "webhooks.delete", Python: "webhooks.delete", Go: "Webhooks.Delete"},
	"rotateWebhookSecret": {JS: "webhooks.rotateSecret", Python: "webhooks.rotate_secret", Go: "Webhooks.RotateSecret",
		GoType: "RotateRequest"},
	"testWebhook":          {JS: "webhooks.test", Python: "webhooks.test", Go: "Webhooks.Test"},
	"webhookDeliveries":    {JS: "webhooks.deliveries", Python: "webhooks.deliveries", Go: "Webhooks.Deliveries"},
	"retryWebhookDelivery": {JS: "webhooks.retryDelivery", Python: "webhooks.retry_delivery", Go: "Webhooks.RetryDelivery"},

	"ssoConfig":       {JS: "sso.get", Python: "sso.config", Go: "SSO.Get"},
	"updateSSOConfig": {JS: "sso.update", Python: "sso.update_config", Go: "SSO.Update", GoType: "UpdateSSOConfigRequest"},

	"getAuthSsoStart":    {Browser: true},
	"getAuthSsoCallback": {Browser: true},

	// The AI gateway: its OpenAI-compatible routes are for the openai SDKs.
	"createChatCompletion": {Browser: true},
	"listModels":           {Browser: true},
	"routerConfig":         {Browser: true},
	"updateRouterConfig":   {Browser: true},
	"routerProviders":      {Browser: true},
	"createRouterProvider": {Browser: true},
	"updateRouterProvider": {Browser: true},
	"deleteRouterProvider": {Browser: true},
	"routerHealth":         {Browser: true},

	// The AI gateway's guardrail administration.
	"guardrails":        {Browser: true},
	"createGuardrail":   {Browser: true},
	"updateGuardrail":   {Browser: true},
	"deleteGuardrail":   {Browser: true},
	"testGuardrails":    {Browser: true},
	"guardrailPolicies": {Browser: true},
}

// exampleValues are the example values of body fields, by JSON name.
var exampleValues = map[string]any{
	"tenant_name":          "Acme",
	"email":                "ada@example.com",
	"password":             "correct-horse-battery-staple",
	"refresh_token":        "REFRESH_TOKEN",
	"name":                 "ci-deploy",
	"scopes":               []any{"credentials:read"},
	"key":                  "cvk_THE_KEY_TO_CHECK",
	"grace_period_seconds": 3600,
	"integration_id":       "stripe",
	"auth_type":            "api_key",
	"data":                 map[string]any{"api_key": "sk_test_123"},
	"role":                 "member",
	"job_name":             "expire_api_keys",
	"url":                  "https://example.com/hooks/credvault",
	"events":               []any{"api_key.created", "api_key.revoked"},
	"issuer":               "https://accounts.google.com",
	"client_id":            "CLIENT_ID.apps.googleusercontent.com",
}

// pathExamples are the example values of path parameters; others are
// their names in upper snake case (keyId: KEY_ID).
var pathExamples = map[string]string{
	"integrationId": "stripe",
	"jobName":       "expire_api_keys",
	"tenantSlug":    "acme",
	"id":            "USER_ID", // /admin/users/{id}
}

// bodyField is one field of an example request body.
type bodyField struct {
	name    string
	value   any
	pointer bool // the Go type holds it by pointer: optional
}

// example is what every sample of one operation is built from.
type example struct {
	rt         Route
	path       string // the OpenAPI path
	pathValues []string
	body       []bodyField
	call       sdkCall
	alias      bool // the SDKs call the route this one is an alias of
}

// codeSamples are the x-codeSamples of rt: curl, then the JavaScript,
// Python and Go SDKs calling it with example arguments built from its path
// parameters and request body type.
func codeSamples(rt Route, id string) []any {
	// An operation missing from sdkCalls gets curl alone, and fails
	// TestCodeSamplesCoverEveryOperation.
	call, known := sdkCalls[id]
	path, params := openAPIPath(rt.Path)
	ex := example{rt: rt, path: path, call: call}
	for _, p := range params {
		ex.pathValues = append(ex.pathValues, pathExample(p))
	}
	if call.Alias != "" {
		ex.call, ex.alias = sdkCalls[call.Alias], true
	}
	if rt.Body != nil {
		ex.body = exampleBody(reflect.TypeOf(rt.Body), ex.call)
	}
	sample := func(lang, label, source string) object {
		return object{"lang": lang, "label": label, "source": source}
	}
	out := []any{sample("Shell", "curl", ex.curl())}
	if !known || call.Browser {
		return out
	}
	return append(out,
		sample("JavaScript", "JavaScript SDK", ex.javascript()),
		sample("Python", "Python SDK", ex.python()),
		sample("Go", "Go SDK", ex.golang()))
}

// pathExample is the example value of the path parameter name.
func pathExample(name string) string {
	if v, ok := pathExamples[name]; ok {
		return v
	}
	var b strings.Builder
	for i, r := range name {
		if unicode.IsUpper(r) && i > 0 {
			b.WriteByte('_')
		}
		b.WriteRune(unicode.ToUpper(r))
	}
	return b.String()
}

// exampleBody is the example body of type t: the fields call names, or by
// default the required ones (the first field when none is), with their
// example values.
func exampleBody(t reflect.Type, call sdkCall) []bodyField {
	t = deref(t)
	if t.Kind() != reflect.Struct {
		return nil // no fields to show
	}
	var all []bodyField
	var required []bodyField
	for f := range t.Fields() {
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" || name == "-" {
			continue
		}
		bf := bodyField{name: name, pointer: f.Type.Kind() == reflect.Pointer, value: kindExample(deref(f.Type))}
		all = append(all, bf)
		if !strings.Contains(opts, "omitempty") {
			required = append(required, bf)
		}
	}
	chosen := required
	switch {
	case call.Fields != nil:
		chosen = nil
		for _, bf := range all {
			if slices.Contains(call.Fields, bf.name) {
				chosen = append(chosen, bf)
			}
		}
		if len(chosen) != len(call.Fields) {
			panic(fmt.Sprintf("openapi: code sample fields %v are not all fields of %s", call.Fields, t))
		}
	case len(required) == 0 && len(all) > 0:
		chosen = all[:1]
	}
	for i := range chosen {
		if v, ok := call.Values[chosen[i].name]; ok {
			chosen[i].value = v
		} else if v, ok := exampleValues[chosen[i].name]; ok {
			chosen[i].value = v
		}
	}
	return chosen
}

// kindExample is the example value of a field that exampleValues lacks.
func kindExample(t reflect.Type) any {
	switch t.Kind() {
	case reflect.Bool:
		return true
	case reflect.Int, reflect.Int32, reflect.Int64:
		return 1
	case reflect.Slice:
		return []any{"example"}
	case reflect.Map, reflect.Struct:
		return map[string]any{}
	}
	return "example"
}

// iterates reports whether the route answers many items: a list to iterate
// or a stream.
func (ex example) iterates() bool { return ex.rt.list || ex.rt.stream != nil }

// concretePath is the path with the example values of its parameters.
func (ex example) concretePath() string {
	i := 0
	return chiParam.ReplaceAllStringFunc(ex.path, func(string) string {
		v := ex.pathValues[i]
		i++
		return v
	})
}

func (ex example) bodyJSON() string {
	var b strings.Builder
	b.WriteByte('{')
	for i, f := range ex.body {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(f.name)
		v, _ := json.Marshal(f.value)
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.String()
}

// curl is the request as a curl command: the base URL and API key from
// the environment, a JSON body single-quoted for the shell.
func (ex example) curl() string {
	var lines []string
	method := ""
	if ex.rt.Method != "GET" {
		method = "-X " + ex.rt.Method + " "
	}
	flags := ""
	if ex.rt.Redirects {
		flags = "-i " // the answer is a 302: its Location is what matters
	}
	lines = append(lines, "curl "+flags+method+`"$CREDVAULT_URL/api/v1`+ex.concretePath()+`"`)
	if !ex.rt.Op.Open {
		lines = append(lines, `-H "Authorization: Bearer $CREDVAULT_API_KEY"`)
	}
	switch {
	case ex.rt.stream != nil && len(ex.rt.Streams) > 0:
		lines = append(lines, "-H 'Accept: "+ex.rt.Streams[0]+"'", "-N")
	case len(ex.body) > 0:
		lines = append(lines, "-H 'Content-Type: application/json'", "-d "+shellQuote(ex.bodyJSON()))
	}
	return strings.Join(lines, " \\\n  ")
}

// shellQuote single-quotes s for a POSIX shell.
func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// javascript calls the JavaScript SDK (@credvault/sdk) in an ES module.
func (ex example) javascript() string {
	var b strings.Builder
	b.WriteString("import { CredVault } from '@credvault/sdk';\n\n")
	if ex.rt.Op.Open {
		b.WriteString("const cv = new CredVault({ baseUrl: process.env.CREDVAULT_URL ?? 'http://localhost:8080' });\n")
	} else {
		b.WriteString("const cv = new CredVault({ baseUrl: process.env.CREDVAULT_URL ?? 'http://localhost:8080', apiKey: process.env.CREDVAULT_API_KEY });\n")
	}
	if ex.alias {
		b.WriteString("// the same as this alias: the SDK calls the route it stands for\n")
	}
	var args []string
	for _, v := range ex.pathValues {
		args = append(args, jsValue(v))
	}
	switch {
	case ex.call.JSArgs:
		for _, f := range ex.body {
			args = append(args, jsValue(f.value))
		}
	case len(ex.body) > 0:
		var fields []string
		for _, f := range ex.body {
			fields = append(fields, jsKey(f.name)+": "+jsValue(f.value))
		}
		args = append(args, "{ "+strings.Join(fields, ", ")+" }")
	}
	call := "cv." + ex.call.JS + "(" + strings.Join(args, ", ") + ")"
	if ex.iterates() {
		b.WriteString("for await (const item of " + call + ") {\n  console.log(item);\n}\n")
	} else {
		b.WriteString("const res = await " + call + ";\nconsole.log(res);\n")
	}
	return b.String()
}

func jsKey(k string) string {
	for _, r := range k {
		if !(unicode.IsLetter(r) || unicode.IsDigit(r) || r == '_') {
			return jsValue(k)
		}
	}
	return k
}

func jsValue(v any) string {
	switch v := v.(type) {
	case string:
		return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(v) + "'"
	case []any:
		var items []string
		for _, x := range v {
			items = append(items, jsValue(x))
		}
		return "[" + strings.Join(items, ", ") + "]"
	case map[string]any:
		var fields []string
		for _, k := range sortedKeys(v) {
			fields = append(fields, jsKey(k)+": "+jsValue(v[k]))
		}
		return "{ " + strings.Join(fields, ", ") + " }"
	default:
		return fmt.Sprint(v)
	}
}

// python calls the Python SDK (credvault): path parameters by position,
// body fields by keyword.
func (ex example) python() string {
	var b strings.Builder
	b.WriteString("import os\n\nfrom credvault import CredVault\n\n")
	if ex.rt.Op.Open {
		b.WriteString(`cv = CredVault(base_url=os.environ.get("CREDVAULT_URL", "http://localhost:8080"))` + "\n")
	} else {
		b.WriteString(`cv = CredVault(base_url=os.environ.get("CREDVAULT_URL", "http://localhost:8080"), api_key=os.environ["CREDVAULT_API_KEY"])` + "\n")
	}
	if ex.alias {
		b.WriteString("# the same as this alias: the SDK calls the route it stands for\n")
	}
	var args []string
	for _, v := range ex.pathValues {
		args = append(args, pyValue(v))
	}
	for _, f := range ex.body {
		args = append(args, f.name+"="+pyValue(f.value))
	}
	call := "cv." + ex.call.Python + "(" + strings.Join(args, ", ") + ")"
	if ex.iterates() {
		b.WriteString("for item in " + call + ":\n    print(item)\n")
	} else {
		b.WriteString("res = " + call + "\nprint(res)\n")
	}
	return b.String()
}

func pyValue(v any) string {
	switch v := v.(type) {
	case string:
		return strconv.Quote(v)
	case bool:
		if v {
			return "True"
		}
		return "False"
	case []any:
		var items []string
		for _, x := range v {
			items = append(items, pyValue(x))
		}
		return "[" + strings.Join(items, ", ") + "]"
	case map[string]any:
		var fields []string
		for _, k := range sortedKeys(v) {
			fields = append(fields, strconv.Quote(k)+": "+pyValue(v[k]))
		}
		return "{" + strings.Join(fields, ", ") + "}"
	default:
		return fmt.Sprint(v)
	}
}

// golang is a whole Go program calling the Go SDK: path parameters and
// scalar arguments by position, the body as the SDK's request struct (its
// optional fields by pointer), lists and streams iterated.
func (ex example) golang() string {
	var pre, args []string
	for _, v := range ex.pathValues {
		args = append(args, strconv.Quote(v))
	}
	switch {
	case ex.call.GoArgs:
		for _, f := range ex.body {
			args = append(args, goValue(f.value))
		}
	case ex.call.GoType != "":
		var fields []string
		for _, f := range ex.body {
			name := goName(f.name)
			if f.pointer {
				local := strings.ToLower(name[:1]) + name[1:]
				pre = append(pre, local+" := "+goValue(f.value))
				fields = append(fields, name+": &"+local)
			} else {
				fields = append(fields, name+": "+goValue(f.value))
			}
		}
		args = append(args, "&credvault."+ex.call.GoType+"{"+strings.Join(fields, ", ")+"}")
	case len(ex.body) > 0:
		panic("openapi: the Go code sample of " + ex.call.Go + " has a body and no GoType")
	}
	if ex.rt.list || ex.rt.stream != nil && ex.call.Go != "NewVerifier" {
		args = append(args, "nil") // the list's options
	}
	args = append(args, ex.call.GoExtra...)

	var b strings.Builder
	verifier := ex.call.Go == "NewVerifier"
	b.WriteString("package main\n\nimport (\n")
	if !verifier {
		b.WriteString("\t\"context\"\n")
	}
	b.WriteString("\t\"fmt\"\n\t\"log\"\n\t\"os\"\n\n\tcredvault \"github.com/credvault/credvault/sdk/go\"\n)\n\nfunc main() {\n")
	if !verifier {
		b.WriteString("\tctx := context.Background()\n")
	}
	if ex.rt.Op.Open {
		b.WriteString("\tc, err := credvault.NewClient(os.Getenv(\"CREDVAULT_URL\"))\n")
	} else {
		b.WriteString("\tc, err := credvault.NewClient(os.Getenv(\"CREDVAULT_URL\"), credvault.WithAPIKey(os.Getenv(\"CREDVAULT_API_KEY\")))\n")
	}
	b.WriteString("\tif err != nil {\n\t\tlog.Fatal(err)\n\t}\n")
	if ex.alias {
		b.WriteString("\t// the same as this alias: the SDK calls the route it stands for\n")
	}
	for _, p := range pre {
		b.WriteString("\t" + p + "\n")
	}
	switch {
	case verifier:
		// The stream's client: a verifier that keeps the tenant's keys in memory.
		b.WriteString("\tv, err := credvault.NewVerifier(c)\n\tif err != nil {\n\t\tlog.Fatal(err)\n\t}\n\tdefer v.Close()\n" +
			"\tkey, err := v.Verify(os.Getenv(\"KEY_TO_CHECK\"))\n\tif err != nil {\n\t\tlog.Fatal(err)\n\t}\n\tfmt.Printf(\"%+v\\n\", key)\n")
	case ex.iterates():
		b.WriteString("\tfor item, err := range c." + ex.call.Go + "(ctx" + prefixed(args) + ") {\n" +
			"\t\tif err != nil {\n\t\t\tlog.Fatal(err)\n\t\t}\n\t\tfmt.Printf(\"%+v\\n\", item)\n\t}\n")
	default:
		b.WriteString("\tres, err := c." + ex.call.Go + "(ctx" + prefixed(args) + ")\n" +
			"\tif err != nil {\n\t\tlog.Fatal(err)\n\t}\n\tfmt.Printf(\"%+v\\n\", res)\n")
	}
	b.WriteString("}\n")
	return b.String()
}

func prefixed(args []string) string {
	if len(args) == 0 {
		return ""
	}
	return ", " + strings.Join(args, ", ")
}

// goInitialisms are the words Go spells in capitals.
var goInitialisms = map[string]string{"id": "ID", "url": "URL", "uri": "URI", "uris": "URIs", "ip": "IP",
	"ttl": "TTL", "api": "API", "dek": "DEK", "sso": "SSO"}

// goName is the Go field of a JSON name: client_id is ClientID.
func goName(jsonName string) string {
	var b strings.Builder
	for _, w := range strings.Split(jsonName, "_") {
		if up, ok := goInitialisms[w]; ok {
			b.WriteString(up)
		} else if w != "" {
			b.WriteString(strings.ToUpper(w[:1]) + w[1:])
		}
	}
	return b.String()
}

func goValue(v any) string {
	switch v := v.(type) {
	case string:
		return strconv.Quote(v)
	case []any:
		var items []string
		for _, x := range v {
			items = append(items, goValue(x))
		}
		return "[]string{" + strings.Join(items, ", ") + "}"
	case map[string]any:
		var fields []string
		for _, k := range sortedKeys(v) {
			fields = append(fields, strconv.Quote(k)+": "+goValue(v[k]))
		}
		return "map[string]any{" + strings.Join(fields, ", ") + "}"
	default:
		return fmt.Sprint(v)
	}
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
