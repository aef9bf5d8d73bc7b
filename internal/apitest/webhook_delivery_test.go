package apitest_test

// Webhook deliveries over real HTTP, on SQLite and PostgreSQL, each to an
// endpoint the test runs itself (httptest): every event type of SPEC §11
// arrives signed as the Standard Webhooks specification says (checked with
// its official Go library, an implementation independent of the server's)
// and with seed 003's X-Signature; events exist only for committed changes
// and stay in their tenant; retries keep the webhook-id; 410 disables the
// endpoint; redirects are not followed; a slow endpoint times out; an
// endpoint down for the whole schedule ends failed; both secrets sign
// during a rotation's grace period; a failed delivery is retried on request.
//
// A body may hold what a test must not show (the endpoint's secret is
// never in it, but a failure is no place to find out): failure messages
// name fields and ids, never a body or a header's value, and responses go
// through the kit's redact.

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"
	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/ent/webhookevent"
	"github.com/credvault/credvault/internal/apitest"
	"github.com/credvault/credvault/internal/platform/config"
	"github.com/credvault/credvault/internal/platform/store/storetest"
	"github.com/credvault/credvault/internal/webhooks"
)

// ---------------------------------------------------------------------------
// The receiving end

// hookCall is one request an endpoint received.
type hookCall struct {
	At     time.Time
	Method string
	Header http.Header
	Body   []byte
}

// hookReceiver is a webhook endpoint run by the test: it keeps every
// request and answers the n-th (from 0) with answer, or 200 when answer is
// nil.
type hookReceiver struct {
	URL    string
	mu     sync.Mutex
	calls  []hookCall
	answer func(n int, w http.ResponseWriter, r *http.Request)
}

// startReceiver starts an endpoint, closed when the test ends.
func startReceiver(t *testing.T, answer func(n int, w http.ResponseWriter, r *http.Request)) *hookReceiver {
	t.Helper()
	h := &hookReceiver{answer: answer}
	srv := httptest.NewServer(http.HandlerFunc(h.serve))
	t.Cleanup(srv.Close)
	h.URL = srv.URL
	return h
}

func (h *hookReceiver) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	n := len(h.calls)
	h.calls = append(h.calls, hookCall{At: time.Now(), Method: r.Method, Header: r.Header.Clone(), Body: body})
	answer := h.answer
	h.mu.Unlock()
	if answer == nil {
		w.WriteHeader(http.StatusOK)
		return
	}
	answer(n, w, r)
}

// setAnswer changes how the endpoint answers from now on.
func (h *hookReceiver) setAnswer(answer func(n int, w http.ResponseWriter, r *http.Request)) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.answer = answer
}

// got is every request received so far.
func (h *hookReceiver) got() []hookCall {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.calls)
}

// await waits for at least n requests and returns every one received.
func (h *hookReceiver) await(t *testing.T, n int) []hookCall {
	t.Helper()
	eventually(t, 15*time.Second, fmt.Sprintf("%d webhook requests", n), func() (bool, string) {
		got := len(h.got())
		return got >= n, fmt.Sprintf("%d received", got)
	})
	return h.got()
}

// answerWith answers the n-th request with statuses[n], and every one
// after the last with the last.
func answerWith(statuses ...int) func(int, http.ResponseWriter, *http.Request) {
	return func(n int, w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(statuses[min(n, len(statuses)-1)])
	}
}

// ---------------------------------------------------------------------------
// Endpoints and their delivery log

// hookEndpoint is a webhook endpoint as REST shows it. Never format one
// into a message: Secret holds the signing secret when it is shown.
type hookEndpoint struct {
	ID             uuid.UUID `json:"id"`
	TenantID       uuid.UUID `json:"tenant_id"`
	URL            string    `json:"url"`
	Events         []string  `json:"events"`
	Enabled        bool      `json:"enabled"`
	DisabledReason *string   `json:"disabled_reason"`
	Secret         string    `json:"secret"`
}

// newHookEndpoint creates an endpoint at url as cred, subscribed to events,
// and checks it is enabled with a secret.
func newHookEndpoint(t *testing.T, e *apitest.Env, cred, url string, events ...string) hookEndpoint {
	t.Helper()
	var h hookEndpoint
	wantOK(t, do(e, http.MethodPost, "/api/v1/webhooks", cred, map[string]any{"url": url, "events": events}), http.StatusCreated, &h)
	if h.ID == uuid.Nil || !h.Enabled || !strings.HasPrefix(h.Secret, webhooks.SecretPrefix) {
		t.Fatalf("created endpoint: id %s enabled %v, secret with prefix whsec_: %v", h.ID, h.Enabled, strings.HasPrefix(h.Secret, webhooks.SecretPrefix))
	}
	return h
}

// hookPath is the REST path of an endpoint, then of what follows it.
func hookPath(id uuid.UUID, rest ...string) string {
	return "/api/v1/webhooks/" + id.String() + strings.Join(append([]string{""}, rest...), "/")
}

// hookAttempt is one entry of a delivery's attempts log.
type hookAttempt struct {
	Attempt        int       `json:"attempt"`
	At             time.Time `json:"at"`
	ResponseStatus *int      `json:"response_status"`
	DurationMS     int       `json:"duration_ms"`
	Error          string    `json:"error"`
}

// hookDelivery is a delivery as GET /webhooks/{id}/deliveries shows it.
type hookDelivery struct {
	ID             uuid.UUID     `json:"id"`
	WebhookID      uuid.UUID     `json:"webhook_id"`
	EventID        uuid.UUID     `json:"event_id"`
	EventType      string        `json:"event_type"`
	Attempt        int           `json:"attempt"`
	Status         string        `json:"status"`
	ResponseStatus *int          `json:"response_status"`
	DurationMS     *int          `json:"duration_ms"`
	Error          *string       `json:"error"`
	NextAttemptAt  *time.Time    `json:"next_attempt_at"`
	Attempts       []hookAttempt `json:"attempts"`
	CreatedAt      time.Time     `json:"created_at"`
}

func (d hookDelivery) String() string {
	status, errText := "null", "null"
	if d.ResponseStatus != nil {
		status = strconv.Itoa(*d.ResponseStatus)
	}
	if d.Error != nil {
		errText = strconv.Quote(*d.Error)
	}
	return fmt.Sprintf("{%s %s %s attempt %d response_status %s error %s next_attempt_at %v attempts %d}",
		d.ID, d.EventType, d.Status, d.Attempt, status, errText, d.NextAttemptAt, len(d.Attempts))
}

