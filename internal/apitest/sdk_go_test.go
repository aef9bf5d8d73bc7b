package apitest_test

// The Go SDK (sdk/go) against the live server, on every database: its
// typed calls, errors, paging, the OpenAPI coverage of its methods, and the
// local verifier over the key stream.

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	credvault "github.com/credvault/credvault/sdk/go"

	"github.com/credvault/credvault/internal/apitest"
	"github.com/credvault/credvault/internal/platform/config"
)

// sdkTenant signs a tenant up with the SDK and returns a client
// authenticated by a new API key of the owner's scopes, and the session's.
func sdkTenant(t *testing.T, baseURL string) (keyClient, sessionClient *credvault.Client) {
	t.Helper()
	ctx := context.Background()
	anon, err := credvault.NewClient(baseURL)
	if err != nil {
		t.Fatal(err)
	}
	tag := randTag()
	s, err := anon.Auth.Register(ctx, &credvault.RegisterRequest{TenantName: "SDK Go " + tag,
		Email: "owner-" + tag + "@sdk-go.test", Password: testPassword})
	if err != nil {
		t.Fatalf("register: %v", err)
	}
	sessionClient, _ = credvault.NewClient(baseURL, credvault.WithToken(s.AccessToken))
	k, err := sessionClient.APIKeys.Create(ctx, &credvault.CreateAPIKeyRequest{Name: "sdk"})
	if err != nil {
		t.Fatalf("create key: %v", err)
	}
	keyClient, _ = credvault.NewClient(baseURL, credvault.WithAPIKey(k.Key))
	return keyClient, sessionClient
}

