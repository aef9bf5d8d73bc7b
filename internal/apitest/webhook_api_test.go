package apitest_test

// The /api/v1/webhooks routes and their GraphQL fields (SPEC §11): the
// endpoint lifecycle with its secret shown once, the event catalogue, the
// filters, validation, tenant isolation, scopes and audit, on SQLite and
// PostgreSQL. How deliveries are sent and signed is
// webhook_delivery_test.go's; the SSRF guard is webhook_ssrf_test.go's.

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/credvault/credvault/ent/auditlog"
	"github.com/credvault/credvault/ent/webhook"
	"github.com/credvault/credvault/ent/webhookdelivery"
	"github.com/credvault/credvault/internal/access"
	"github.com/credvault/credvault/internal/apitest"
	"github.com/credvault/credvault/internal/platform/config"
)

// whEndpoint is a webhook endpoint as REST shows it. Never format one into
// a message: Secret holds the signing secret when it is shown.
type whEndpoint struct {
	ID             uuid.UUID  `json:"id"`
	TenantID       uuid.UUID  `json:"tenant_id"`
	URL            string     `json:"url"`
	Description    string     `json:"description"`
	Events         []string   `json:"events"`
	Enabled        bool       `json:"enabled"`
	DisabledReason *string    `json:"disabled_reason"`
	Secret         string     `json:"secret"`
	CreatedBy      *uuid.UUID `json:"created_by"`
	CreatedAt      time.Time  `json:"created_at"`
	UpdatedAt      time.Time  `json:"updated_at"`
}

// whDelivery is a delivery as REST shows it.
type whDelivery struct {
	ID             uuid.UUID  `json:"id"`
	WebhookID      uuid.UUID  `json:"webhook_id"`
	EventID        uuid.UUID  `json:"event_id"`
	EventType      string     `json:"event_type"`
	Attempt        int        `json:"attempt"`
	Status         string     `json:"status"`
	ResponseStatus *int       `json:"response_status"`
	DurationMS     *int       `json:"duration_ms"`
	Error          *string    `json:"error"`
	NextAttemptAt  *time.Time `json:"next_attempt_at"`
	CreatedAt      time.Time  `json:"created_at"`
}

// whSentTest is the answer of POST /webhooks/{id}/test.
type whSentTest struct {
	EventID    uuid.UUID  `json:"event_id"`
	DeliveryID uuid.UUID  `json:"delivery_id"`
	Delivery   whDelivery `json:"delivery"`
}

// whEventTypes are the event types of SPEC §11, in its order.
var whEventTypes = []string{"api_key.created", "api_key.rotated", "api_key.revoked", "oauth_client.created",
	"oauth_client.updated", "oauth_client.secret_rotated", "oauth_client.deleted", "credential.created",
	"credential.updated", "credential.deleted", "user.created", "user.updated", "user.deleted",
	"service_account.created", "tenant.updated", "dek.rotation_completed", "webhook.test"}

// whPath is /api/v1/webhooks/{id} and any further segments.
func whPath(id any, more ...any) string {
	p := fmt.Sprintf("/api/v1/webhooks/%v", id)
	for _, m := range more {
		p += fmt.Sprintf("/%v", m)
	}
	return p
}

// whCreate creates an endpoint over REST as cred, expecting 201 with a
// well-formed secret and Cache-Control: no-store.
func whCreate(t testing.TB, e *apitest.Env, cred string, body map[string]any) whEndpoint {
	t.Helper()
	r := do(e, http.MethodPost, "/api/v1/webhooks", cred, body)
	var w whEndpoint
	wantOK(t, r, http.StatusCreated, &w)
	whCheckSecret(t, r, w.Secret)
	return w
}

// whCheckSecret checks a secret as creation and rotation show it:
// whsec_ and the standard base64 of at least 24 bytes, in an answer that
// may not be cached. It returns the key.
func whCheckSecret(t testing.TB, r *apitest.Response, secret string) []byte {
	t.Helper()
	if cc := r.Header.Get("Cache-Control"); !strings.Contains(cc, "no-store") {
		t.Fatalf("an answer showing a webhook secret has Cache-Control %q, want no-store", cc)
	}
	enc, ok := strings.CutPrefix(secret, "whsec_")
	if !ok {
		t.Fatalf("secret %s does not start with whsec_", short(secret))
	}
	key, err := base64.StdEncoding.DecodeString(enc)
	if err != nil || len(key) < 24 {
		t.Fatalf("secret %s: the part after whsec_ is not the base64 of at least 24 bytes (%d bytes, %v)", short(secret), len(key), err)
	}
	return key
}

// whReceived is one request an endpoint received.
type whReceived struct {
	WebhookID string
	Type      string
}

// whReceiver is a local endpoint (http://127.0.0.1:port, allowed in
// development) that answers answer(type) for each event (204 when answer
// is nil) and records what it received.
type whReceiver struct {
	URL string
	mu  sync.Mutex
	got []whReceived
}

func newWHReceiver(t testing.TB, answer func(eventType string) int) *whReceiver {
	t.Helper()
	rv := &whReceiver{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var body struct {
			Type string `json:"type"`
		}
		_ = json.Unmarshal(b, &body)
		rv.mu.Lock()
		rv.got = append(rv.got, whReceived{WebhookID: r.Header.Get("webhook-id"), Type: body.Type})
		rv.mu.Unlock()
		status := http.StatusNoContent
		if answer != nil {
			status = answer(body.Type)
		}
		w.WriteHeader(status)
	}))
	t.Cleanup(srv.Close)
	rv.URL = srv.URL
	return rv
}

// received is what the endpoint received so far.
func (rv *whReceiver) received() []whReceived {
	rv.mu.Lock()
	defer rv.mu.Unlock()
	return slices.Clone(rv.got)
}

// whDeliveries is the endpoint's delivery log over REST; query is "" or
// "?status=…".
func whDeliveries(t testing.TB, e *apitest.Env, cred string, hook uuid.UUID, query string) []whDelivery {
	t.Helper()
	var ds []whDelivery
	listPage(t, e, cred, whPath(hook, "deliveries")+query, &ds)
	return ds
}

// whAwait polls the endpoint's delivery log until the delivery with id
// satisfies ok, and returns it.
func whAwait(t testing.TB, e *apitest.Env, cred string, hook, id uuid.UUID, what string, ok func(whDelivery) bool) whDelivery {
	t.Helper()
	var found whDelivery
	eventually(t, 10*time.Second, what, func() (bool, string) {
		for _, d := range whDeliveries(t, e, cred, hook, "") {
			if d.ID == id {
				found = d
				return ok(d), fmt.Sprintf("status %s attempt %d", d.Status, d.Attempt)
			}
		}
		return false, "not in the log"
	})
	return found
}

// whNoSecret fails if body shows any of the secrets, or a secret field.
func whNoSecret(t testing.TB, what string, body []byte, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if bytes.Contains(body, []byte(s)) || bytes.Contains(body, []byte(strings.TrimPrefix(s, "whsec_"))) {
			t.Fatalf("%s shows the webhook secret", what)
		}
	}
	if bytes.Contains(body, []byte(`"secret"`)) {
		t.Fatalf("%s has a secret field: %s", what, redact(body))
	}
}

// whIDs lists the endpoints' ids, sorted as text.
func whIDs(ws []whEndpoint) []string {
	out := make([]string, len(ws))
	for i, w := range ws {
		out[i] = w.ID.String()
	}
	return sorted(out)
}