// hookDeliveries is the endpoint's delivery log as cred reads it.
func hookDeliveries(t *testing.T, e *apitest.Env, cred string, hook uuid.UUID) []hookDelivery {
	t.Helper()
	var out []hookDelivery
	listPage(t, e, cred, hookPath(hook, "deliveries")+"?limit=200", &out)
	return out
}

// awaitHookDelivery polls the endpoint's log until its delivery id is as
// ok wants, or has ended (succeeded or failed), and returns it: the caller
// checks what it came to.
func awaitHookDelivery(t *testing.T, e *apitest.Env, cred string, hook, id uuid.UUID, what string, ok func(hookDelivery) bool) hookDelivery {
	t.Helper()
	var found hookDelivery
	eventually(t, 15*time.Second, "delivery "+what, func() (bool, string) {
		for _, d := range hookDeliveries(t, e, cred, hook) {
			if d.ID == id {
				found = d
				return ok(d) || d.Status == "succeeded" || d.Status == "failed", d.String()
			}
		}
		return false, "not in the log"
	})
	return found
}

// awaitAllSucceeded polls the endpoint's log until it holds at least n
// deliveries, every one succeeded, and returns it.
func awaitAllSucceeded(t *testing.T, e *apitest.Env, cred string, hook uuid.UUID, n int) []hookDelivery {
	t.Helper()
	var log []hookDelivery
	eventually(t, 20*time.Second, fmt.Sprintf("%d deliveries succeeded", n), func() (bool, string) {
		log = hookDeliveries(t, e, cred, hook)
		var pending []string
		for _, d := range log {
			if d.Status != "succeeded" {
				pending = append(pending, d.String())
			}
		}
		return len(log) >= n && len(pending) == 0, fmt.Sprintf("%d deliveries, not succeeded: %v", len(log), pending)
	})
	return log
}

// sentTest is the data of POST /webhooks/{id}/test.
type sentTest struct {
	EventID    uuid.UUID `json:"event_id"`
	DeliveryID uuid.UUID `json:"delivery_id"`
}

// sendTest queues a webhook.test event for the endpoint.
func sendTest(t *testing.T, e *apitest.Env, cred string, hook uuid.UUID) sentTest {
	t.Helper()
	var s sentTest
	wantOK(t, do(e, http.MethodPost, hookPath(hook, "test"), cred, nil), http.StatusAccepted, &s)
	if s.EventID == uuid.Nil || s.DeliveryID == uuid.Nil {
		t.Fatalf("test event: event_id %s delivery_id %s", s.EventID, s.DeliveryID)
	}
	return s
}

// withSchedule sets the attempt timeout and the retry schedule.
func withSchedule(timeout time.Duration, schedule ...time.Duration) func(*config.Config) {
	return func(c *config.Config) {
		c.WebhookTimeout = timeout
		c.WebhookRetrySchedule = schedule
	}
}

// ---------------------------------------------------------------------------
// What an endpoint receives

// hookEvent is the body of a delivery.
type hookEvent struct {
	Type      string          `json:"type"`
	Event     string          `json:"event"`
	Timestamp string          `json:"timestamp"`
	TenantID  uuid.UUID       `json:"tenant_id"`
	Data      json.RawMessage `json:"data"`
}

// seed003Signature is the X-Signature SPEC §11 asks for, computed here: the
// lowercase hex HMAC-SHA256 of the body keyed with the secret as shown.
func seed003Signature(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return hex.EncodeToString(mac.Sum(nil))
}

// verifyHookCall checks one request as SPEC §11 says an endpoint receives
// it: a POST of JSON; webhook-id, webhook-timestamp (Unix seconds, the
// attempt's time) and webhook-signature with one signature per secret
// (the current one first, then the one in its grace period), each
// verifying with its own secret alone by the Standard Webhooks library;
// X-Signature by the current secret; a body of exactly type, event (the
// same), timestamp (RFC 3339), tenant_id and data. It returns the body.
func verifyHookCall(t *testing.T, c hookCall, secrets ...string) hookEvent {
	t.Helper()
	if c.Method != http.MethodPost {
		t.Fatalf("webhook request method %s, want POST", c.Method)
	}
	if ct := c.Header.Get("Content-Type"); ct != "application/json" {
		t.Fatalf("webhook Content-Type %q, want application/json", ct)
	}
	id := c.Header.Get("webhook-id")
	if _, err := uuid.Parse(id); err != nil {
		t.Fatalf("webhook-id %q is not an event id", id)
	}
	ts, err := strconv.ParseInt(c.Header.Get("webhook-timestamp"), 10, 64)
	if err != nil {
		t.Fatalf("webhook-timestamp %q is not Unix seconds", c.Header.Get("webhook-timestamp"))
	}
	if d := c.At.Unix() - ts; d < -2 || d > 2 {
		t.Fatalf("webhook-timestamp %d is %d s from the attempt's time %d", ts, d, c.At.Unix())
	}
	for i, s := range secrets {
		wh, err := standardwebhooks.NewWebhook(s)
		if err != nil {
			t.Fatalf("secret %d does not decode: %v", i, err)
		}
		if err := wh.Verify(c.Body, c.Header); err != nil {
			t.Fatalf("event %s: the Standard Webhooks library does not verify it with secret %d: %v", id, i, err)
		}
	}
	sigs := strings.Split(c.Header.Get("webhook-signature"), " ")
	if len(sigs) != len(secrets) {
		t.Fatalf("event %s: %d signatures, want %d", id, len(sigs), len(secrets))
	}
	for i, sig := range sigs {
		if !strings.HasPrefix(sig, "v1,") {
			t.Fatalf("event %s: signature %d is not v1,<base64>", id, i)
		}
		for j, s := range secrets {
			wh, _ := standardwebhooks.NewWebhook(s)
			alone := c.Header.Clone()
			alone.Set("webhook-signature", sig)
			if err := wh.Verify(c.Body, alone); (err == nil) != (i == j) {
				t.Fatalf("event %s: signature %d verifying with secret %d: %v, want %v", id, i, j, err == nil, i == j)
			}
		}
	}
	if got := c.Header.Get("X-Signature"); got != seed003Signature(secrets[0], c.Body) {
		t.Fatalf("event %s: X-Signature is not the hex HMAC-SHA256 of the body keyed with the current secret (%d chars)", id, len(got))
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(c.Body, &fields); err != nil {
		t.Fatalf("event %s: the body is not a JSON object: %v", id, err)
	}
	if keys := slices.Sorted(maps.Keys(fields)); !slices.Equal(keys, []string{"data", "event", "tenant_id", "timestamp", "type"}) {
		t.Fatalf("event %s: body fields %v, want type, event, timestamp, tenant_id, data", id, keys)
	}
	var ev hookEvent
	if err := json.Unmarshal(c.Body, &ev); err != nil {
		t.Fatalf("event %s: body: %v", id, err)
	}
	if ev.Type == "" || ev.Event != ev.Type {
		t.Fatalf("event %s: type %q, event %q: want the same type twice", id, ev.Type, ev.Event)
	}
	if _, err := time.Parse(time.RFC3339, ev.Timestamp); err != nil {
		t.Fatalf("event %s: timestamp %q is not RFC 3339", id, ev.Timestamp)
	}
	if len(ev.Data) == 0 || ev.Data[0] != '{' {
		t.Fatalf("event %s (%s): data is not an object", id, ev.Type)
	}
	return ev
}

// secretKeys are the fields that would carry a secret: an API key, a
// client secret, an endpoint secret, a password, a credential's data.
var secretKeys = []string{"key", "client_secret", "secret", "password", "password_hash", "data", "key_hash", "secret_hash"}

// noSecretFields fails when an event's data holds a field that carries a
// secret, at any depth.
func noSecretFields(t *testing.T, typ string, data json.RawMessage) {
	t.Helper()
	var v any
	if err := json.Unmarshal(data, &v); err != nil {
		t.Fatalf("%s data: %v", typ, err)
	}
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, val := range x {
				if slices.Contains(secretKeys, k) {
					t.Fatalf("%s data holds %s%s", typ, path, k)
				}
				walk(path+k+".", val)
			}
		case []any:
			for _, val := range x {
				walk(path, val)
			}
		}
	}
	walk("", v)
}

