package apitest_test

// Validation at the edge (issue 13): what decodes but cannot be stored or
// read back — a time past year 9999, a NUL character, an unbounded page
// position, a cursor's page size, a key's unbounded or over-plan rate limit,
// a malformed GraphQL id, time or cursor — is 422 VALIDATION_ERROR naming
// the field (extensions.code VALIDATION_ERROR in GraphQL), never a 500, and
// nothing is stored.

import (
	"encoding/base64"
	"encoding/json"
	"math"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/credvault/credvault/internal/apitest"
	"github.com/credvault/credvault/internal/platform/config"
)

// year10000 is 9999-12-31 in its own offset but year 10000 in UTC.
const year10000 = "9999-12-31T23:59:59-23:59"

// wantListsWork checks the tenant's key and credential lists still answer,
// over REST and GraphQL, with want keys: a refused value left no row.
func wantListsWork(t *testing.T, e *apitest.Env, cred string, wantKeys int) {
	t.Helper()
	var keys []apiKeyJSON
	listPage(t, e, cred, "/api/v1/api-keys", &keys)
	if len(keys) != wantKeys {
		t.Fatalf("%d keys listed, want %d", len(keys), wantKeys)
	}
	var creds []map[string]any
	listPage(t, e, cred, "/api/v1/credentials", &creds)
	if len(creds) != 0 {
		t.Fatalf("%d credentials listed, want none", len(creds))
	}
	var data struct {
		APIKeys struct{ TotalCount int } `json:"apiKeys"`
	}
	gql(t, e, cred, `{ apiKeys(first: 5) { totalCount edges { node { id expiresAt } } } }`, nil, &data)
	if data.APIKeys.TotalCount != wantKeys {
		t.Fatalf("GraphQL apiKeys totalCount %d, want %d", data.APIKeys.TotalCount, wantKeys)
	}
}

func TestEdgeTimesWithinYears1To9999(t *testing.T) {
	t.Parallel()
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		ten := register(t, e, "Far Future")
		cred := ten.AccessToken
		for _, at := range []string{year10000, "0001-01-01T00:00:00+01:00"} {
			wantError(t, do(e, http.MethodPost, "/api/v1/api-keys", cred, map[string]any{"name": "far", "expires_at": at}),
				http.StatusUnprocessableEntity, "VALIDATION_ERROR", "field", "expires_at")
		}
		wantError(t, do(e, http.MethodPost, "/api/v1/credentials", cred, map[string]any{"integration_id": "far",
			"auth_type": "bearer_token", "data": map[string]any{"token": "t"}, "expires_at": year10000}),
			http.StatusUnprocessableEntity, "VALIDATION_ERROR", "field", "expires_at")
		wantError(t, do(e, http.MethodGet, "/api/v1/admin/audit-logs?since="+url.QueryEscape(year10000), cred, nil),
			http.StatusUnprocessableEntity, "VALIDATION_ERROR", "field", "since")

		wantGQLError(t, gqlDo(e, cred, `mutation { createAPIKey(input: {name: "far", expiresAt: "`+year10000+`"}) { key } }`, nil),
			"VALIDATION_ERROR", "field", "input.expiresAt")
		wantGQLError(t, gqlDo(e, cred, `mutation($in: CreateAPIKeyInput!) { createAPIKey(input: $in) { key } }`,
			map[string]any{"in": map[string]any{"name": "far", "expiresAt": year10000}}), "VALIDATION_ERROR", "field", "input.expiresAt")
		wantGQLError(t, gqlDo(e, cred, `mutation($in: StoreCredentialInput!) { storeCredential(input: $in) { id } }`,
			map[string]any{"in": map[string]any{"integrationID": "far", "authType": "bearer_token",
				"data": map[string]any{"token": "t"}, "expiresAt": year10000}}), "VALIDATION_ERROR", "field", "input.expiresAt")

		wantListsWork(t, e, cred, 0)
		// The last moment of year 9999 in UTC is still a time.
		createKey(t, e, cred, map[string]any{"name": "last", "expires_at": "9999-12-31T23:59:59Z"})
		wantListsWork(t, e, cred, 1)
	})
}