func TestGoSDK(t *testing.T) {
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		ctx := context.Background()
		c, _ := sdkTenant(t, e.Server.URL)

		me, err := c.Auth.Me(ctx)
		if err != nil || me.PrincipalType == "" || me.Tenant.ID == "" {
			t.Fatalf("Me = %+v, %v", me, err)
		}

		// Keys: create, get, validate, rotate, revoke.
		k, err := c.APIKeys.Create(ctx, &credvault.CreateAPIKeyRequest{Name: "ci", Scopes: []string{"credentials:read"}})
		if err != nil || !strings.HasPrefix(k.Key, "cvk_") || k.Status != "active" {
			t.Fatalf("Create = %+v, %v", k, err)
		}
		got, err := c.APIKeys.Get(ctx, k.ID)
		if err != nil || got.ID != k.ID || got.Key != "" || got.Name != "ci" {
			t.Fatalf("Get = %+v, %v", got, err)
		}
		if v, err := c.APIKeys.Validate(ctx, k.ID, k.Key); err != nil || !v.Valid {
			t.Fatalf("Validate = %+v, %v", v, err)
		}
		grace := 0
		rot, err := c.APIKeys.Rotate(ctx, k.ID, &credvault.RotateRequest{GracePeriodSeconds: &grace})
		if err != nil || rot.ID != k.ID || rot.Key == "" || rot.Key == k.Key {
			t.Fatalf("Rotate = %+v, %v", rot, err)
		}
		if v, err := c.APIKeys.Validate(ctx, k.ID, k.Key); err != nil || v.Valid {
			t.Fatalf("old secret after a rotation without grace: %+v, %v", v, err)
		}
		rev, err := c.APIKeys.Revoke(ctx, k.ID)
		if err != nil || rev.Status != "revoked" || rev.RevokedAt == nil {
			t.Fatalf("Revoke = %+v, %v", rev, err)
		}
		revoked, err := credvault.NewClient(e.Server.URL, credvault.WithAPIKey(rot.Key))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := revoked.Auth.Me(ctx); !credvault.HasCode(err, credvault.CodeUnauthorized) {
			t.Fatalf("revoked key: %v", err)
		}

		// An error is an *Error with its code, status and request id.
		_, err = c.APIKeys.Get(ctx, "00000000-0000-4000-8000-000000000000")
		var apiErr *credvault.Error
		if !errors.As(err, &apiErr) || apiErr.Code != credvault.CodeNotFound || apiErr.Status != http.StatusNotFound ||
			apiErr.RequestID == "" || apiErr.Message == "" || !credvault.IsNotFound(err) {
			t.Fatalf("missing key: %#v", err)
		}
		_, err = c.APIKeys.Create(ctx, &credvault.CreateAPIKeyRequest{Name: ""})
		if !errors.As(err, &apiErr) || apiErr.Status != http.StatusUnprocessableEntity || apiErr.Details == nil {
			t.Fatalf("invalid key: %#v", err)
		}

		// Credentials: store, then read back decrypted and as metadata.
		cred, err := c.Credentials.Store(ctx, &credvault.StoreCredentialRequest{IntegrationID: "stripe", AuthType: "api_key",
			Data: map[string]any{"api_key": "sk_test_123"}, Metadata: map[string]any{"env": "test"}})
		if err != nil || cred.ID == "" || cred.Data != nil {
			t.Fatalf("Store = %+v, %v", cred, err)
		}
		integ, err := c.Credentials.Get(ctx, "stripe")
		if err != nil || len(integ.Credentials) != 1 || integ.Credentials[0].Data["api_key"] != "sk_test_123" {
			t.Fatalf("Get credential = %+v, %v", integ, err)
		}
		details, err := c.Credentials.Details(ctx, "stripe")
		if err != nil || len(details.Credentials) != 1 || details.Credentials[0].Data != nil {
			t.Fatalf("Details = %+v, %v", details, err)
		}
		creds, err := credvault.Collect(c.Credentials.List(ctx, &credvault.CredentialListOptions{IntegrationID: "stripe"}))
		if err != nil || len(creds) != 1 {
			t.Fatalf("List credentials = %d, %v", len(creds), err)
		}
		if _, err := c.Credentials.Get(ctx, "nope"); !credvault.IsNotFound(err) {
			t.Fatalf("missing integration: %v", err)
		}

		// A few more services, typed end to end.
		oc, err := c.OAuthClients.Create(ctx, &credvault.CreateOAuthClientRequest{Name: "svc", GrantTypes: []string{"client_credentials"},
			Scopes: []string{"credentials:read"}})
		if err != nil || oc.ClientSecret == "" {
			t.Fatalf("OAuthClients.Create = %+v, %v", oc, err)
		}
		if got, err := c.OAuthClients.Get(ctx, oc.ClientID); err != nil || got.ClientID != oc.ClientID {
			t.Fatalf("OAuthClients.Get = %+v, %v", got, err)
		}
		if d, err := c.OAuthClients.Delete(ctx, oc.ClientID); err != nil || !d.Deleted {
			t.Fatalf("OAuthClients.Delete = %+v, %v", d, err)
		}
		types, err := c.Webhooks.EventTypes(ctx)
		if err != nil || len(types) == 0 {
			t.Fatalf("EventTypes = %v, %v", types, err)
		}
		wh, err := c.Webhooks.Create(ctx, &credvault.CreateWebhookRequest{URL: "http://127.0.0.1:1/hook", Events: []string{"*"}})
		if err != nil || !strings.HasPrefix(wh.Secret, "whsec_") {
			t.Fatalf("Webhooks.Create = %+v, %v", wh, err)
		}
		if tn, err := c.Tenants.Get(ctx, me.Tenant.ID); err != nil || tn.ID != me.Tenant.ID {
			t.Fatalf("Tenants.Get = %+v, %v", tn, err)
		}
		if h, err := c.Admin.Health(ctx); err != nil || h.Status == "" {
			t.Fatalf("Health = %+v, %v", h, err)
		}
		users, err := credvault.Collect(c.Users.List(ctx, nil))
		if err != nil || len(users) != 1 {
			t.Fatalf("Users.List = %d, %v", len(users), err)
		}
		e.Flush()
		logs, err := c.Audit.ListPage(ctx, &credvault.AuditListOptions{Action: "api_key.revoke"})
		if err != nil || len(logs.Items) == 0 {
			t.Fatalf("Audit.ListPage = %+v, %v", logs, err)
		}
		exported, err := credvault.Collect(c.Audit.Export(ctx, &credvault.AuditListOptions{Action: "api_key.revoke"}))
		if err != nil || len(exported) != len(logs.Items) || exported[0].Action != "api_key.revoke" {
			t.Fatalf("Audit.Export = %d entries, %v; the list has %d", len(exported), err, len(logs.Items))
		}
	})
}