// restShape is a REST answer's data as a generic object, without the
// fields named in drop (the secret shown once).
func restShape(t *testing.T, r *apitest.Response, drop ...string) map[string]any {
	t.Helper()
	var m map[string]any
	dataOf(t, r, &m)
	for _, k := range drop {
		if _, ok := m[k]; !ok {
			t.Fatalf("the answer has no %s to drop", k)
		}
		delete(m, k)
	}
	return m
}

// sameData fails unless an event's data is want, field by field; a
// mismatch names the fields that differ (data holds no secret: it was
// checked first).
func sameData(t *testing.T, typ string, data json.RawMessage, want map[string]any) {
	t.Helper()
	var got map[string]any
	if err := json.Unmarshal(data, &got); err != nil {
		t.Fatalf("%s data: %v", typ, err)
	}
	if reflect.DeepEqual(got, want) {
		return
	}
	keys := map[string]bool{}
	for k := range got {
		keys[k] = true
	}
	for k := range want {
		keys[k] = true
	}
	var diff []string
	for _, k := range slices.Sorted(maps.Keys(keys)) {
		if !reflect.DeepEqual(got[k], want[k]) {
			diff = append(diff, fmt.Sprintf("%s: got %v, REST shows %v", k, got[k], want[k]))
		}
	}
	t.Fatalf("%s data is not the resource as REST shows it: %s", typ, strings.Join(diff, "; "))
}

// ---------------------------------------------------------------------------
// Tests