// TestWebhookLifecycleOverREST walks an endpoint through every REST route:
// created with its secret shown once (never again, and sealed in the
// database), read, listed, changed, rotated, tested, its delivery retried
// with the same event, and deleted with its deliveries.
func TestWebhookLifecycleOverREST(t *testing.T) {
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		tn := register(t, e, "Hooks REST")
		rv := newWHReceiver(t, nil)
		url := rv.URL + "/hooks/credvault?source=cv"
		w := whCreate(t, e, tn.AccessToken, map[string]any{"url": url, "description": "  Billing sync  ",
			"events": []string{"api_key.revoked", "api_key.created", "api_key.revoked"}})
		if w.ID == uuid.Nil || w.TenantID != tn.TenantID || w.URL != url || w.Description != "Billing sync" ||
			!slices.Equal(w.Events, []string{"api_key.revoked", "api_key.created"}) || !w.Enabled || w.DisabledReason != nil {
			t.Fatalf("created %s %s %q %q %v enabled %v disabled_reason %v: want the tenant's, the URL, the description trimmed, the events once each, enabled",
				w.ID, w.TenantID, w.URL, w.Description, w.Events, w.Enabled, w.DisabledReason)
		}
		if w.CreatedBy == nil || *w.CreatedBy != tn.UserID || w.CreatedAt.IsZero() || w.CreatedAt.Location() != time.UTC {
			t.Fatalf("created_by %v created_at %v: want the owner and an RFC 3339 UTC time", w.CreatedBy, w.CreatedAt)
		}
		off := whCreate(t, e, tn.AccessToken, map[string]any{"url": rv.URL + "/off", "events": []string{"*"}, "enabled": false})
		if off.Enabled || !slices.Equal(off.Events, []string{"*"}) || off.Description != "" || off.Secret == w.Secret {
			t.Fatalf("created disabled: enabled %v events %v description %q (or the same secret twice)", off.Enabled, off.Events, off.Description)
		}

		// The secret is never shown again.
		var got whEndpoint
		r := do(e, http.MethodGet, whPath(w.ID), tn.AccessToken, nil)
		wantOK(t, r, http.StatusOK, &got)
		whNoSecret(t, "GET /webhooks/{id}", r.Body, w.Secret, off.Secret)
		if got.ID != w.ID || got.URL != url || !slices.Equal(got.Events, w.Events) || !got.UpdatedAt.Equal(w.UpdatedAt) {
			t.Fatalf("GET shows %s %q %v, want what was created", got.ID, got.URL, got.Events)
		}
		var list []whEndpoint
		pg := listPage(t, e, tn.AccessToken, "/api/v1/webhooks", &list)
		if fmt.Sprint(pg["total"]) != "2" || !slices.Equal(whIDs(list), whIDs([]whEndpoint{w, off})) {
			t.Fatalf("list: %v (total %v), want both endpoints", whIDs(list), pg["total"])
		}
		r = do(e, http.MethodGet, "/api/v1/webhooks", tn.AccessToken, nil)
		whNoSecret(t, "GET /webhooks", r.Body, w.Secret, off.Secret)

		// PATCH changes what it names, and only that.
		var upd whEndpoint
		r = do(e, http.MethodPatch, whPath(w.ID), tn.AccessToken, map[string]any{"description": "renamed", "events": []string{"*"}, "enabled": false})
		wantOK(t, r, http.StatusOK, &upd)
		whNoSecret(t, "PATCH /webhooks/{id}", r.Body, w.Secret)
		if upd.Description != "renamed" || !slices.Equal(upd.Events, []string{"*"}) || upd.Enabled || upd.URL != url ||
			upd.UpdatedAt.Before(w.UpdatedAt) || !upd.CreatedAt.Equal(w.CreatedAt) {
			t.Fatalf("patched: %q %v enabled %v url %q", upd.Description, upd.Events, upd.Enabled, upd.URL)
		}
		wantOK(t, do(e, http.MethodPatch, whPath(w.ID), tn.AccessToken, map[string]any{"enabled": true, "url": url + "&v=2"}), http.StatusOK, &upd)
		if !upd.Enabled || upd.URL != url+"&v=2" || upd.Description != "renamed" {
			t.Fatalf("patched again: enabled %v url %q description %q", upd.Enabled, upd.URL, upd.Description)
		}

		// Rotation shows a new secret once, with or without a grace period.
		r = do(e, http.MethodPost, whPath(w.ID, "rotate-secret"), tn.AccessToken, map[string]any{"grace_period_seconds": 60})
		var rot whEndpoint
		wantOK(t, r, http.StatusOK, &rot)
		whCheckSecret(t, r, rot.Secret)
		if rot.ID != w.ID || rot.Secret == w.Secret {
			t.Fatal("rotation did not give the endpoint a new secret")
		}
		r = e.Do(apitest.Request{Method: http.MethodPost, Path: whPath(w.ID, "rotate-secret"), Bearer: tn.AccessToken})
		var rot2 whEndpoint
		wantOK(t, r, http.StatusOK, &rot2)
		whCheckSecret(t, r, rot2.Secret)
		if rot2.Secret == rot.Secret || rot2.Secret == w.Secret {
			t.Fatal("a rotation without a body repeated a secret")
		}
		secrets := []string{w.Secret, off.Secret, rot.Secret, rot2.Secret}
		r = do(e, http.MethodGet, whPath(w.ID), tn.AccessToken, nil)
		whNoSecret(t, "GET after rotation", r.Body, secrets...)

		// A test event: 202 with the event and its delivery, then delivered.
		var sent whSentTest
		r = do(e, http.MethodPost, whPath(w.ID, "test"), tn.AccessToken, nil)
		wantOK(t, r, http.StatusAccepted, &sent)
		if sent.EventID == uuid.Nil || sent.DeliveryID != sent.Delivery.ID || sent.Delivery.WebhookID != w.ID ||
			sent.Delivery.EventID != sent.EventID || sent.Delivery.EventType != "webhook.test" || sent.Delivery.Status != "pending" ||
			sent.Delivery.Attempt != 0 {
			t.Fatalf("test: %+v", sent)
		}
		d := whAwait(t, e, tn.AccessToken, w.ID, sent.DeliveryID, "the test event is delivered", func(d whDelivery) bool { return d.Status == "succeeded" })
		if d.Attempt != 1 || d.ResponseStatus == nil || *d.ResponseStatus != http.StatusNoContent || d.DurationMS == nil ||
			d.Error != nil || d.NextAttemptAt != nil || d.EventID != sent.EventID {
			t.Fatalf("delivered: %+v", d)
		}

		// A retry is 202 and a new attempt of the same event.
		var again whDelivery
		wantOK(t, do(e, http.MethodPost, whPath(w.ID, "deliveries", d.ID, "retry"), tn.AccessToken, nil), http.StatusAccepted, &again)
		if again.ID != d.ID || again.Status != "retrying" || again.NextAttemptAt == nil || again.EventID != sent.EventID {
			t.Fatalf("retry: %+v, want the delivery retrying now", again)
		}
		whAwait(t, e, tn.AccessToken, w.ID, d.ID, "the retry is attempted", func(d whDelivery) bool { return d.Status == "succeeded" && d.Attempt == 2 })
		var ids []string
		for _, g := range rv.received() {
			ids = append(ids, g.WebhookID)
		}
		if !slices.Equal(ids, []string{sent.EventID.String(), sent.EventID.String()}) {
			t.Fatalf("the receiver got webhook-ids %v, want the test event's %s twice", ids, sent.EventID)
		}

		// The database holds the secrets sealed, never as shown nor as keys.
		var needles []string
		for _, s := range secrets {
			key, _ := base64.StdEncoding.DecodeString(strings.TrimPrefix(s, "whsec_"))
			needles = append(needles, s, strings.TrimPrefix(s, "whsec_"), string(key))
		}
		if found, rows := scanDB(t, e, needles); len(found) > 0 || rows["webhooks"] != 2 {
			var where []string
			for _, at := range found {
				where = append(where, at...)
			}
			t.Fatalf("a webhook secret is stored in the clear in %v (%d webhook rows)", where, rows["webhooks"])
		}

		// DELETE removes the endpoint and its deliveries.
		var del struct {
			ID      uuid.UUID `json:"id"`
			Deleted bool      `json:"deleted"`
		}
		wantOK(t, do(e, http.MethodDelete, whPath(w.ID), tn.AccessToken, nil), http.StatusOK, &del)
		if del.ID != w.ID || !del.Deleted {
			t.Fatalf("delete: %+v", del)
		}
		for _, c := range []struct{ method, path string }{{http.MethodGet, whPath(w.ID)}, {http.MethodDelete, whPath(w.ID)},
			{http.MethodGet, whPath(w.ID, "deliveries")}, {http.MethodPost, whPath(w.ID, "test")}} {
			wantError(t, do(e, c.method, c.path, tn.AccessToken, nil), http.StatusNotFound, "NOT_FOUND")
		}
		if n, err := e.Store.Client.WebhookDelivery.Query().Where(webhookdelivery.WebhookID(w.ID)).Count(unrestricted()); err != nil || n != 0 {
			t.Fatalf("%d deliveries of the deleted endpoint remain (%v)", n, err)
		}
		pg = listPage(t, e, tn.AccessToken, "/api/v1/webhooks", &list)
		if fmt.Sprint(pg["total"]) != "1" || len(list) != 1 || list[0].ID != off.ID {
			t.Fatalf("after delete the list holds %v", whIDs(list))
		}
	}, whQuickRetries)
}