// TestGoSDKRetries: against a server whose plan allows 5 requests a
// second, the SDK retries 429 after Retry-After and every call succeeds;
// with retries off, the 429 is an *Error carrying it.
func TestGoSDKRetries(t *testing.T) {
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		ctx := context.Background()
		c, _ := sdkTenant(t, e.Server.URL)
		key := mustMeKey(t, c)
		patient, _ := credvault.NewClient(e.Server.URL, credvault.WithAPIKey(key), credvault.WithRetries(5))
		for i := range 12 {
			if _, err := patient.Auth.Me(ctx); err != nil {
				t.Fatalf("call %d with retries: %v", i, err)
			}
		}
		hasty, _ := credvault.NewClient(e.Server.URL, credvault.WithAPIKey(key), credvault.WithRetries(0))
		var apiErr *credvault.Error
		for range 12 {
			if _, err := hasty.Auth.Me(ctx); errors.As(err, &apiErr) {
				break
			}
		}
		if apiErr == nil || apiErr.Status != http.StatusTooManyRequests || apiErr.Code != credvault.CodeRateLimited || apiErr.RetryAfter <= 0 {
			t.Fatalf("without retries: %#v, want 429 RATE_LIMIT_EXCEEDED with Retry-After", apiErr)
		}
	}, func(c *config.Config) { c.RateLimits = "free=5/s,pro=5/s,enterprise=5/s" })
}

// TestGoSDKPaging creates 250 keys and iterates them all, page after page.
func TestGoSDKPaging(t *testing.T) {
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		ctx := context.Background()
		c, _ := sdkTenant(t, e.Server.URL)
		created := map[string]bool{}
		var mu sync.Mutex
		var wg sync.WaitGroup
		errs := make(chan error, 250)
		for w := range 5 {
			wg.Go(func() {
				for i := range 50 {
					k, err := c.APIKeys.Create(ctx, &credvault.CreateAPIKeyRequest{Name: fmt.Sprintf("page-%d-%d", w, i), Scopes: []string{"credentials:read"}})
					if err != nil {
						errs <- err
						return
					}
					mu.Lock()
					created[k.ID] = true
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		seen := map[string]bool{}
		for k, err := range c.APIKeys.List(ctx, &credvault.APIKeyListOptions{ListOptions: credvault.ListOptions{Limit: 40}}) {
			if err != nil {
				t.Fatal(err)
			}
			if seen[k.ID] {
				t.Fatalf("key %s twice", k.ID)
			}
			seen[k.ID] = true
		}
		for id := range created {
			if !seen[id] {
				t.Fatalf("key %s not iterated", id)
			}
		}
		if len(seen) != 251 { // and the SDK's own key
			t.Fatalf("iterated %d keys, want 251", len(seen))
		}
		p, err := c.APIKeys.ListPage(ctx, &credvault.APIKeyListOptions{ListOptions: credvault.ListOptions{Limit: 100}})
		if err != nil || len(p.Items) != 100 || !p.Pagination.HasNext || p.Pagination.NextCursor == nil || p.Pagination.Total != 251 {
			t.Fatalf("ListPage = %d items, %+v, %v", len(p.Items), p.Pagination, err)
		}
		// Stopping early stops fetching.
		n := 0
		for range c.APIKeys.List(ctx, nil) {
			if n++; n == 3 {
				break
			}
		}
	})
}

// TestGoSDKOperations: every operation of the live OpenAPI document has an
// SDK method, or is omitted with a reason; and every mapped operation exists.
func TestGoSDKOperations(t *testing.T) {
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) { checkOperations(t, e) })
}

func checkOperations(t *testing.T, e *apitest.Env) {
	resp := e.Get("/api/v1/openapi.json", "")
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(resp.Body, &doc); err != nil {
		t.Fatal(err)
	}
	live := map[string]string{}
	for path, ops := range doc.Paths {
		for method, raw := range ops {
			var op struct {
				OperationID string `json:"operationId"`
			}
			if json.Unmarshal(raw, &op) != nil || op.OperationID == "" {
				continue
			}
			live[op.OperationID] = strings.ToUpper(method) + " " + path
		}
	}
	if len(live) < 50 {
		t.Fatalf("only %d operations in the document", len(live))
	}
	for id, where := range live {
		_, mapped := credvault.Operations[id]
		_, omitted := credvault.Omitted[id]
		if !mapped && !omitted {
			t.Errorf("operation %s (%s) has no Go SDK method: add one to sdk/go and to credvault.Operations, "+
				"or list it in credvault.Omitted with the reason", id, where)
		}
	}
	for id := range credvault.Operations {
		if _, ok := live[id]; !ok {
			t.Errorf("credvault.Operations maps %s, which the document no longer has", id)
		}
	}
	for id := range credvault.Omitted {
		if _, ok := live[id]; !ok {
			t.Errorf("credvault.Omitted lists %s, which the document no longer has", id)
		}
	}
}