// TestWebhookSignaturesVerifyForEveryEventType triggers every event type of
// the catalogue through the API and shows each arrives once, verified by
// the Standard Webhooks library and by seed 003's X-Signature, its webhook-id
// the event id of the delivery log, its data the resource as REST showed it
// and no secret.
func TestWebhookSignaturesVerifyForEveryEventType(t *testing.T) {
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		start := time.Now()
		recv := startReceiver(t, nil)
		tn := register(t, e, "Signed")
		hook := newHookEndpoint(t, e, tn.AccessToken, recv.URL+"/hooks", "*")
		own := tn.AccessToken
		// secrets are every secret the test handles: none may be in a body.
		secrets := []string{hook.Secret, tn.AccessToken, testPassword}
		want := map[string]map[string]any{}

		// API keys.
		r := do(e, http.MethodPost, "/api/v1/api-keys", own, map[string]any{"name": "signed " + randTag(), "scopes": []string{"api_keys:read"}})
		var k apiKeyJSON
		wantOK(t, r, http.StatusCreated, &k)
		secrets = append(secrets, k.Key)
		want[webhooks.APIKeyCreated] = restShape(t, r, "key")
		r = do(e, http.MethodPost, "/api/v1/api-keys/"+k.ID.String()+"/rotate", own, map[string]any{})
		wantOK(t, r, http.StatusOK, &k)
		secrets = append(secrets, k.Key)
		want[webhooks.APIKeyRotated] = restShape(t, r, "key")
		r = do(e, http.MethodDelete, "/api/v1/api-keys/"+k.ID.String(), own, nil)
		wantOK(t, r, http.StatusOK, nil)
		want[webhooks.APIKeyRevoked] = restShape(t, r)

		// OAuth clients.
		r = do(e, http.MethodPost, "/api/v1/oauth-clients", own, map[string]any{"name": "signed " + randTag(), "scopes": []string{"api_keys:read"}})
		var c clientJSON
		wantOK(t, r, http.StatusCreated, &c)
		secrets = append(secrets, c.ClientSecret)
		want[webhooks.OAuthClientCreated] = restShape(t, r, "client_secret")
		r = do(e, http.MethodPatch, "/api/v1/oauth-clients/"+c.ClientID, own, map[string]any{"name": "renamed " + randTag()})
		wantOK(t, r, http.StatusOK, nil)
		want[webhooks.OAuthClientUpdated] = restShape(t, r)
		r = do(e, http.MethodPost, "/api/v1/oauth-clients/"+c.ClientID+"/rotate-secret", own, map[string]any{})
		wantOK(t, r, http.StatusOK, &c)
		secrets = append(secrets, c.ClientSecret)
		want[webhooks.OAuthClientSecretRotated] = restShape(t, r, "client_secret")
		r = do(e, http.MethodGet, "/api/v1/oauth-clients/"+c.ClientID, own, nil)
		wantOK(t, r, http.StatusOK, nil)
		want[webhooks.OAuthClientDeleted] = restShape(t, r)
		wantOK(t, do(e, http.MethodDelete, "/api/v1/oauth-clients/"+c.ClientID, own, nil), http.StatusOK, nil)

		// Credentials: their data is the secret.
		plain := []string{vaultSecretPrefix + randTag(), vaultSecretPrefix + randTag()}
		secrets = append(secrets, plain...)
		integration := "hooks-" + randTag()
		r = do(e, http.MethodPost, "/api/v1/credentials", own, map[string]any{"integration_id": integration, "auth_type": "api_key",
			"data": map[string]any{"api_key": plain[0]}})
		var cred credJSON
		wantOK(t, r, http.StatusCreated, &cred)
		want[webhooks.CredentialCreated] = restShape(t, r)
		r = do(e, http.MethodPatch, credPath(integration, cred.ID.String()), own, map[string]any{"name": "renamed", "data": map[string]any{"api_key": plain[1]}})
		wantOK(t, r, http.StatusOK, nil)
		want[webhooks.CredentialUpdated] = restShape(t, r)
		want[webhooks.CredentialDeleted] = restShape(t, r)
		wantOK(t, do(e, http.MethodDelete, credPath(integration, cred.ID.String()), own, nil), http.StatusOK, nil)

		// Users.
		r = do(e, http.MethodPost, "/api/v1/admin/users", own, map[string]any{"email": "hooked-" + randTag() + "@signed.test", "role": "member",
			"name": "Hooked", "password": testPassword})
		var u userJSON
		wantOK(t, r, http.StatusCreated, &u)
		want[webhooks.UserCreated] = restShape(t, r)
		r = do(e, http.MethodPatch, "/api/v1/admin/users/"+u.ID, own, map[string]any{"name": "Hooked again"})
		wantOK(t, r, http.StatusOK, nil)
		want[webhooks.UserUpdated] = restShape(t, r)
		want[webhooks.UserDeleted] = restShape(t, r)
		wantOK(t, do(e, http.MethodDelete, "/api/v1/admin/users/"+u.ID, own, nil), http.StatusOK, nil)

		// A service account, without a key.
		r = do(e, http.MethodPost, "/api/v1/admin/service-account/create", own, map[string]any{"name": "robot " + randTag(),
			"scopes": []string{"api_keys:read"}, "create_api_key": false})
		var sa struct {
			ServiceAccount map[string]any `json:"service_account"`
		}
		wantOK(t, r, http.StatusCreated, &sa)
		want[webhooks.ServiceAccountCreated] = sa.ServiceAccount

		// The tenant.
		r = do(e, http.MethodPatch, "/api/v1/admin/tenants/"+tn.TenantID.String(), own, map[string]any{"name": "Signed again " + randTag()})
		wantOK(t, r, http.StatusOK, nil)
		want[webhooks.TenantUpdated] = restShape(t, r)

		// A DEK rotation, reported when its job is done.
		rot := rotateDEK(t, e, own, map[string]any{})
		waitJob(t, e, rot.JobID, 20*time.Second)
		want[webhooks.DEKRotationCompleted] = map[string]any{"tenant_id": tn.TenantID.String(), "dek_version": float64(rot.DEKVersion),
			"job_id": rot.JobID.String()}

		// A test event.
		sendTest(t, e, own, hook.ID)
		want[webhooks.WebhookTest] = map[string]any{"webhook_id": hook.ID.String(), "url": hook.URL, "message": "A test event from CredVault."}

		if len(want) != len(webhooks.Catalogue) {
			t.Fatalf("the test triggers %d event types, the catalogue has %d", len(want), len(webhooks.Catalogue))
		}
		log := awaitAllSucceeded(t, e, own, hook.ID, len(webhooks.Catalogue))
		byEvent := map[string]hookDelivery{}
		for _, d := range log {
			if d.Attempt != 1 || d.ResponseStatus == nil || *d.ResponseStatus != http.StatusOK || d.NextAttemptAt != nil || d.Error != nil {
				t.Errorf("delivery %v: want succeeded at the first attempt with 200", d)
			}
			byEvent[d.EventID.String()] = d
		}
		calls := recv.got()
		if len(calls) != len(log) {
			t.Fatalf("the endpoint got %d requests for %d deliveries", len(calls), len(log))
		}
		seen := map[string]int{}
		for _, call := range calls {
			ev := verifyHookCall(t, call, hook.Secret)
			for _, s := range secrets {
				if strings.Contains(string(call.Body), s) {
					t.Fatalf("the %s event holds a secret (%s)", ev.Type, short(s))
				}
			}
			noSecretFields(t, ev.Type, ev.Data)
			id := call.Header.Get("webhook-id")
			d, ok := byEvent[id]
			if !ok {
				t.Fatalf("webhook-id %s (%s) is no event of the delivery log", id, ev.Type)
			}
			if d.EventType != ev.Type {
				t.Errorf("event %s: body type %s, the delivery log says %s", id, ev.Type, d.EventType)
			}
			if ev.TenantID != tn.TenantID {
				t.Errorf("%s: tenant_id %s, want %s", ev.Type, ev.TenantID, tn.TenantID)
			}
			if at, _ := time.Parse(time.RFC3339, ev.Timestamp); at.Before(start.Add(-time.Second)) || at.After(time.Now()) {
				t.Errorf("%s: timestamp %s is outside the test", ev.Type, ev.Timestamp)
			}
			w, ok := want[ev.Type]
			if !ok {
				t.Fatalf("event of unexpected type %s", ev.Type)
			}
			sameData(t, ev.Type, ev.Data, w)
			seen[ev.Type]++
		}
		for _, et := range webhooks.Catalogue {
			if seen[et.Type] != 1 {
				t.Errorf("%s arrived %d times, want once", et.Type, seen[et.Type])
			}
		}
	})
}