// whQuickRetries keeps attempts short and retries far apart, so a test
// sees each attempt it causes and no other.
func whQuickRetries(c *config.Config) {
	c.WebhookTimeout = 2 * time.Second
	c.WebhookRetrySchedule = []time.Duration{time.Hour}
}

// gqlWebhookFields is what the GraphQL tests read of an endpoint.
const gqlWebhookFields = `id tenantID url description events enabled disabledReason createdBy createdAt updatedAt`

type gqlWebhook struct {
	ID             string   `json:"id"`
	TenantID       string   `json:"tenantID"`
	URL            string   `json:"url"`
	Description    string   `json:"description"`
	Events         []string `json:"events"`
	Enabled        bool     `json:"enabled"`
	DisabledReason *string  `json:"disabledReason"`
	CreatedBy      *string  `json:"createdBy"`
}

// TestWebhookLifecycleOverGraphQL does over GraphQL what the REST test
// does, through every webhook field: the mutations, the webhook, webhooks
// and webhookEventTypes queries, the Tenant.webhooks edge, and an
// endpoint's deliveries and audit entries; the secret appears only in
// createWebhook's and rotateWebhookSecret's answers.
func TestWebhookLifecycleOverGraphQL(t *testing.T) {
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		tn := register(t, e, "Hooks GraphQL")
		rv := newWHReceiver(t, nil)
		cred := tn.AccessToken

		var created struct {
			CreateWebhook struct {
				Secret  string     `json:"secret"`
				Webhook gqlWebhook `json:"webhook"`
			} `json:"createWebhook"`
		}
		g := gqlDo(e, cred, `mutation($in: CreateWebhookInput!) { createWebhook(input: $in) { secret webhook { `+gqlWebhookFields+` } } }`,
			map[string]any{"in": map[string]any{"url": rv.URL + "/gql", "events": []string{"user.created", "webhook.test"}, "description": "graph"}})
		if len(g.Errors) > 0 {
			t.Fatalf("createWebhook: %s", showGQL(g))
		}
		if err := json.Unmarshal(g.Data, &created); err != nil {
			t.Fatal(err)
		}
		w, secret := created.CreateWebhook.Webhook, created.CreateWebhook.Secret
		if key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_")); !strings.HasPrefix(secret, "whsec_") || err != nil || len(key) < 24 {
			t.Fatalf("createWebhook secret %s: want whsec_ and the base64 of at least 24 bytes", short(secret))
		}
		if w.TenantID != tn.TenantID.String() || w.URL != rv.URL+"/gql" || !slices.Equal(w.Events, []string{"user.created", "webhook.test"}) ||
			!w.Enabled || w.Description != "graph" || w.CreatedBy == nil || *w.CreatedBy != tn.UserID.String() {
			t.Fatalf("createWebhook: %+v", w)
		}
		id := map[string]any{"id": w.ID}

		// Reads: webhook, webhooks, Tenant.webhooks; never the secret.
		reads := []string{
			`query($id: ID!) { webhook(id: $id) { ` + gqlWebhookFields + ` } }`,
			`{ webhooks(first: 10, where: {enabled: true}) { totalCount edges { node { ` + gqlWebhookFields + ` } } } }`,
			`{ me { tenant { webhooks { totalCount edges { node { id url events } } } } } }`,
		}
		for _, q := range reads {
			var vars map[string]any
			if strings.Contains(q, "$id") {
				vars = id
			}
			g := gqlDo(e, cred, q, vars)
			if len(g.Errors) > 0 || !bytes.Contains(g.Data, []byte(w.ID)) {
				t.Fatalf("%s: %s, want the endpoint", q, showGQL(g))
			}
			whNoSecret(t, q, g.Data, secret)
		}
		var none struct {
			Webhooks struct {
				TotalCount int `json:"totalCount"`
			} `json:"webhooks"`
		}
		gql(t, e, cred, `{ webhooks(where: {enabled: false}) { totalCount } }`, nil, &none)
		if none.Webhooks.TotalCount != 0 {
			t.Fatalf("webhooks(where: {enabled: false}) counts %d", none.Webhooks.TotalCount)
		}

		// updateWebhook.
		var upd struct {
			UpdateWebhook gqlWebhook `json:"updateWebhook"`
		}
		gql(t, e, cred, `mutation($id: ID!) { updateWebhook(id: $id, input: {description: "changed", events: ["*"], enabled: false}) { `+gqlWebhookFields+` } }`, id, &upd)
		if u := upd.UpdateWebhook; u.ID != w.ID || u.Description != "changed" || !slices.Equal(u.Events, []string{"*"}) || u.Enabled {
			t.Fatalf("updateWebhook: %+v", u)
		}
		gql(t, e, cred, `mutation($id: ID!) { updateWebhook(id: $id, input: {enabled: true}) { id enabled } }`, id, &upd)
		if !upd.UpdateWebhook.Enabled {
			t.Fatal("updateWebhook did not enable the endpoint again")
		}

		// rotateWebhookSecret shows the new secret once.
		var rot struct {
			RotateWebhookSecret struct {
				Secret  string `json:"secret"`
				Webhook struct {
					ID string `json:"id"`
				} `json:"webhook"`
			} `json:"rotateWebhookSecret"`
		}
		gql(t, e, cred, `mutation($id: ID!) { rotateWebhookSecret(id: $id, input: {gracePeriodSeconds: 30}) { secret webhook { id } } }`, id, &rot)
		if s := rot.RotateWebhookSecret.Secret; !strings.HasPrefix(s, "whsec_") || s == secret || rot.RotateWebhookSecret.Webhook.ID != w.ID {
			t.Fatalf("rotateWebhookSecret: secret %s for %s", short(s), rot.RotateWebhookSecret.Webhook.ID)
		}
		gql(t, e, cred, `mutation($id: ID!) { rotateWebhookSecret(id: $id) { webhook { id } } }`, id, nil)

		// testWebhook, then the delivery through Webhook.deliveries.
		var sent struct {
			TestWebhook struct {
				EventID    string `json:"eventID"`
				DeliveryID string `json:"deliveryID"`
				Delivery   struct {
					ID        string `json:"id"`
					WebhookID string `json:"webhookID"`
					EventType string `json:"eventType"`
					Status    string `json:"status"`
				} `json:"delivery"`
			} `json:"testWebhook"`
		}
		gql(t, e, cred, `mutation($id: ID!) { testWebhook(id: $id) { eventID deliveryID delivery { id webhookID eventType status } } }`, id, &sent)
		st := sent.TestWebhook
		if st.EventID == "" || st.DeliveryID != st.Delivery.ID || st.Delivery.WebhookID != w.ID || st.Delivery.EventType != "webhook.test" || st.Delivery.Status != "pending" {
			t.Fatalf("testWebhook: %+v", st)
		}
		type deliveriesJSON struct {
			Webhook struct {
				Deliveries struct {
					TotalCount int `json:"totalCount"`
					Edges      []struct {
						Node struct {
							ID             string `json:"id"`
							EventID        string `json:"eventID"`
							EventType      string `json:"eventType"`
							Status         string `json:"status"`
							Attempt        int    `json:"attempt"`
							ResponseStatus *int   `json:"responseStatus"`
							Attempts       []struct {
								Attempt        int  `json:"attempt"`
								ResponseStatus *int `json:"responseStatus"`
							} `json:"attempts"`
						} `json:"node"`
					} `json:"edges"`
				} `json:"deliveries"`
			} `json:"webhook"`
		}
		const deliveriesQuery = `query($id: ID!) { webhook(id: $id) { deliveries(first: 10) { totalCount edges { node {
			id eventID eventType status attempt responseStatus attempts { attempt responseStatus } } } } } }`
		delivered := func(attempts int) deliveriesJSON {
			var ds deliveriesJSON
			eventually(t, 10*time.Second, fmt.Sprintf("the test event's attempt %d succeeds", attempts), func() (bool, string) {
				gql(t, e, cred, deliveriesQuery, id, &ds)
				c := ds.Webhook.Deliveries
				if c.TotalCount != 1 || len(c.Edges) != 1 {
					return false, fmt.Sprintf("%d deliveries", c.TotalCount)
				}
				n := c.Edges[0].Node
				return n.Status == "succeeded" && n.Attempt == attempts && len(n.Attempts) == attempts, fmt.Sprintf("%s attempt %d", n.Status, n.Attempt)
			})
			return ds
		}
		n := delivered(1).Webhook.Deliveries.Edges[0].Node
		if n.ID != st.DeliveryID || n.EventID != st.EventID || n.EventType != "webhook.test" || n.ResponseStatus == nil || *n.ResponseStatus != http.StatusNoContent {
			t.Fatalf("Webhook.deliveries: %+v", n)
		}

		// retryWebhookDelivery attempts it again.
		var retried struct {
			RetryWebhookDelivery struct {
				ID            string  `json:"id"`
				Status        string  `json:"status"`
				NextAttemptAt *string `json:"nextAttemptAt"`
			} `json:"retryWebhookDelivery"`
		}
		gql(t, e, cred, `mutation($w: ID!, $d: ID!) { retryWebhookDelivery(webhookID: $w, deliveryID: $d) { id status nextAttemptAt } }`,
			map[string]any{"w": w.ID, "d": st.DeliveryID}, &retried)
		if r := retried.RetryWebhookDelivery; r.ID != st.DeliveryID || r.Status != "retrying" || r.NextAttemptAt == nil {
			t.Fatalf("retryWebhookDelivery: %+v", r)
		}
		delivered(2)

		// Webhook.auditLogs: every change of the endpoint, by the owner.
		e.Flush()
		var logs struct {
			Webhook struct {
				AuditLogs struct {
					TotalCount int `json:"totalCount"`
					Edges      []struct {
						Node struct {
							Action     string `json:"action"`
							ActorID    string `json:"actorID"`
							ResourceID string `json:"resourceID"`
						} `json:"node"`
					} `json:"edges"`
				} `json:"auditLogs"`
			} `json:"webhook"`
		}
		g = gqlDo(e, cred, `query($id: ID!) { webhook(id: $id) { auditLogs(first: 50) { totalCount edges { node { action actorID resourceID details } } } } }`, id)
		if len(g.Errors) > 0 {
			t.Fatalf("Webhook.auditLogs: %s", showGQL(g))
		}
		whNoSecret(t, "Webhook.auditLogs", g.Data, secret, rot.RotateWebhookSecret.Secret)
		if err := json.Unmarshal(g.Data, &logs); err != nil {
			t.Fatal(err)
		}
		var actions []string
		for _, ed := range logs.Webhook.AuditLogs.Edges {
			if ed.Node.ActorID != tn.UserID.String() || ed.Node.ResourceID != w.ID {
				t.Fatalf("audit entry %s by %s about %s, want the owner and the endpoint", ed.Node.Action, ed.Node.ActorID, ed.Node.ResourceID)
			}
			actions = append(actions, ed.Node.Action)
		}
		want := []string{"webhook.create", "webhook.delivery_retry", "webhook.rotate_secret", "webhook.rotate_secret",
			"webhook.test", "webhook.update", "webhook.update"}
		if !slices.Equal(sorted(actions), want) || logs.Webhook.AuditLogs.TotalCount != len(want) {
			t.Fatalf("Webhook.auditLogs: %v (%d), want %v", sorted(actions), logs.Webhook.AuditLogs.TotalCount, want)
		}

		// deleteWebhook returns the id; the endpoint and its deliveries are gone.
		var del struct {
			DeleteWebhook string `json:"deleteWebhook"`
		}
		gql(t, e, cred, `mutation($id: ID!) { deleteWebhook(id: $id) }`, id, &del)
		if del.DeleteWebhook != w.ID {
			t.Fatalf("deleteWebhook returned %q, want %s", del.DeleteWebhook, w.ID)
		}
		gqlErr(t, e, cred, `query($id: ID!) { webhook(id: $id) { id } }`, id, "NOT_FOUND")
		gqlErr(t, e, cred, `mutation($id: ID!) { deleteWebhook(id: $id) }`, id, "NOT_FOUND")
		if n, err := e.Store.Client.WebhookDelivery.Query().Where(webhookdelivery.WebhookID(uid(t, w.ID))).Count(unrestricted()); err != nil || n != 0 {
			t.Fatalf("%d deliveries of the deleted endpoint remain (%v)", n, err)
		}
	}, whQuickRetries)
}