// verifierTenant is a tenant with a verifier over its key stream.
func verifierTenant(t *testing.T, baseURL string, opts ...credvault.VerifierOption) (*credvault.Client, *credvault.Verifier) {
	t.Helper()
	c, _ := sdkTenant(t, baseURL)
	v, err := credvault.NewVerifier(c, opts...)
	if err != nil {
		t.Fatalf("NewVerifier: %v", err)
	}
	t.Cleanup(func() { v.Close() })
	return c, v
}

// verified waits until the verifier's answer for key is want (nil: accepted).
func verified(t *testing.T, v *credvault.Verifier, key string, want error, within time.Duration) time.Duration {
	t.Helper()
	return apitest.Eventually(t, within, "verifier answer", func() (bool, string) {
		_, err := v.Verify(key)
		if want == nil {
			return err == nil, fmt.Sprint(err)
		}
		return errors.Is(err, want), fmt.Sprint(err)
	})
}

// TestGoSDKVerifier: keys created, rotated and revoked through REST reach a
// local verifier; a revocation within 1 s.
func TestGoSDKVerifier(t *testing.T) {
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		ctx := context.Background()
		c, v := verifierTenant(t, e.Server.URL)
		k, err := c.APIKeys.Create(ctx, &credvault.CreateAPIKeyRequest{Name: "local", Scopes: []string{"credentials:read"},
			IPAllowlist: []string{"10.0.0.0/8"}})
		if err != nil {
			t.Fatal(err)
		}
		verified(t, v, k.Key, nil, time.Second)
		vk, _ := v.Verify(k.Key)
		if vk.ID != k.ID || !vk.HasScope("credentials:read") || vk.HasScope("api_keys:write") {
			t.Fatalf("verified %+v", vk)
		}
		if _, err := v.Verify(k.Key + "x"); !errors.Is(err, credvault.ErrInvalidKey) {
			t.Fatalf("wrong secret: %v", err)
		}

		// Rotation with a grace period: both secrets work.
		grace := 60
		rot, err := c.APIKeys.Rotate(ctx, k.ID, &credvault.RotateRequest{GracePeriodSeconds: &grace})
		if err != nil {
			t.Fatal(err)
		}
		verified(t, v, rot.Key, nil, time.Second)
		if _, err := v.Verify(k.Key); err != nil {
			t.Fatalf("old secret within the grace period: %v", err)
		}

		// Revocation through REST: refused within 1 s of the request.
		start := time.Now()
		if _, err := c.APIKeys.Revoke(ctx, k.ID); err != nil {
			t.Fatal(err)
		}
		verified(t, v, rot.Key, credvault.ErrInvalidKey, time.Second-time.Since(start))
		took := time.Since(start)
		if _, err := v.Verify(k.Key); !errors.Is(err, credvault.ErrInvalidKey) {
			t.Fatalf("old secret after the revocation: %v", err)
		}
		t.Logf("revocation reached the verifier %v after the REST request was sent", took)

		// The middleware.
		srv := httptest.NewServer(v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			vk, _ := credvault.VerifiedKeyFrom(r.Context())
			fmt.Fprint(w, vk.ID)
		})))
		defer srv.Close()
		k2, err := c.APIKeys.Create(ctx, &credvault.CreateAPIKeyRequest{Name: "mw", Scopes: []string{"credentials:read"}})
		if err != nil {
			t.Fatal(err)
		}
		verified(t, v, k2.Key, nil, time.Second)
		for key, want := range map[string]int{k2.Key: 200, rot.Key: 401, "": 401} {
			req, _ := http.NewRequest("GET", srv.URL, nil)
			if key != "" {
				req.Header.Set("Authorization", "Bearer "+key)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != want {
				t.Errorf("middleware with %q: %d, want %d", mask(key), resp.StatusCode, want)
			}
		}

		// A principal without api_keys:read is refused the stream.
		weak, err := c.APIKeys.Create(ctx, &credvault.CreateAPIKeyRequest{Name: "weak", Scopes: []string{"credentials:read"}})
		if err != nil {
			t.Fatal(err)
		}
		wc, _ := credvault.NewClient(e.Server.URL, credvault.WithAPIKey(weak.Key))
		if _, err := credvault.NewVerifier(wc, credvault.WithStartTimeout(time.Second)); !credvault.HasCode(err, credvault.CodeForbidden) {
			t.Fatalf("stream without api_keys:read: %v", err)
		}
	})
}

// cuttableProxy forwards to target until cut: then it drops its
// connections and refuses new streams with 502, as a lost network would.
type cuttableProxy struct {
	*httptest.Server
	cut atomic.Bool
}