// TestWebhookEventsOnlyForCommittedChanges shows that a mutation that fails
// (403 over the scope ceiling, 422, 404, or rolled back by the database
// after its event was recorded) leaves no event and sends nothing, while
// the successful mutation that follows sends exactly its own event.
func TestWebhookEventsOnlyForCommittedChanges(t *testing.T) {
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		recv := startReceiver(t, nil)
		tn := register(t, e, "Committed")
		member := tn.user(t, "member")
		hook := newHookEndpoint(t, e, tn.AccessToken, recv.URL, "*")

		wantError(t, do(e, http.MethodPost, "/api/v1/api-keys", member.AccessToken,
			map[string]any{"name": "too wide", "scopes": []string{"users:write"}}), http.StatusForbidden, "FORBIDDEN")
		wantError(t, do(e, http.MethodPost, "/api/v1/api-keys", tn.AccessToken,
			map[string]any{"name": "bad scope", "scopes": []string{"no:such"}}), http.StatusUnprocessableEntity, "VALIDATION_ERROR")
		wantError(t, do(e, http.MethodPost, "/api/v1/admin/users", tn.AccessToken,
			map[string]any{"email": "not-an-email", "role": "member"}), http.StatusUnprocessableEntity, "VALIDATION_ERROR")
		wantError(t, do(e, http.MethodDelete, "/api/v1/api-keys/"+uuid.NewString(), tn.AccessToken, nil), http.StatusNotFound, "NOT_FOUND")
		wantError(t, do(e, http.MethodPatch, "/api/v1/admin/users/"+uuid.NewString(), tn.AccessToken,
			map[string]any{"name": "nobody"}), http.StatusNotFound, "NOT_FOUND")

		// The database refuses the delivery row: the key, recorded with its
		// event in the same transaction, rolls back with them.
		refusal := storetest.RefuseInserts(t, e.Store, "webhook_deliveries")
		refusal.On()
		rolledBack := "rolled back " + randTag()
		r := do(e, http.MethodPost, "/api/v1/api-keys", tn.AccessToken, map[string]any{"name": rolledBack})
		refusal.Off()
		if r.Status < 500 || r.Envelope.Success {
			t.Fatalf("creating a key whose event cannot be recorded: %d, want a 5xx error: %s", r.Status, redact(r.Body))
		}
		var keys []apiKeyJSON
		listPage(t, e, tn.AccessToken, "/api/v1/api-keys?limit=200", &keys)
		for _, k := range keys {
			if k.Name == rolledBack {
				t.Fatalf("key %s exists though its transaction failed", k.ID)
			}
		}

		kept := tn.key(t, "api_keys:read")
		log := awaitAllSucceeded(t, e, tn.AccessToken, hook.ID, 1)
		events, err := e.Store.Client.WebhookEvent.Query().Where(webhookevent.TenantID(tn.TenantID)).All(unrestricted())
		if err != nil {
			t.Fatal(err)
		}
		if len(events) != 1 || events[0].Type != webhooks.APIKeyCreated {
			t.Fatalf("%d events recorded for the tenant, want only the kept key's api_key.created", len(events))
		}
		if len(log) != 1 || log[0].EventID != events[0].ID || log[0].EventType != webhooks.APIKeyCreated {
			t.Fatalf("delivery log %v, want only the kept key's event %s", log, events[0].ID)
		}
		calls := recv.got()
		if len(calls) != 1 {
			t.Fatalf("the endpoint got %d requests, want only the kept key's event", len(calls))
		}
		ev := verifyHookCall(t, calls[0], hook.Secret)
		var data struct{ ID uuid.UUID }
		if err := json.Unmarshal(ev.Data, &data); err != nil || ev.Type != webhooks.APIKeyCreated || data.ID != kept.ID {
			t.Fatalf("the endpoint got %s about %s, want api_key.created about %s", ev.Type, data.ID, kept.ID)
		}
	})
}

// TestWebhookEventsStayInTheirTenant shows that an endpoint subscribed to
// every type receives its own tenant's events only: tenant B's changes,
// its owner's and a platform admin's made in B, reach B's endpoint and
// neither A's nor the platform tenant's.
func TestWebhookEventsStayInTheirTenant(t *testing.T) {
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		recvA, recvB, recvP := startReceiver(t, nil), startReceiver(t, nil), startReceiver(t, nil)
		a, b := register(t, e, "Tenant A"), register(t, e, "Tenant B")
		admin := adminToken(t, e)
		hookA := newHookEndpoint(t, e, a.AccessToken, recvA.URL, "*")
		hookB := newHookEndpoint(t, e, b.AccessToken, recvB.URL, "*")
		hookP := newHookEndpoint(t, e, admin, recvP.URL, "*")

		keyB := b.key(t, "api_keys:read")
		userB := createUser(t, e, admin, "placed-"+randTag()+"@b.test", "member", "", map[string]string{"x-tenantid": b.TenantID.String()})
		testB := sendTest(t, e, b.AccessToken, hookB.ID)
		keyA := a.key(t, "api_keys:read")

		logB := awaitAllSucceeded(t, e, b.AccessToken, hookB.ID, 3)
		logA := awaitAllSucceeded(t, e, a.AccessToken, hookA.ID, 1)
		if len(logA) != 1 || len(logB) != 3 {
			t.Fatalf("A's log holds %d deliveries (want 1), B's %d (want 3)", len(logA), len(logB))
		}
		if logP := hookDeliveries(t, e, admin, hookP.ID); len(logP) != 0 {
			t.Fatalf("the platform tenant's endpoint has deliveries: %v", logP)
		}
		wantError(t, do(e, http.MethodGet, hookPath(hookB.ID, "deliveries"), a.AccessToken, nil), http.StatusNotFound, "NOT_FOUND")

		callsA, callsB := recvA.got(), recvB.got()
		if len(callsA) != 1 || len(callsB) != 3 || len(recvP.got()) != 0 {
			t.Fatalf("requests: A's endpoint %d (want 1), B's %d (want 3), the platform's %d (want 0)", len(callsA), len(callsB), len(recvP.got()))
		}
		ev := verifyHookCall(t, callsA[0], hookA.Secret)
		var data struct{ ID uuid.UUID }
		if err := json.Unmarshal(ev.Data, &data); err != nil || ev.Type != webhooks.APIKeyCreated || ev.TenantID != a.TenantID || data.ID != keyA.ID {
			t.Fatalf("A's endpoint got %s of tenant %s about %s, want A's api_key.created about %s", ev.Type, ev.TenantID, data.ID, keyA.ID)
		}
		wh, _ := standardwebhooks.NewWebhook(hookB.Secret)
		if wh.Verify(callsA[0].Body, callsA[0].Header) == nil {
			t.Fatal("B's secret verifies a request to A's endpoint")
		}
		inLogB := map[string]bool{}
		for _, d := range logB {
			inLogB[d.EventID.String()] = true
		}
		got := map[string]string{}
		for _, c := range callsB {
			ev := verifyHookCall(t, c, hookB.Secret)
			if ev.TenantID != b.TenantID || !inLogB[c.Header.Get("webhook-id")] {
				t.Fatalf("B's endpoint got %s of tenant %s (webhook-id in B's log: %v)", ev.Type, ev.TenantID, inLogB[c.Header.Get("webhook-id")])
			}
			var data struct {
				ID        string `json:"id"`
				WebhookID string `json:"webhook_id"`
			}
			if err := json.Unmarshal(ev.Data, &data); err != nil {
				t.Fatal(err)
			}
			got[ev.Type] = data.ID + data.WebhookID
		}
		wantGot := map[string]string{webhooks.APIKeyCreated: keyB.ID.String(), webhooks.UserCreated: userB.ID, webhooks.WebhookTest: hookB.ID.String()}
		if !maps.Equal(got, wantGot) {
			t.Fatalf("B's endpoint got %v, want %v", got, wantGot)
		}
		if got[webhooks.WebhookTest] != hookB.ID.String() || !slices.ContainsFunc(callsB, func(c hookCall) bool { return c.Header.Get("webhook-id") == testB.EventID.String() }) {
			t.Fatalf("no request to B's endpoint carries the test event's id %s as webhook-id", testB.EventID)
		}
	}, withAdmin)
}