// TestWebhookEventTypesAreTheCatalogue: GET /webhooks/event-types and
// webhookEventTypes list the 17 types of SPEC §11, in its order, each
// described.
func TestWebhookEventTypesAreTheCatalogue(t *testing.T) {
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		tn := register(t, e, "Hooks catalogue")
		type eventType struct {
			Type        string `json:"type"`
			Description string `json:"description"`
		}
		var rest []eventType
		wantOK(t, do(e, http.MethodGet, "/api/v1/webhooks/event-types", tn.AccessToken, nil), http.StatusOK, &rest)
		var graph struct {
			WebhookEventTypes []eventType `json:"webhookEventTypes"`
		}
		gql(t, e, tn.AccessToken, `{ webhookEventTypes { type description } }`, nil, &graph)
		var types []string
		for _, et := range rest {
			types = append(types, et.Type)
			if len(strings.TrimSpace(et.Description)) < 10 {
				t.Errorf("%s is described as %q", et.Type, et.Description)
			}
		}
		if !slices.Equal(types, whEventTypes) {
			t.Fatalf("event types %v, want SPEC §11's %v", types, whEventTypes)
		}
		if !slices.Equal(graph.WebhookEventTypes, rest) {
			t.Fatalf("webhookEventTypes %v differs from REST's %v", graph.WebhookEventTypes, rest)
		}
		// A viewer reads the catalogue too (webhooks:read).
		wantOK(t, do(e, http.MethodGet, "/api/v1/webhooks/event-types", tn.user(t, "viewer").AccessToken, nil), http.StatusOK, nil)
	})
}