func TestEdgeNULCharactersRefused(t *testing.T) {
	t.Parallel()
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		ten := register(t, e, "Nul")
		cred := ten.AccessToken
		// Anonymous: a NUL is refused before any lookup.
		wantError(t, do(e, http.MethodPost, "/api/v1/auth/login", "", map[string]any{"email": "a\x00@nul.test", "password": "x", "tenant": ten.Slug}),
			http.StatusUnprocessableEntity, "VALIDATION_ERROR", "field", "email")
		wantError(t, do(e, http.MethodPost, "/api/v1/api-keys", cred, map[string]any{"name": "k\x00"}),
			http.StatusUnprocessableEntity, "VALIDATION_ERROR", "field", "name")
		wantError(t, do(e, http.MethodPost, "/api/v1/api-keys", cred, map[string]any{"name": "k", "ip_allowlist": []string{"10.0.0.1", "\x00"}}),
			http.StatusUnprocessableEntity, "VALIDATION_ERROR", "field", "ip_allowlist[1]")
		wantError(t, do(e, http.MethodPost, "/api/v1/credentials", cred, map[string]any{"integration_id": "nul",
			"auth_type": "bearer_token", "data": map[string]any{"token": "t"}, "metadata": map[string]any{"note": "a\x00b"}}),
			http.StatusUnprocessableEntity, "VALIDATION_ERROR", "field", "metadata.note")
		wantError(t, do(e, http.MethodGet, "/api/v1/credentials?integration_id=a%00b", cred, nil),
			http.StatusUnprocessableEntity, "VALIDATION_ERROR", "field", "integration_id")
		wantError(t, do(e, http.MethodGet, "/api/v1/oauth-clients/a%00b", cred, nil),
			http.StatusUnprocessableEntity, "VALIDATION_ERROR", "field", "clientId")

		wantGQLError(t, gqlDo(e, "", `mutation($in: LoginInput!) { login(input: $in) { accessToken } }`,
			map[string]any{"in": map[string]any{"email": "a\x00@nul.test", "password": "x", "tenant": ten.Slug}}),
			"VALIDATION_ERROR", "field", "input.email")
		wantGQLError(t, gqlDo(e, cred, `mutation { createAPIKey(input: {name: "k\u0000"}) { key } }`, nil),
			"VALIDATION_ERROR", "field", "input.name")
		wantGQLError(t, gqlDo(e, cred, `mutation($in: StoreCredentialInput!) { storeCredential(input: $in) { id } }`,
			map[string]any{"in": map[string]any{"integrationID": "nul", "authType": "bearer_token",
				"data": map[string]any{"token": "t"}, "metadata": map[string]any{"note": []any{"a\x00b"}}}}),
			"VALIDATION_ERROR", "field", "input.metadata.note[0]")
		wantGQLError(t, gqlDo(e, cred, `query($id: String!) { oauthClient(clientID: $id) { id } }`, map[string]any{"id": "a\x00"}),
			"VALIDATION_ERROR", "field", "clientID")

		wantListsWork(t, e, cred, 0)
	})
}

// TestEdgeBytesThatAreNotUTF8: PostgreSQL refuses text that is not UTF-8,
// and failed the statement with it (a 500; an audit entry's failure took
// its whole mutation down). A JSON body cannot carry such bytes; a
// percent-encoded path or query parameter, a GraphQL document sent by GET,
// an OAuth form or Basic credentials can: each is refused as invalid input
// (422 naming the parameter, VALIDATION_ERROR, invalid_request or
// invalid_client). A client's User-Agent is not refused: its audit entry
// keeps it with U+FFFD for the bytes, cut at a character's start.
func TestEdgeBytesThatAreNotUTF8(t *testing.T) {
	t.Parallel()
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		ten := register(t, e, "Bytes")
		cred := ten.AccessToken
		wantError(t, do(e, http.MethodGet, "/api/v1/credentials/a%FFb", cred, nil),
			http.StatusUnprocessableEntity, "VALIDATION_ERROR", "field", "integrationId")
		wantError(t, do(e, http.MethodGet, "/api/v1/credentials?integration_id=a%C3", cred, nil),
			http.StatusUnprocessableEntity, "VALIDATION_ERROR", "field", "integration_id")
		wantError(t, do(e, http.MethodGet, "/api/v1/oauth-clients/%FF", cred, nil),
			http.StatusUnprocessableEntity, "VALIDATION_ERROR", "field", "clientId")

		q := `{ apiKeys(where: {nameContains: "a` + "\xff" + `"}) { totalCount } }`
		g := e.Do(apitest.Request{Method: http.MethodGet, Path: "/graphql?query=" + url.QueryEscape(q), Bearer: cred})
		var body apitest.GraphQLResponse
		if err := json.Unmarshal(g.Body, &body); err != nil {
			t.Fatalf("GraphQL by GET: %d %s", g.Status, redact(g.Body))
		}
		wantGQLError(t, &body, "VALIDATION_ERROR", "field", "where.nameContains")

		c := ten.createClient(t, map[string]any{"name": "bytes", "scopes": []string{"api_keys:read"}})
		for _, tc := range []struct {
			path   string
			form   url.Values
			auth   formAuth
			status int
			code   string
		}{
			{"/oauth/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {"\xff"}, "client_secret": {"x"}}, formAuth{}, http.StatusBadRequest, "invalid_request"},
			{"/oauth/token", url.Values{"grant_type": {"client_credentials"}}, formAuth{basicID: "\xff", basicSecret: "x"}, http.StatusUnauthorized, "invalid_client"},
			{"/oauth/introspect", url.Values{"token": {"a\xff"}}, formAuth{basicID: c.ClientID, basicSecret: c.ClientSecret}, http.StatusBadRequest, "invalid_request"},
			{"/oauth/revoke", url.Values{"token": {"a\xff"}, "client_id": {c.ClientID}, "client_secret": {c.ClientSecret}}, formAuth{}, http.StatusBadRequest, "invalid_request"},
		} {
			wantOAuthError(t, postForm(e, tc.path, tc.form, tc.auth), tc.status, tc.code)
		}

		long := strings.Repeat("a", 511) + "é" // 513 bytes: 512 would split the é
		for ua, want := range map[string]string{"agent/\xff\xfe1": "agent/\uFFFD1", long: long[:511]} {
			var k apiKeyJSON
			wantOK(t, do(e, http.MethodPost, "/api/v1/api-keys", cred, map[string]any{"name": "ua"}, map[string]string{"User-Agent": ua}), http.StatusCreated, &k)
			if got := oneAudit(t, e, ten.TenantID, "api_key.create", "", k.ID.String()).UserAgent; got != want {
				t.Errorf("audit user_agent %q, want %q", short(got), short(want))
			}
		}
		wantListsWork(t, e, cred, 2)
	})
}