// TestWebhookRetriesKeepTheWebhookID shows an endpoint answering 500 twice
// then 200: three attempts carry the same webhook-id and body, each its own
// webhook-timestamp and signatures, the delivery ends succeeded at attempt
// 3 with a log of 500, 500, 200, and the deliveries metric counts two
// retrying outcomes and one succeeded.
func TestWebhookRetriesKeepTheWebhookID(t *testing.T) {
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		recv := startReceiver(t, answerWith(http.StatusInternalServerError, http.StatusInternalServerError, http.StatusOK))
		tn := register(t, e, "Retried")
		hook := newHookEndpoint(t, e, tn.AccessToken, recv.URL, webhooks.APIKeyCreated)
		before := scrapeMetrics(t, e)

		sent := sendTest(t, e, tn.AccessToken, hook.ID)
		d := awaitHookDelivery(t, e, tn.AccessToken, hook.ID, sent.DeliveryID, "succeeded", func(d hookDelivery) bool { return d.Status == "succeeded" })
		if d.Status != "succeeded" || d.EventID != sent.EventID || d.Attempt != 3 || d.ResponseStatus == nil || *d.ResponseStatus != http.StatusOK || d.NextAttemptAt != nil || d.Error != nil {
			t.Fatalf("delivery %v, want succeeded at attempt 3 with 200, nothing next", d)
		}
		if len(d.Attempts) != 3 {
			t.Fatalf("attempts log of %d entries, want 3", len(d.Attempts))
		}
		for i, a := range d.Attempts {
			want := []int{500, 500, 200}[i]
			if a.Attempt != i+1 || a.ResponseStatus == nil || *a.ResponseStatus != want || (want == 200) != (a.Error == "") {
				t.Errorf("attempt %d logged as %+v, want attempt %d answered %d", i+1, a, i+1, want)
			}
		}

		calls := recv.got()
		if len(calls) != 3 {
			t.Fatalf("the endpoint got %d requests, want 3", len(calls))
		}
		for i, c := range calls {
			verifyHookCall(t, c, hook.Secret)
			if id := c.Header.Get("webhook-id"); id != sent.EventID.String() {
				t.Errorf("attempt %d: webhook-id %s, want the event id %s", i+1, id, sent.EventID)
			}
			if string(c.Body) != string(calls[0].Body) {
				t.Errorf("attempt %d sent another body than the first", i+1)
			}
			// Each attempt is signed when it is made: its timestamp is
			// the second it reached the endpoint, or the one before.
			if ts, _ := strconv.ParseInt(c.Header.Get("webhook-timestamp"), 10, 64); ts > c.At.Unix() || ts < c.At.Unix()-1 {
				t.Errorf("attempt %d: webhook-timestamp %d, received at %d: not the attempt's own", i+1, ts, c.At.Unix())
			}
		}

		after := scrapeMetrics(t, e)
		for outcome, want := range map[string]float64{"retrying": 2, "succeeded": 1, "failed": 0} {
			l := map[string]string{"outcome": outcome}
			if got := metricValue(after, "credvault_webhook_deliveries_total", l) - metricValue(before, "credvault_webhook_deliveries_total", l); got != want {
				t.Errorf("credvault_webhook_deliveries_total{outcome=%q} grew by %v, want %v", outcome, got, want)
			}
		}
	}, withSchedule(5*time.Second, 100*time.Millisecond, 100*time.Millisecond, 100*time.Millisecond))
}

// TestWebhookGoneDisablesTheEndpoint shows a 410 answer failing the
// delivery at once and disabling the endpoint with a reason and an audit
// entry; no later event is sent to it, and enabling it again clears the
// reason and deliveries resume.
func TestWebhookGoneDisablesTheEndpoint(t *testing.T) {
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		recv := startReceiver(t, answerWith(http.StatusGone))
		tn := register(t, e, "Gone")
		hook := newHookEndpoint(t, e, tn.AccessToken, recv.URL, "*")

		sent := sendTest(t, e, tn.AccessToken, hook.ID)
		d := awaitHookDelivery(t, e, tn.AccessToken, hook.ID, sent.DeliveryID, "failed", func(d hookDelivery) bool { return d.Status == "failed" })
		if d.Status != "failed" || d.Attempt != 1 || d.ResponseStatus == nil || *d.ResponseStatus != http.StatusGone || d.NextAttemptAt != nil || d.Error == nil {
			t.Fatalf("delivery %v, want failed at the first attempt with 410 and nothing next", d)
		}
		var got hookEndpoint
		eventually(t, 10*time.Second, "the endpoint is disabled", func() (bool, string) {
			wantOK(t, do(e, http.MethodGet, hookPath(hook.ID), tn.AccessToken, nil), http.StatusOK, &got)
			return !got.Enabled, fmt.Sprintf("enabled %v", got.Enabled)
		})
		if got.DisabledReason == nil || !strings.Contains(*got.DisabledReason, "410") {
			t.Fatalf("disabled_reason %v, want one naming the 410", got.DisabledReason)
		}
		entry := awaitAudit(t, e, tn.TenantID, "webhook.disable", func(a *ent.AuditLog) bool { return a.ResourceID == hook.ID.String() })
		if entry.Details["reason"] != *got.DisabledReason {
			t.Errorf("webhook.disable details %v, want the reason %q", entry.Details, *got.DisabledReason)
		}

		// Disabled, it is sent nothing: the key's event is not recorded
		// for it, or, should a delivery have been queued, it fails unsent.
		recv.setAnswer(nil)
		tn.key(t, "api_keys:read")
		eventually(t, 10*time.Second, "no attempt while disabled", func() (bool, string) {
			for _, d := range hookDeliveries(t, e, tn.AccessToken, hook.ID) {
				if d.EventType != webhooks.APIKeyCreated {
					continue
				}
				if d.Status == "pending" {
					return false, d.String()
				}
				if d.Status != "failed" || d.Attempt != 0 || d.Error == nil || *d.Error != "the endpoint is disabled" {
					t.Fatalf("a delivery to the disabled endpoint: %v", d)
				}
			}
			return true, ""
		})
		if n := len(recv.got()); n != 1 {
			t.Fatalf("the disabled endpoint got %d requests, want only the one it answered 410", n)
		}

		wantOK(t, do(e, http.MethodPatch, hookPath(hook.ID), tn.AccessToken, map[string]any{"enabled": true}), http.StatusOK, &got)
		if !got.Enabled || got.DisabledReason != nil {
			t.Fatalf("enabled again: enabled %v, disabled_reason %v, want true and null", got.Enabled, got.DisabledReason)
		}
		k := tn.key(t, "api_keys:read")
		calls := recv.await(t, 2)
		ev := verifyHookCall(t, calls[1], hook.Secret)
		var data struct{ ID uuid.UUID }
		if err := json.Unmarshal(ev.Data, &data); err != nil || ev.Type != webhooks.APIKeyCreated || data.ID != k.ID {
			t.Fatalf("after enabling the endpoint got %s about %s, want api_key.created about %s", ev.Type, data.ID, k.ID)
		}
	})
}