// TestWebhookListFilters: the endpoint list filters on enabled and on the
// event an endpoint receives (its own subscription or ["*"]), the delivery
// log on status and event_type; a value outside a filter's set is 422
// naming it.
func TestWebhookListFilters(t *testing.T) {
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		tn := register(t, e, "Hooks filters")
		// The receiver fails test events, so they stay retrying (an hour apart).
		rv := newWHReceiver(t, func(typ string) int {
			if typ == "webhook.test" {
				return http.StatusInternalServerError
			}
			return http.StatusNoContent
		})
		revoked := whCreate(t, e, tn.AccessToken, map[string]any{"url": rv.URL + "/revoked", "events": []string{"api_key.revoked"}})
		every := whCreate(t, e, tn.AccessToken, map[string]any{"url": rv.URL + "/every", "events": []string{"*"}, "enabled": false})
		created := whCreate(t, e, tn.AccessToken, map[string]any{"url": rv.URL + "/created", "events": []string{"api_key.created", "user.deleted"}})
		all := whCreate(t, e, tn.AccessToken, map[string]any{"url": rv.URL + "/all", "events": []string{"*"}})

		cases := map[string][]whEndpoint{
			"?enabled=false":                      {every},
			"?enabled=true":                       {revoked, created, all},
			"?event=api_key.revoked":              {revoked, every, all},
			"?event=api_key.created":              {every, created, all},
			"?event=user.deleted":                 {every, created, all},
			"?event=tenant.updated":               {every, all},
			"?event=api_key.revoked&enabled=true": {revoked, all},
		}
		for q, want := range cases {
			var got []whEndpoint
			pg := listPage(t, e, tn.AccessToken, "/api/v1/webhooks"+q, &got)
			if !slices.Equal(whIDs(got), whIDs(want)) || fmt.Sprint(pg["total"]) != fmt.Sprint(len(want)) {
				t.Errorf("GET /webhooks%s: %v (total %v), want %v", q, whIDs(got), pg["total"], whIDs(want))
			}
		}
		for q, field := range map[string]string{"?event=api_key.exploded": "event", "?event=*": "event", "?enabled=maybe": "enabled"} {
			wantError(t, do(e, http.MethodGet, "/api/v1/webhooks"+q, tn.AccessToken, nil), http.StatusUnprocessableEntity,
				"VALIDATION_ERROR", "field", field)
		}

		// The delivery log: an api_key.created that succeeded, a webhook.test retrying.
		tn.key(t, access.APIKeysRead)
		var sent whSentTest
		wantOK(t, do(e, http.MethodPost, whPath(all.ID, "test"), tn.AccessToken, nil), http.StatusAccepted, &sent)
		whAwait(t, e, tn.AccessToken, all.ID, sent.DeliveryID, "the test event fails once", func(d whDelivery) bool { return d.Status == "retrying" })
		var keyDelivery whDelivery
		eventually(t, 10*time.Second, "the api_key.created event is delivered", func() (bool, string) {
			for _, d := range whDeliveries(t, e, tn.AccessToken, all.ID, "") {
				if d.EventType == "api_key.created" {
					keyDelivery = d
					return d.Status == "succeeded", d.Status
				}
			}
			return false, "no delivery"
		})
		for q, want := range map[string][]uuid.UUID{
			"?status=retrying":                            {sent.DeliveryID},
			"?status=succeeded":                           {keyDelivery.ID},
			"?status=failed":                              nil,
			"?event_type=webhook.test":                    {sent.DeliveryID},
			"?event_type=api_key.created":                 {keyDelivery.ID},
			"?event_type=api_key.created&status=retrying": nil,
			"": {keyDelivery.ID, sent.DeliveryID},
		} {
			var ids []string
			for _, d := range whDeliveries(t, e, tn.AccessToken, all.ID, q) {
				if d.WebhookID != all.ID {
					t.Fatalf("GET deliveries%s shows a delivery of %s", q, d.WebhookID)
				}
				ids = append(ids, d.ID.String())
			}
			var wantIDs []string
			for _, id := range want {
				wantIDs = append(wantIDs, id.String())
			}
			if !slices.Equal(sorted(ids), sorted(wantIDs)) {
				t.Errorf("GET deliveries%s: %v, want %v", q, ids, wantIDs)
			}
		}
		for q, field := range map[string]string{"?status=lost": "status", "?event_type=api_key.exploded": "event_type"} {
			wantError(t, do(e, http.MethodGet, whPath(all.ID, "deliveries")+q, tn.AccessToken, nil), http.StatusUnprocessableEntity,
				"VALIDATION_ERROR", "field", field)
		}
		// The disabled endpoint subscribed to everything got nothing.
		if ds := whDeliveries(t, e, tn.AccessToken, every.ID, ""); len(ds) != 0 {
			t.Fatalf("the disabled endpoint has %d deliveries", len(ds))
		}
	}, whQuickRetries)
}