func newCuttableProxy(t *testing.T, target string) *cuttableProxy {
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	rp.FlushInterval = -1
	p := &cuttableProxy{}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p.cut.Load() {
			http.Error(w, "cut", http.StatusBadGateway)
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(p.Close)
	return p
}

func (p *cuttableProxy) setCut(cut bool) {
	p.cut.Store(cut)
	if cut {
		p.CloseClientConnections()
	}
}

// TestGoSDKVerifierStreamLoss: a verifier whose stream is lost keeps
// answering within its staleness bound, fails closed after it, and on
// reconnecting resumes after its last event, without a snapshot, and
// catches up with what changed meanwhile.
func TestGoSDKVerifierStreamLoss(t *testing.T) {
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		ctx := context.Background()
		proxy := newCuttableProxy(t, e.Server.URL)
		c, _ := sdkTenant(t, e.Server.URL)
		pc, _ := credvault.NewClient(proxy.URL, credvault.WithAPIKey(mustMeKey(t, c)))
		const bound = 700 * time.Millisecond
		v, err := credvault.NewVerifier(pc, credvault.WithStaleness(bound), credvault.WithReconnectBackoff(50*time.Millisecond, 100*time.Millisecond))
		if err != nil {
			t.Fatal(err)
		}
		defer v.Close()
		keep, err := c.APIKeys.Create(ctx, &credvault.CreateAPIKeyRequest{Name: "keep", Scopes: []string{"credentials:read"}})
		if err != nil {
			t.Fatal(err)
		}
		gone, err := c.APIKeys.Create(ctx, &credvault.CreateAPIKeyRequest{Name: "gone", Scopes: []string{"credentials:read"}})
		if err != nil {
			t.Fatal(err)
		}
		verified(t, v, keep.Key, nil, time.Second)
		verified(t, v, gone.Key, nil, time.Second)
		if s := v.Stats(); s.Snapshots != 1 {
			t.Fatalf("stats before the loss: %+v", s)
		}

		// Lose the stream: still answering within the bound, refusing after.
		lost := time.Now()
		proxy.setCut(true)
		if _, err := v.Verify(keep.Key); err != nil && time.Since(lost) < bound/2 {
			t.Fatalf("just after the loss: %v", err)
		}
		took := verified(t, v, keep.Key, credvault.ErrStale, 3*bound)
		if since := time.Since(lost); since < bound {
			t.Fatalf("stale after %v, before the bound %v", since, bound)
		}
		t.Logf("failed closed %v after the loss (bound %v)", took, bound)

		// Meanwhile a key is revoked; the stream comes back.
		if _, err := c.APIKeys.Revoke(ctx, gone.ID); err != nil {
			t.Fatal(err)
		}
		proxy.setCut(false)
		verified(t, v, keep.Key, nil, 3*time.Second)
		verified(t, v, gone.Key, credvault.ErrInvalidKey, time.Second)
		s := v.Stats()
		if s.Snapshots != 1 || s.Reconnects == 0 || s.Removes == 0 {
			t.Fatalf("after resuming: %+v, want no second snapshot, a reconnect and the missed removal", s)
		}

		// A Last-Event-ID this server never issued gets a fresh snapshot.
		if first := firstEvent(t, e, mustMeKey(t, c), "ffffff-1"); first != "snapshot" {
			t.Fatalf("unknown Last-Event-ID: first event %q", first)
		}
		if first := firstEvent(t, e, mustMeKey(t, c), s.LastEventID); first == "snapshot" {
			t.Fatalf("resume from %s: a snapshot", s.LastEventID)
		}
	})
}

// keysOf remembers each client's API key, for tests that need it raw.
var keysOf sync.Map

func mustMeKey(t *testing.T, c *credvault.Client) string {
	t.Helper()
	if k, ok := keysOf.Load(c); ok {
		return k.(string)
	}
	k, err := c.APIKeys.Create(context.Background(), &credvault.CreateAPIKeyRequest{Name: "stream"})
	if err != nil {
		t.Fatal(err)
	}
	keysOf.Store(c, k.Key)
	return k.Key
}

// firstEvent opens the key stream with lastID and returns the type of its
// first event, or "" when none comes within a second.
func firstEvent(t *testing.T, e *apitest.Env, key, lastID string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", e.Server.URL+"/api/v1/api-keys/stream", nil)
	req.Header.Set("X-API-Key", key)
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Last-Event-ID", lastID)
	resp, err := e.Server.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
		t.Fatalf("stream: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if ev, ok := strings.CutPrefix(sc.Text(), "event: "); ok {
			return ev
		}
	}
	return ""
}