// TestWebhookRedirectsAreNotFollowed shows a 302 answer counted as a
// failure, retried, with response_status 302, and the server it points to
// never reached.
func TestWebhookRedirectsAreNotFollowed(t *testing.T) {
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		elsewhere := startReceiver(t, nil)
		recv := startReceiver(t, func(_ int, w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, elsewhere.URL+"/moved", http.StatusFound)
		})
		tn := register(t, e, "Redirected")
		hook := newHookEndpoint(t, e, tn.AccessToken, recv.URL, "*")

		sent := sendTest(t, e, tn.AccessToken, hook.ID)
		d := awaitHookDelivery(t, e, tn.AccessToken, hook.ID, sent.DeliveryID, "attempted twice", func(d hookDelivery) bool { return d.Attempt == 2 })
		if d.Status != "retrying" || d.ResponseStatus == nil || *d.ResponseStatus != http.StatusFound || d.NextAttemptAt == nil ||
			d.Error == nil || !strings.Contains(*d.Error, "redirect") {
			t.Fatalf("delivery %v, want retrying with response_status 302 and an error about the redirect", d)
		}
		for _, a := range d.Attempts {
			if a.ResponseStatus == nil || *a.ResponseStatus != http.StatusFound {
				t.Errorf("attempt %+v, want response_status 302", a)
			}
		}
		if n := len(recv.got()); n != 2 {
			t.Errorf("the endpoint got %d requests, want 2", n)
		}
		if n := len(elsewhere.got()); n != 0 {
			t.Fatalf("the redirect was followed: its target got %d requests", n)
		}
	}, withSchedule(5*time.Second, 100*time.Millisecond, time.Hour))
}

// TestWebhookSlowReceiverTimesOut shows an endpoint that does not answer
// within CREDVAULT_WEBHOOK_TIMEOUT: each attempt ends at the limit with an
// error naming it and no response_status, and the delivery is retried.
func TestWebhookSlowReceiverTimesOut(t *testing.T) {
	const limit = 300 * time.Millisecond
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		release := make(chan struct{})
		recv := startReceiver(t, func(_ int, w http.ResponseWriter, _ *http.Request) {
			select {
			case <-release:
			case <-time.After(2 * time.Second):
			}
			w.WriteHeader(http.StatusOK)
		})
		t.Cleanup(func() { close(release) }) // before the receiver closes, which waits for its handlers
		tn := register(t, e, "Slow")
		hook := newHookEndpoint(t, e, tn.AccessToken, recv.URL, "*")

		sent := sendTest(t, e, tn.AccessToken, hook.ID)
		d := awaitHookDelivery(t, e, tn.AccessToken, hook.ID, sent.DeliveryID, "attempted twice", func(d hookDelivery) bool { return d.Attempt == 2 })
		if d.Status != "retrying" || d.ResponseStatus != nil || d.NextAttemptAt == nil || d.Error == nil || !strings.Contains(*d.Error, limit.String()) {
			t.Fatalf("delivery %v, want retrying, no response_status, an error naming the %v limit", d, limit)
		}
		if len(d.Attempts) != 2 {
			t.Fatalf("attempts log of %d entries, want 2", len(d.Attempts))
		}
		for _, a := range d.Attempts {
			if a.ResponseStatus != nil || !strings.Contains(a.Error, limit.String()) ||
				a.DurationMS < int(limit.Milliseconds())-50 || a.DurationMS >= 2000 {
				t.Errorf("attempt %+v, want no response_status, the limit named, and about %v spent", a, limit)
			}
		}
		if n := len(recv.got()); n != 2 {
			t.Errorf("the endpoint got %d requests, want 2", n)
		}
	}, withSchedule(limit, 100*time.Millisecond, time.Hour))
}

// TestWebhookErrorExcerptIsCutAtACharacter: an endpoint that answers with
// a malformed header line makes the HTTP client's error quote it, é and
// all; the attempt's error excerpt, cut to its 200 bytes, is cut at a
// character's start. Cut inside the é, it was not UTF-8: PostgreSQL refused
// the update and the attempt was never recorded. (Two endpoints, one byte
// apart, so that one of the lines straddles the cut.)
func TestWebhookErrorExcerptIsCutAtACharacter(t *testing.T) {
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		tn := register(t, e, "Excerpt")
		for _, line := range []string{strings.Repeat("é", 150), "a" + strings.Repeat("é", 150)} {
			hook := newHookEndpoint(t, e, tn.AccessToken, "http://"+garbledReceiver(t, line)+"/hooks", "*")
			sent := sendTest(t, e, tn.AccessToken, hook.ID)
			d := awaitHookDelivery(t, e, tn.AccessToken, hook.ID, sent.DeliveryID, "attempted twice", func(d hookDelivery) bool { return d.Attempt == 2 })
			if d.Status != "retrying" || d.Error == nil || !utf8.ValidString(*d.Error) || !strings.Contains(*d.Error, "éé") || len(*d.Error) > 200 {
				t.Fatalf("delivery %v, want retrying with the error quoting the line, UTF-8 and at most 200 bytes", d)
			}
		}
	}, withSchedule(time.Second, 100*time.Millisecond, time.Hour))
}

// garbledReceiver listens on a loopback address and answers every request
// with a header line holding line and no colon; it returns the address.
func garbledReceiver(t *testing.T, line string) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				_, _ = conn.Read(make([]byte, 64<<10))
				_, _ = conn.Write([]byte("HTTP/1.1 200 OK\r\n" + line + "\r\n\r\n"))
			}()
		}
	}()
	return ln.Addr().String()
}