// TestWebhookRequestsThatAreRefused: every malformed body, field and URL
// is refused (400 or 422 naming the field) and stores nothing; another
// tenant's endpoint, a malformed id and another endpoint's delivery are
// 404 over REST and GraphQL; deleting an endpoint drops all of its
// deliveries, pending ones included.
func TestWebhookRequestsThatAreRefused(t *testing.T) {
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		a := register(t, e, "Hooks refused A")
		b := register(t, e, "Hooks refused B")
		rv := newWHReceiver(t, nil)
		ok := rv.URL + "/ok"
		events := []string{"api_key.created"}

		// Malformed bodies and fields, on create.
		r := do(e, http.MethodPost, "/api/v1/webhooks", a.AccessToken, []byte(`{"url": "`+ok+`", "events": [`))
		wantError(t, r, http.StatusBadRequest, "INVALID_REQUEST")
		cases := []struct {
			name  string
			body  map[string]any
			field string
		}{
			{"unknown field", map[string]any{"url": ok, "events": events, "secret": "whsec_bWluZW1pbmVtaW5lbWluZW1pbmVtaW5l"}, "secret"},
			{"url not a string", map[string]any{"url": 5, "events": events}, "url"},
			{"events not a list", map[string]any{"url": ok, "events": "api_key.created"}, "events"},
			{"enabled not a boolean", map[string]any{"url": ok, "events": events, "enabled": "yes"}, "enabled"},
			{"description not a string", map[string]any{"url": ok, "events": events, "description": 7}, "description"},
			{"url missing", map[string]any{"events": events}, "url"},
			{"url blank", map[string]any{"url": "  ", "events": events}, "url"},
			{"events missing", map[string]any{"url": ok}, "events"},
			{"events empty", map[string]any{"url": ok, "events": []string{}}, "events"},
			{"event unknown", map[string]any{"url": ok, "events": []string{"api_key.created", "api_key.exploded"}}, "events"},
			{"every type and another", map[string]any{"url": ok, "events": []string{"*", "api_key.created"}}, "events"},
			{"ftp URL", map[string]any{"url": "ftp://hooks.example.com/in", "events": events}, "url"},
			{"URL with credentials", map[string]any{"url": "https://user:pass@hooks.example.com/in", "events": events}, "url"},
			{"URL with a user", map[string]any{"url": "https://user@hooks.example.com/in", "events": events}, "url"},
			{"relative URL", map[string]any{"url": "/hooks/in", "events": events}, "url"},
			{"URL without a scheme", map[string]any{"url": "hooks.example.com/in", "events": events}, "url"},
			{"URL without a host", map[string]any{"url": "https:///in", "events": events}, "url"},
			{"description too long", map[string]any{"url": ok, "events": events, "description": strings.Repeat("d", 501)}, "description"},
		}
		for _, c := range cases {
			r := do(e, http.MethodPost, "/api/v1/webhooks", a.AccessToken, c.body)
			t.Run("create "+c.name, func(t *testing.T) {
				wantError(t, r, http.StatusUnprocessableEntity, "VALIDATION_ERROR", "field", c.field)
			})
		}
		gqlErr(t, e, a.AccessToken, `mutation { createWebhook(input: {url: "ftp://hooks.example.com/in", events: ["api_key.created"]}) { secret } }`,
			nil, "VALIDATION_ERROR", "field", "url")
		gqlErr(t, e, a.AccessToken, `mutation { createWebhook(input: {url: "https://hooks.example.com/in", events: ["nope"]}) { secret } }`,
			nil, "VALIDATION_ERROR", "field", "events")
		if n, err := e.Store.Client.Webhook.Query().Count(unrestricted()); err != nil || n != 0 {
			t.Fatalf("%d endpoints stored by refused requests (%v)", n, err)
		}
		// 500 characters is the limit, not past it.
		w := whCreate(t, e, a.AccessToken, map[string]any{"url": ok, "events": events, "description": strings.Repeat("d", 500)})

		// The same rules on PATCH, which then changes nothing.
		before, err := e.Store.Client.Webhook.Get(unrestricted(), w.ID)
		if err != nil {
			t.Fatal(err)
		}
		wantError(t, do(e, http.MethodPatch, whPath(w.ID), a.AccessToken, []byte(`{"url": `)), http.StatusBadRequest, "INVALID_REQUEST")
		patches := []struct {
			name  string
			body  map[string]any
			field string
		}{
			{"unknown field", map[string]any{"secret": "x"}, "secret"},
			{"url not a string", map[string]any{"url": true}, "url"},
			{"enabled not a boolean", map[string]any{"enabled": 1}, "enabled"},
			{"events empty", map[string]any{"events": []string{}}, "events"},
			{"event unknown", map[string]any{"events": []string{"user.exploded"}}, "events"},
			{"ftp URL", map[string]any{"url": "ftp://hooks.example.com/in"}, "url"},
			{"URL with credentials", map[string]any{"url": "https://user:pass@hooks.example.com/in"}, "url"},
			{"description too long", map[string]any{"description": strings.Repeat("d", 501)}, "description"},
			{"valid and invalid", map[string]any{"enabled": false, "url": "ftp://x.example.com/"}, "url"},
		}
		for _, c := range patches {
			r := do(e, http.MethodPatch, whPath(w.ID), a.AccessToken, c.body)
			t.Run("patch "+c.name, func(t *testing.T) {
				wantError(t, r, http.StatusUnprocessableEntity, "VALIDATION_ERROR", "field", c.field)
			})
		}
		gqlErr(t, e, a.AccessToken, `mutation($id: ID!) { updateWebhook(id: $id, input: {url: "https://u:p@hooks.example.com/"}) { id } }`,
			map[string]any{"id": w.ID}, "VALIDATION_ERROR", "field", "url")
		after, err := e.Store.Client.Webhook.Get(unrestricted(), w.ID)
		if err != nil {
			t.Fatal(err)
		}
		if after.URL != before.URL || !slices.Equal(after.Events, before.Events) || !after.Enabled || after.Description != before.Description ||
			!after.UpdatedAt.Equal(before.UpdatedAt) {
			t.Fatal("a refused PATCH changed the endpoint")
		}

		// Another tenant's endpoint and delivery, a malformed id, and a
		// delivery of another endpoint are 404, as if they did not exist.
		bw := whCreate(t, e, b.AccessToken, map[string]any{"url": ok, "events": []string{"*"}})
		var bSent whSentTest
		wantOK(t, do(e, http.MethodPost, whPath(bw.ID, "test"), b.AccessToken, nil), http.StatusAccepted, &bSent)
		whAwait(t, e, b.AccessToken, bw.ID, bSent.DeliveryID, "B's test event is delivered", func(d whDelivery) bool { return d.Status == "succeeded" })
		bBefore, err := e.Store.Client.Webhook.Get(unrestricted(), bw.ID)
		if err != nil {
			t.Fatal(err)
		}
		var aSent whSentTest
		wantOK(t, do(e, http.MethodPost, whPath(w.ID, "test"), a.AccessToken, nil), http.StatusAccepted, &aSent)
		whAwait(t, e, a.AccessToken, w.ID, aSent.DeliveryID, "A's test event is delivered", func(d whDelivery) bool { return d.Status == "succeeded" })
		w2 := whCreate(t, e, a.AccessToken, map[string]any{"url": ok + "/2", "events": events})
		notFound := []struct{ method, path string }{
			{http.MethodGet, whPath(bw.ID)},
			{http.MethodPatch, whPath(bw.ID)},
			{http.MethodDelete, whPath(bw.ID)},
			{http.MethodPost, whPath(bw.ID, "rotate-secret")},
			{http.MethodPost, whPath(bw.ID, "test")},
			{http.MethodGet, whPath(bw.ID, "deliveries")},
			{http.MethodPost, whPath(bw.ID, "deliveries", bSent.DeliveryID, "retry")},
			{http.MethodPost, whPath(w.ID, "deliveries", bSent.DeliveryID, "retry")},
			{http.MethodPost, whPath(w2.ID, "deliveries", aSent.DeliveryID, "retry")},
			{http.MethodPost, whPath(w.ID, "deliveries", uuid.New(), "retry")},
			{http.MethodGet, whPath("not-a-uuid")},
			{http.MethodPatch, whPath("not-a-uuid")},
			{http.MethodDelete, whPath("not-a-uuid")},
			{http.MethodPost, whPath("not-a-uuid", "rotate-secret")},
			{http.MethodPost, whPath("not-a-uuid", "test")},
			{http.MethodGet, whPath("not-a-uuid", "deliveries")},
			{http.MethodPost, whPath(w.ID, "deliveries", "not-a-uuid", "retry")},
			{http.MethodGet, whPath(uuid.New())},
		}
		for _, c := range notFound {
			var body any
			if c.method != http.MethodGet && c.method != http.MethodDelete {
				body = map[string]any{}
			}
			if c.method == http.MethodPatch {
				body = map[string]any{"description": "taken over"}
			}
			r := do(e, c.method, c.path, a.AccessToken, body)
			t.Run(c.method+" "+c.path, func(t *testing.T) { wantError(t, r, http.StatusNotFound, "NOT_FOUND") })
		}
		bID := map[string]any{"id": bw.ID}
		for _, q := range []string{
			`query($id: ID!) { webhook(id: $id) { id url } }`,
			`mutation($id: ID!) { updateWebhook(id: $id, input: {description: "taken over"}) { id } }`,
			`mutation($id: ID!) { deleteWebhook(id: $id) }`,
			`mutation($id: ID!) { rotateWebhookSecret(id: $id) { secret } }`,
			`mutation($id: ID!) { testWebhook(id: $id) { eventID } }`,
		} {
			g := gqlDo(e, a.AccessToken, q, bID)
			wantGQLError(t, g, "NOT_FOUND")
			if bytes.Contains(g.Data, []byte(bw.ID.String())) || bytes.Contains(g.Data, []byte(ok)) {
				t.Fatalf("%s shows B's endpoint: %s", q, showGQL(g))
			}
		}
		for _, pair := range [][2]uuid.UUID{{bw.ID, bSent.DeliveryID}, {w.ID, bSent.DeliveryID}, {w2.ID, aSent.DeliveryID}} {
			gqlErr(t, e, a.AccessToken, `mutation($w: ID!, $d: ID!) { retryWebhookDelivery(webhookID: $w, deliveryID: $d) { id } }`,
				map[string]any{"w": pair[0], "d": pair[1]}, "NOT_FOUND")
		}
		var list struct {
			Webhooks struct {
				TotalCount int `json:"totalCount"`
			} `json:"webhooks"`
		}
		gql(t, e, a.AccessToken, `{ webhooks { totalCount } }`, nil, &list)
		if list.Webhooks.TotalCount != 2 {
			t.Fatalf("A counts %d endpoints, want its own 2", list.Webhooks.TotalCount)
		}
		bAfter, err := e.Store.Client.Webhook.Get(unrestricted(), bw.ID)
		if err != nil {
			t.Fatalf("B's endpoint: %v", err)
		}
		if !bAfter.UpdatedAt.Equal(bBefore.UpdatedAt) || !bytes.Equal(bAfter.SecretSealed, bBefore.SecretSealed) || bAfter.Description != "" {
			t.Fatal("tenant A changed tenant B's endpoint")
		}
		if ds := whDeliveries(t, e, b.AccessToken, bw.ID, ""); len(ds) != 1 || ds[0].Attempt != 1 {
			t.Fatalf("B's delivery log: %d deliveries, want its one test attempted once", len(ds))
		}

		// Delete drops every delivery of the endpoint: succeeded, retrying
		// and pending.
		failing := newWHReceiver(t, func(string) int { return http.StatusServiceUnavailable })
		wantOK(t, do(e, http.MethodPatch, whPath(w.ID), a.AccessToken, map[string]any{"url": failing.URL}), http.StatusOK, nil)
		var retrying whSentTest
		wantOK(t, do(e, http.MethodPost, whPath(w.ID, "test"), a.AccessToken, nil), http.StatusAccepted, &retrying)
		whAwait(t, e, a.AccessToken, w.ID, retrying.DeliveryID, "the failing test event waits for its retry", func(d whDelivery) bool { return d.Status == "retrying" })
		pending, err := e.Store.Client.WebhookDelivery.Create().SetTenantID(a.TenantID).SetWebhookID(w.ID).SetEventID(aSent.EventID).
			SetEventType("webhook.test").SetNextAttemptAt(time.Now().Add(time.Hour)).Save(unrestricted())
		if err != nil {
			t.Fatal(err)
		}
		statuses := map[string]int{}
		for _, d := range whDeliveries(t, e, a.AccessToken, w.ID, "") {
			statuses[d.Status]++
		}
		if statuses["succeeded"] != 1 || statuses["retrying"] != 1 || statuses["pending"] != 1 {
			t.Fatalf("before delete the log holds %v, want one succeeded, one retrying, one pending (%s)", statuses, pending.ID)
		}
		wantOK(t, do(e, http.MethodDelete, whPath(w.ID), a.AccessToken, nil), http.StatusOK, nil)
		if n, err := e.Store.Client.WebhookDelivery.Query().Where(webhookdelivery.WebhookID(w.ID)).Count(unrestricted()); err != nil || n != 0 {
			t.Fatalf("%d deliveries of the deleted endpoint remain (%v)", n, err)
		}
		if n, err := e.Store.Client.WebhookDelivery.Query().Where(webhookdelivery.WebhookID(bw.ID)).Count(unrestricted()); err != nil || n != 1 {
			t.Fatalf("B's endpoint has %d deliveries after A deleted its own (%v), want 1", n, err)
		}
	}, whQuickRetries)
}