// TestEdgeNamesLongerThanTheirColumnAreTooLong: a name is held to its
// column's 200 bytes, whichever route sets it and whichever check (the
// service's or the column's validator) sees it first: 150 é's are 300
// bytes, refused as too_long naming the field, never a 500 or another
// reason.
func TestEdgeNamesLongerThanTheirColumnAreTooLong(t *testing.T) {
	t.Parallel()
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		ten := register(t, e, "Names")
		long := strings.Repeat("é", 150)
		for _, c := range []struct {
			path  string
			body  map[string]any
			field string
		}{
			{"/api/v1/api-keys", map[string]any{"name": long}, "name"},
			{"/api/v1/oauth-clients", map[string]any{"name": long, "scopes": []string{"api_keys:read"}}, "name"},
			{"/api/v1/credentials", map[string]any{"integration_id": long, "auth_type": "bearer_token", "data": map[string]any{"token": "t"}}, "integration_id"},
			{"/api/v1/credentials", map[string]any{"integration_id": "names", "name": long, "auth_type": "bearer_token", "data": map[string]any{"token": "t"}}, "name"},
			{"/api/v1/admin/users", map[string]any{"email": "long." + randTag() + "@names.test", "name": long, "password": testPassword, "role": "member"}, "name"},
		} {
			wantError(t, do(e, http.MethodPost, c.path, ten.AccessToken, c.body), http.StatusUnprocessableEntity, "VALIDATION_ERROR",
				"field", c.field, "reason", "too_long")
		}
		wantListsWork(t, e, ten.AccessToken, 0)
	})
}

func TestEdgePagePositionsBounded(t *testing.T) {
	t.Parallel()
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		cred := register(t, e, "Pages").AccessToken
		for query, field := range map[string]string{
			"page=9223372036854775807": "page", "page=1000001": "page", "page=99999999999999999999": "page",
			"offset=9223372036854775807": "offset", "offset=1000000001": "offset", "offset=99999999999999999999": "offset",
		} {
			wantError(t, do(e, http.MethodGet, "/api/v1/api-keys?"+query, cred, nil),
				http.StatusUnprocessableEntity, "VALIDATION_ERROR", "field", field)
		}
		// At the bounds, and page sizes however large, clamped.
		for query, want := range map[string]map[string]any{
			"page=1000000":                        {"page": 1000000, "per_page": 20},
			"offset=1000000000":                   {"offset": 1000000000, "limit": 50},
			"limit=99999999999999999999":          {"limit": 200},
			"page=2&per_page=9223372036854775807": {"per_page": 100, "offset": 100},
		} {
			page := listPage(t, e, cred, "/api/v1/api-keys?"+query, &[]apiKeyJSON{})
			for k, v := range want {
				if got, _ := page[k].(float64); int(got) != v.(int) {
					t.Fatalf("%s: meta.pagination.%s = %v, want %v", query, k, page[k], v)
				}
			}
		}
	})
}