// TestWebhookReceiverDownForTheWholeScheduleEndsFailed shows a delivery to
// an endpoint refusing connections attempted once and on each step of the
// schedule, then failed with nothing next, its error excerpt without the
// URL's query.
func TestWebhookReceiverDownForTheWholeScheduleEndsFailed(t *testing.T) {
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		down := httptest.NewServer(http.NotFoundHandler())
		down.Close()
		token := "query-secret-" + randTag()
		tn := register(t, e, "Down")
		hook := newHookEndpoint(t, e, tn.AccessToken, down.URL+"/hooks?token="+token, "*")

		sent := sendTest(t, e, tn.AccessToken, hook.ID)
		d := awaitHookDelivery(t, e, tn.AccessToken, hook.ID, sent.DeliveryID, "failed", func(d hookDelivery) bool { return d.Status == "failed" })
		if d.Status != "failed" || d.Attempt != 3 || d.ResponseStatus != nil || d.NextAttemptAt != nil || d.Error == nil || *d.Error == "" {
			t.Fatalf("delivery %v, want failed after 3 attempts, no response_status, nothing next, an error", d)
		}
		if len(d.Attempts) != 3 {
			t.Fatalf("attempts log of %d entries, want 3", len(d.Attempts))
		}
		excerpts := []string{*d.Error}
		for i, a := range d.Attempts {
			if a.Attempt != i+1 || a.ResponseStatus != nil {
				t.Errorf("attempt %d logged as attempt %d with response_status %v, want none", i+1, a.Attempt, a.ResponseStatus)
			}
			excerpts = append(excerpts, a.Error)
		}
		for _, x := range excerpts {
			if x == "" || len(x) > 200 || strings.Contains(x, token) || strings.Contains(x, "token=") || strings.Contains(x, "/hooks") {
				t.Errorf("error excerpt %q: want one of at most 200 characters without the URL's path or query", x)
			}
		}
	}, withSchedule(5*time.Second, 100*time.Millisecond, 100*time.Millisecond))
}

// TestWebhookRotationGraceSignsWithBothSecrets shows a rotation with a
// grace period signing each delivery twice, each signature verifying with
// its own secret, and one without a grace signing with the new secret
// alone; X-Signature follows the current secret.
func TestWebhookRotationGraceSignsWithBothSecrets(t *testing.T) {
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		recv := startReceiver(t, nil)
		tn := register(t, e, "Rotated")
		hook := newHookEndpoint(t, e, tn.AccessToken, recv.URL, "*")

		var graced hookEndpoint
		wantOK(t, do(e, http.MethodPost, hookPath(hook.ID, "rotate-secret"), tn.AccessToken, map[string]any{"grace_period_seconds": 60}),
			http.StatusOK, &graced)
		if !strings.HasPrefix(graced.Secret, webhooks.SecretPrefix) || graced.Secret == hook.Secret {
			t.Fatal("rotation with a grace period: no new secret")
		}
		sendTest(t, e, tn.AccessToken, hook.ID)
		verifyHookCall(t, recv.await(t, 1)[0], graced.Secret, hook.Secret)

		var rotated hookEndpoint
		wantOK(t, do(e, http.MethodPost, hookPath(hook.ID, "rotate-secret"), tn.AccessToken, map[string]any{}), http.StatusOK, &rotated)
		if !strings.HasPrefix(rotated.Secret, webhooks.SecretPrefix) || rotated.Secret == graced.Secret || rotated.Secret == hook.Secret {
			t.Fatal("rotation without a grace period: no new secret")
		}
		sendTest(t, e, tn.AccessToken, hook.ID)
		c := recv.await(t, 2)[1]
		verifyHookCall(t, c, rotated.Secret)
		for i, old := range []string{hook.Secret, graced.Secret} {
			wh, _ := standardwebhooks.NewWebhook(old)
			if wh.Verify(c.Body, c.Header) == nil {
				t.Errorf("old secret %d still verifies after a rotation without grace", i)
			}
		}
	})
}

// TestWebhookRetryDeliveryAttemptsAgain shows a delivery failed at its only
// attempt made due again by POST .../retry (202, audited), attempted again
// with the same webhook-id, and succeeding once the endpoint is fixed.
func TestWebhookRetryDeliveryAttemptsAgain(t *testing.T) {
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		recv := startReceiver(t, answerWith(http.StatusServiceUnavailable))
		tn := register(t, e, "Retry")
		hook := newHookEndpoint(t, e, tn.AccessToken, recv.URL, "*")

		sent := sendTest(t, e, tn.AccessToken, hook.ID)
		d := awaitHookDelivery(t, e, tn.AccessToken, hook.ID, sent.DeliveryID, "failed", func(d hookDelivery) bool { return d.Status == "failed" })
		if d.Status != "failed" || d.Attempt != 1 || d.ResponseStatus == nil || *d.ResponseStatus != http.StatusServiceUnavailable || d.NextAttemptAt != nil {
			t.Fatalf("delivery %v, want failed at its only attempt with 503", d)
		}

		recv.setAnswer(nil)
		var queued hookDelivery
		wantOK(t, do(e, http.MethodPost, hookPath(hook.ID, "deliveries", d.ID.String(), "retry"), tn.AccessToken, nil), http.StatusAccepted, &queued)
		if queued.ID != d.ID || queued.Status != "retrying" || queued.NextAttemptAt == nil {
			t.Fatalf("retry answered %v, want the delivery retrying, due now", queued)
		}
		d = awaitHookDelivery(t, e, tn.AccessToken, hook.ID, sent.DeliveryID, "succeeded", func(d hookDelivery) bool { return d.Status == "succeeded" })
		if d.Status != "succeeded" || d.Attempt != 2 || d.ResponseStatus == nil || *d.ResponseStatus != http.StatusOK || d.Error != nil || len(d.Attempts) != 2 {
			t.Fatalf("delivery %v, want succeeded at attempt 2 with 200", d)
		}
		calls := recv.got()
		if len(calls) != 2 {
			t.Fatalf("the endpoint got %d requests, want 2", len(calls))
		}
		for _, c := range calls {
			verifyHookCall(t, c, hook.Secret)
			if c.Header.Get("webhook-id") != sent.EventID.String() {
				t.Errorf("webhook-id %s, want the event id %s", c.Header.Get("webhook-id"), sent.EventID)
			}
		}
		entry := oneAudit(t, e, tn.TenantID, "webhook.delivery_retry", "", hook.ID.String())
		if entry.Details["delivery_id"] != d.ID.String() {
			t.Errorf("webhook.delivery_retry details %v, want delivery_id %s", entry.Details, d.ID)
		}
	}, withSchedule(5*time.Second))
}