// TestWebhookScopes: owners and admins hold webhooks:read and
// webhooks:write; members and viewers read but every change is 403
// naming webhooks:write, audited as permission.denied; a key without
// webhooks:read reaches no endpoint, not even through Tenant.webhooks.
func TestWebhookScopes(t *testing.T) {
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		tn := register(t, e, "Hooks scopes")
		rv := newWHReceiver(t, nil)
		admin := tn.user(t, "admin")
		aw := whCreate(t, e, admin.AccessToken, map[string]any{"url": rv.URL + "/admin", "events": []string{"*"}})
		wantOK(t, do(e, http.MethodPatch, whPath(aw.ID), admin.AccessToken, map[string]any{"description": "by the admin"}), http.StatusOK, nil)
		var sent whSentTest
		wantOK(t, do(e, http.MethodPost, whPath(aw.ID, "test"), admin.AccessToken, nil), http.StatusAccepted, &sent)
		whAwait(t, e, admin.AccessToken, aw.ID, sent.DeliveryID, "the admin's test event is delivered", func(d whDelivery) bool { return d.Status == "succeeded" })
		w := whCreate(t, e, tn.AccessToken, map[string]any{"url": rv.URL + "/owner", "events": []string{"user.created"}})
		for who, token := range map[string]string{"owner": tn.AccessToken, "admin": admin.AccessToken} {
			if sc := me(t, e, token).Scopes; !slices.Contains(sc, "webhooks:read") || !slices.Contains(sc, "webhooks:write") {
				t.Fatalf("the %s holds %v, want webhooks:read and webhooks:write", who, sc)
			}
		}

		for _, role := range []string{"member", "viewer"} {
			p := tn.user(t, role)
			if sc := me(t, e, p.AccessToken).Scopes; !slices.Contains(sc, "webhooks:read") || slices.Contains(sc, "webhooks:write") {
				t.Fatalf("a %s holds %v, want webhooks:read without webhooks:write", role, sc)
			}
			// Reads.
			var list []whEndpoint
			listPage(t, e, p.AccessToken, "/api/v1/webhooks", &list)
			if len(list) != 2 {
				t.Fatalf("a %s lists %d endpoints, want 2", role, len(list))
			}
			for _, path := range []string{whPath(w.ID), whPath(aw.ID, "deliveries"), "/api/v1/webhooks/event-types"} {
				wantOK(t, do(e, http.MethodGet, path, p.AccessToken, nil), http.StatusOK, nil)
			}
			gql(t, e, p.AccessToken, `{ webhooks { totalCount } me { tenant { webhooks { totalCount } } } webhookEventTypes { type } }`, nil, nil)

			// Changes.
			refused := []struct {
				method, path string
				body         any
			}{
				{http.MethodPost, "/api/v1/webhooks", map[string]any{"url": rv.URL, "events": []string{"*"}}},
				{http.MethodPatch, whPath(w.ID), map[string]any{"enabled": false}},
				{http.MethodDelete, whPath(w.ID), nil},
				{http.MethodPost, whPath(w.ID, "rotate-secret"), map[string]any{}},
				{http.MethodPost, whPath(w.ID, "test"), nil},
				{http.MethodPost, whPath(aw.ID, "deliveries", sent.DeliveryID, "retry"), nil},
			}
			for _, c := range refused {
				wantError(t, do(e, c.method, c.path, p.AccessToken, c.body), http.StatusForbidden, "FORBIDDEN", "required_scope", "webhooks:write")
			}
			mutations := []string{
				`mutation { createWebhook(input: {url: "https://hooks.example.com/x", events: ["*"]}) { secret } }`,
				`mutation($id: ID!) { updateWebhook(id: $id, input: {enabled: false}) { id } }`,
				`mutation($id: ID!) { deleteWebhook(id: $id) }`,
				`mutation($id: ID!) { rotateWebhookSecret(id: $id) { secret } }`,
				`mutation($id: ID!) { testWebhook(id: $id) { eventID } }`,
			}
			for _, m := range mutations {
				gqlErr(t, e, p.AccessToken, m, map[string]any{"id": w.ID}, "FORBIDDEN", "required_scope", "webhooks:write")
			}
			var denied int
			for _, a := range auditEntries(t, e, tn.TenantID, "permission.denied", "") {
				if a.ActorID == p.UserID.String() && a.ActorType == "user" && a.Outcome == auditlog.OutcomeDenied &&
					fmt.Sprint(a.Details["required_scope"]) == "webhooks:write" {
					denied++
				}
			}
			if want := len(refused) + len(mutations); denied != want {
				t.Fatalf("%d permission.denied entries of the %s for webhooks:write, want %d", denied, role, want)
			}
		}
		row, err := e.Store.Client.Webhook.Get(unrestricted(), w.ID)
		if err != nil || !row.Enabled || !row.UpdatedAt.Equal(w.UpdatedAt) {
			t.Fatalf("refused changes changed the endpoint (%v)", err)
		}
		if n, err := e.Store.Client.Webhook.Query().Where(webhook.TenantID(tn.TenantID)).Count(unrestricted()); err != nil || n != 2 {
			t.Fatalf("%d endpoints after refused creations, want 2 (%v)", n, err)
		}

		// A key without webhooks:read: 403 over REST, FORBIDDEN on the
		// Tenant.webhooks edge with no data.
		keysOnly := tn.key(t, access.APIKeysRead).Key
		for _, path := range []string{"/api/v1/webhooks", whPath(w.ID), "/api/v1/webhooks/event-types", whPath(aw.ID, "deliveries")} {
			wantError(t, do(e, http.MethodGet, path, keysOnly, nil), http.StatusForbidden, "FORBIDDEN", "required_scope", "webhooks:read")
		}
		g := gqlDo(e, keysOnly, `{ me { tenant { webhooks { totalCount } } } }`, nil)
		wantGQLError(t, g, "FORBIDDEN", "required_scope", "webhooks:read")
		for _, er := range g.Errors {
			if last := er.Path[len(er.Path)-1]; last != "webhooks" || er.Extensions["code"] != "FORBIDDEN" {
				t.Fatalf("error at %v (%v), want FORBIDDEN at me.tenant.webhooks", er.Path, er.Extensions["code"])
			}
		}
		if d := strings.TrimSpace(string(g.Data)); d != "null" && d != "" {
			t.Fatalf("a refused Tenant.webhooks still answers data %s", redact(g.Data))
		}
		// With webhooks:read it reads, and still writes nothing.
		reader := tn.key(t, access.WebhooksRead).Key
		var edge struct {
			Me struct {
				Tenant struct {
					Webhooks struct {
						TotalCount int `json:"totalCount"`
					} `json:"webhooks"`
				} `json:"tenant"`
			} `json:"me"`
		}
		gql(t, e, reader, `{ me { tenant { webhooks { totalCount } } } }`, nil, &edge)
		if edge.Me.Tenant.Webhooks.TotalCount != 2 {
			t.Fatalf("a webhooks:read key counts %d endpoints through the tenant, want 2", edge.Me.Tenant.Webhooks.TotalCount)
		}
		wantError(t, do(e, http.MethodPost, "/api/v1/webhooks", reader, map[string]any{"url": rv.URL, "events": []string{"*"}}),
			http.StatusForbidden, "FORBIDDEN", "required_scope", "webhooks:write")
		// A webhooks:write key without webhooks:read creates.
		writer := tn.key(t, access.WebhooksWrite).Key
		whCreate(t, e, writer, map[string]any{"url": rv.URL + "/writer", "events": []string{"*"}})
	}, whQuickRetries)
}