func TestEdgeCursorPageSizeBounded(t *testing.T) {
	t.Parallel()
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		cred := register(t, e, "Cursors").AccessToken
		for range 3 {
			createKey(t, e, cred, map[string]any{"name": "k"})
		}
		page := listPage(t, e, cred, "/api/v1/api-keys?limit=1", &[]apiKeyJSON{})
		next, _ := page["next_cursor"].(string)
		raw, err := base64.RawURLEncoding.DecodeString(next)
		var cur map[string]any
		if err != nil || json.Unmarshal(raw, &cur) != nil {
			t.Fatalf("next_cursor %q does not decode", next)
		}
		craft := func(field string, v any) string {
			c := map[string]any{}
			for k, x := range cur {
				c[k] = x
			}
			c[field] = v
			b, _ := json.Marshal(c)
			return base64.RawURLEncoding.EncodeToString(b)
		}
		page = listPage(t, e, cred, "/api/v1/api-keys?cursor="+craft("n", 100_000_000), &[]apiKeyJSON{})
		if page["limit"] != float64(200) || page["offset"] != float64(1) {
			t.Fatalf("a cursor asking for 100,000,000 items: pagination %v, want limit 200 from offset 1", page)
		}
		wantError(t, do(e, http.MethodGet, "/api/v1/api-keys?cursor="+craft("o", int64(1)<<62), cred, nil),
			http.StatusUnprocessableEntity, "VALIDATION_ERROR", "field", "cursor")
	})
}

func TestEdgeKeyRateLimitWithinPlan(t *testing.T) {
	t.Parallel()
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		cred := register(t, e, "Limits").AccessToken
		for _, c := range []struct {
			limit map[string]any
			field string
		}{
			{map[string]any{"requests": 1, "window_seconds": int64(math.MaxInt64)}, "rate_limit.window_seconds"},
			{map[string]any{"requests": 1, "window_seconds": 86_401}, "rate_limit.window_seconds"},
			{map[string]any{"requests": int64(1) << 62, "window_seconds": 60}, "rate_limit.requests"},
			// The free plan allows 100 per hour; 101 per hour is more.
			{map[string]any{"requests": 101, "window_seconds": 3600}, "rate_limit"},
			{map[string]any{"requests": 1000, "window_seconds": 1}, "rate_limit"},
		} {
			wantError(t, do(e, http.MethodPost, "/api/v1/api-keys", cred, map[string]any{"name": "fast", "rate_limit": c.limit}),
				http.StatusUnprocessableEntity, "VALIDATION_ERROR", "field", c.field)
		}
		wantGQLError(t, gqlDo(e, cred, `mutation { createAPIKey(input: {name: "fast", rateLimit: {requests: 1, windowSeconds: 86401}}) { key } }`, nil),
			"VALIDATION_ERROR", "field", "rate_limit.window_seconds")
		wantGQLError(t, gqlDo(e, cred, `mutation { createAPIKey(input: {name: "fast", rateLimit: {requests: 2, windowSeconds: 1}}) { key } }`, nil),
			"VALIDATION_ERROR", "field", "rate_limit")
		wantListsWork(t, e, cred, 0)
		// Within the plan: 100 per hour, or 2400 per day.
		createKey(t, e, cred, map[string]any{"name": "hourly", "rate_limit": map[string]any{"requests": 100, "window_seconds": 3600}})
		createKey(t, e, cred, map[string]any{"name": "daily", "rate_limit": map[string]any{"requests": 2400, "window_seconds": 86_400}})
		wantListsWork(t, e, cred, 2)
	}, func(c *config.Config) { c.RateLimits = "free=100/h,pro=1000/h,enterprise=10000/h" })
}

func TestEdgeMalformedGraphQLInputIsValidation(t *testing.T) {
	t.Parallel()
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		cred := register(t, e, "Malformed").AccessToken
		for _, c := range []struct {
			query string
			vars  map[string]any
			field string
		}{
			{`{ apiKey(id: "not-a-uuid") { id } }`, nil, "id"},
			{`query($id: ID!) { apiKey(id: $id) { id } }`, map[string]any{"id": "not-a-uuid"}, "id"},
			{`{ apiKeys(after: "garbage") { totalCount } }`, nil, "after"},
			{`{ me { tenant { apiKeys(before: "!!") { totalCount } } } }`, nil, "before"},
			{`mutation { createAPIKey(input: {name: "x", expiresAt: "next tuesday"}) { key } }`, nil, "input.expiresAt"},
			{`mutation { createAPIKey(input: {name: "x", serviceAccountID: "nope"}) { key } }`, nil, "input.serviceAccountID"},
			{`query($ids: [ID!]!) { nodes(ids: $ids) { id } }`, map[string]any{"ids": []any{"4f8a2c3e-1111-4222-8333-944445555666", "x"}}, "ids[1]"},
		} {
			g := gqlDo(e, cred, c.query, c.vars)
			wantGQLError(t, g, "VALIDATION_ERROR", "field", c.field)
		}
		wantListsWork(t, e, cred, 0)
	})
}