// TestWebhookChangesAreAudited: each change of an endpoint — create,
// update, delete, rotate_secret, test, delivery_retry — is audited in its
// tenant with its actor, resource and request id, and no entry holds a
// secret.
func TestWebhookChangesAreAudited(t *testing.T) {
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		tn := register(t, e, "Hooks audit")
		rv := newWHReceiver(t, nil)
		requests := map[string]string{}
		r := do(e, http.MethodPost, "/api/v1/webhooks", tn.AccessToken, map[string]any{"url": rv.URL + "/a", "events": []string{"user.created"}})
		var w whEndpoint
		wantOK(t, r, http.StatusCreated, &w)
		requests["webhook.create"] = r.Envelope.Meta.RequestID
		r = do(e, http.MethodPatch, whPath(w.ID), tn.AccessToken, map[string]any{"description": "audited", "enabled": true})
		wantOK(t, r, http.StatusOK, nil)
		requests["webhook.update"] = r.Envelope.Meta.RequestID
		r = do(e, http.MethodPost, whPath(w.ID, "rotate-secret"), tn.AccessToken, map[string]any{"grace_period_seconds": 120})
		var rot whEndpoint
		wantOK(t, r, http.StatusOK, &rot)
		requests["webhook.rotate_secret"] = r.Envelope.Meta.RequestID
		r = do(e, http.MethodPost, whPath(w.ID, "test"), tn.AccessToken, nil)
		var sent whSentTest
		wantOK(t, r, http.StatusAccepted, &sent)
		requests["webhook.test"] = r.Envelope.Meta.RequestID
		whAwait(t, e, tn.AccessToken, w.ID, sent.DeliveryID, "the test event is delivered", func(d whDelivery) bool { return d.Status == "succeeded" })
		// The retry and the delete by an API key: the key is the actor.
		key := tn.key(t, access.WebhooksRead, access.WebhooksWrite)
		r = do(e, http.MethodPost, whPath(w.ID, "deliveries", sent.DeliveryID, "retry"), key.Key, nil)
		wantOK(t, r, http.StatusAccepted, nil)
		requests["webhook.delivery_retry"] = r.Envelope.Meta.RequestID
		whAwait(t, e, tn.AccessToken, w.ID, sent.DeliveryID, "the retry is attempted", func(d whDelivery) bool { return d.Status == "succeeded" && d.Attempt == 2 })
		r = do(e, http.MethodDelete, whPath(w.ID), key.Key, nil)
		wantOK(t, r, http.StatusOK, nil)
		requests["webhook.delete"] = r.Envelope.Meta.RequestID

		wantDetails := map[string]func(map[string]any) bool{
			"webhook.create": func(d map[string]any) bool {
				return d["url"] == rv.URL+"/a" && fmt.Sprint(d["events"]) == "[user.created]" && d["enabled"] == true
			},
			"webhook.update":        func(d map[string]any) bool { return fmt.Sprint(d["fields"]) == "[description enabled]" },
			"webhook.rotate_secret": func(d map[string]any) bool { return fmt.Sprint(d["grace_period_seconds"]) == "120" },
			"webhook.test":          func(d map[string]any) bool { return d["event_id"] == sent.EventID.String() },
			"webhook.delivery_retry": func(d map[string]any) bool {
				return d["delivery_id"] == sent.DeliveryID.String() && d["event_id"] == sent.EventID.String()
			},
			"webhook.delete": func(d map[string]any) bool { return d["url"] == rv.URL+"/a" },
		}
		for action, reqID := range requests {
			a := oneAudit(t, e, tn.TenantID, action, auditlog.OutcomeSuccess, w.ID.String())
			actorType, actorID := "user", tn.UserID.String()
			if action == "webhook.delivery_retry" || action == "webhook.delete" {
				actorType, actorID = "api_key", key.ID.String()
			}
			if a.ResourceType != "webhook" || a.ActorType != actorType || a.ActorID != actorID || a.RequestID != reqID {
				t.Errorf("%s: resource %s actor %s %s request %s, want webhook, %s %s, %s", action, a.ResourceType, a.ActorType, a.ActorID,
					a.RequestID, actorType, actorID, reqID)
			}
			if !wantDetails[action](a.Details) {
				t.Errorf("%s: details %v", action, a.Details)
			}
			raw, _ := json.Marshal(a.Details)
			whNoSecret(t, action+" details", raw, w.Secret, rot.Secret)
		}
		var needles []string
		for _, s := range []string{w.Secret, rot.Secret} {
			needles = append(needles, s, strings.TrimPrefix(s, "whsec_"))
		}
		if found, _ := scanDB(t, e, needles, "audit_logs"); len(found) > 0 {
			t.Fatal("an audit entry holds a webhook secret")
		}
	}, whQuickRetries)
}
