package apitest_test

// The SSRF guard of SPEC §11 through the API: in production an endpoint
// must be https and resolve to public addresses only, checked when it is
// saved and again when a delivery connects (DNS rebinding); development
// allows local receivers. internal/webhooks/ssrf_test.go tests the guard's
// address classes on their own.

import (
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/credvault/credvault/internal/apitest"
	"github.com/credvault/credvault/internal/platform/config"
)

// whProduction is CREDVAULT_ENV=production with its webhook defaults (https
// only, no private addresses), short attempts and retries an hour apart.
func whProduction(c *config.Config) {
	c.Env = "production"
	c.WebhookAllowPrivate = false
	c.WebhookTimeout = 2 * time.Second
	c.WebhookRetrySchedule = []time.Duration{time.Hour}
}

// whPublicURL is an endpoint production accepts without a DNS look-up: a
// public address, never dialled by these tests.
const whPublicURL = "https://1.1.1.1/credvault-hooks"

// whInternalURLs are https URLs whose host is a loopback, private,
// link-local, unique-local, unspecified or multicast address, or a name
// that resolves to one.
var whInternalURLs = []string{
	"https://127.0.0.1/hook",
	"https://localhost/hook",
	"https://localhost:8443/hook",
	"https://10.0.0.1/hook",
	"https://172.16.0.1/hook",
	"https://192.168.1.1/hook",
	"https://169.254.169.254/latest/meta-data/",
	"https://[::1]/hook",
	"https://[fd00::1]/hook",
	"https://[fe80::1]/hook",
	"https://[::ffff:127.0.0.1]/hook",
	"https://0.0.0.0/hook",
	"https://224.0.0.1/hook",
	"https://100.64.0.1/hook",
}

// TestWebhookProductionRefusesPlainHTTPAndInternalAddresses: in
// production, creating or updating an endpoint with an http URL, or one
// whose host is or resolves to an internal address, is 422 naming url over
// REST and GraphQL, and stores nothing.
func TestWebhookProductionRefusesPlainHTTPAndInternalAddresses(t *testing.T) {
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		if e.Config.WebhookAllowPrivate || !e.Config.Production() {
			t.Fatal("the server is not in production mode")
		}
		tn := register(t, e, "Hooks production")
		w := whCreate(t, e, tn.AccessToken, map[string]any{"url": whPublicURL, "events": []string{"*"}})
		before, err := e.Store.Client.Webhook.Get(unrestricted(), w.ID)
		if err != nil {
			t.Fatal(err)
		}

		refused := append([]string{"http://1.1.1.1/credvault-hooks", "http://hooks.example.com/in"}, whInternalURLs...)
		for _, u := range refused {
			t.Run(u, func(t *testing.T) {
				r := do(e, http.MethodPost, "/api/v1/webhooks", tn.AccessToken, map[string]any{"url": u, "events": []string{"*"}})
				wantError(t, r, http.StatusUnprocessableEntity, "VALIDATION_ERROR", "field", "url")
				if strings.HasPrefix(u, "http:") {
					wantError(t, r, http.StatusUnprocessableEntity, "VALIDATION_ERROR", "reason", "must be https")
				}
				wantError(t, do(e, http.MethodPatch, whPath(w.ID), tn.AccessToken, map[string]any{"url": u}),
					http.StatusUnprocessableEntity, "VALIDATION_ERROR", "field", "url")
				gqlErr(t, e, tn.AccessToken, `mutation($u: String!) { createWebhook(input: {url: $u, events: ["*"]}) { secret } }`,
					map[string]any{"u": u}, "VALIDATION_ERROR", "field", "url")
				gqlErr(t, e, tn.AccessToken, `mutation($id: ID!, $u: String!) { updateWebhook(id: $id, input: {url: $u}) { id } }`,
					map[string]any{"id": w.ID, "u": u}, "VALIDATION_ERROR", "field", "url")
			})
		}
		if n, err := e.Store.Client.Webhook.Query().Count(unrestricted()); err != nil || n != 1 {
			t.Fatalf("%d endpoints after refused creations, want 1 (%v)", n, err)
		}
		after, err := e.Store.Client.Webhook.Get(unrestricted(), w.ID)
		if err != nil || after.URL != before.URL || !after.UpdatedAt.Equal(before.UpdatedAt) {
			t.Fatalf("refused updates changed the endpoint's URL to %q (%v)", after.URL, err)
		}
		// A public https URL is accepted on update too.
		wantOK(t, do(e, http.MethodPatch, whPath(w.ID), tn.AccessToken, map[string]any{"url": "https://8.8.8.8/in"}), http.StatusOK, nil)
	}, whProduction)
}

// TestWebhookConnectTimeCheckRefusesInternalAddresses: an endpoint whose
// name resolves to an internal address by the time a delivery connects (DNS
// rebinding; here its URL is changed in the database behind the guard's
// back) is never reached: the connection is refused before it is made and
// the delivery records why.
func TestWebhookConnectTimeCheckRefusesInternalAddresses(t *testing.T) {
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		var conns, hits atomic.Int64
		recv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			hits.Add(1)
			w.WriteHeader(http.StatusNoContent)
		}))
		recv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
			if s == http.StateNew {
				conns.Add(1)
			}
		}
		recv.StartTLS()
		t.Cleanup(recv.Close)
		u, err := url.Parse(recv.URL)
		if err != nil {
			t.Fatal(err)
		}
		rebound := "https://localhost:" + u.Port() + "/hook"

		tn := register(t, e, "Hooks rebinding")
		// The guard refuses that URL when it is saved…
		wantError(t, do(e, http.MethodPost, "/api/v1/webhooks", tn.AccessToken, map[string]any{"url": rebound, "events": []string{"*"}}),
			http.StatusUnprocessableEntity, "VALIDATION_ERROR", "field", "url")
		// …so a public endpoint is saved, and its host then "resolves" to
		// the loopback receiver.
		w := whCreate(t, e, tn.AccessToken, map[string]any{"url": whPublicURL, "events": []string{"api_key.created"}})
		if err := e.Store.Client.Webhook.UpdateOneID(w.ID).SetURL(rebound).Exec(unrestricted()); err != nil {
			t.Fatal(err)
		}
		tn.key(t, "api_keys:read")

		var d whDelivery
		eventually(t, 10*time.Second, "the api_key.created delivery is attempted", func() (bool, string) {
			for _, x := range whDeliveries(t, e, tn.AccessToken, w.ID, "") {
				if x.EventType == "api_key.created" {
					d = x
					return x.Attempt >= 1, x.Status
				}
			}
			return false, "no delivery"
		})
		if d.Status != "retrying" || d.ResponseStatus != nil || d.Error == nil || !strings.Contains(*d.Error, "refused") ||
			!strings.Contains(*d.Error, "internal address") {
			t.Fatalf("delivery %s attempt %d response %v error %v: want retrying, no answer, the address refused", d.Status, d.Attempt, d.ResponseStatus, d.Error)
		}
		if strings.Contains(*d.Error, u.Port()) || strings.Contains(*d.Error, "localhost") {
			t.Fatalf("the delivery error %q names the endpoint", *d.Error)
		}
		if n, h := conns.Load(), hits.Load(); n != 0 || h != 0 {
			t.Fatalf("the internal receiver saw %d connections and %d requests, want none", n, h)
		}
	}, whProduction)
}

// TestWebhookDevelopmentAllowsLocalReceivers: in development (the default
// configuration) http and loopback or private addresses are allowed, so a
// receiver on 127.0.0.1 or localhost gets its events — which every other
// webhook test relies on.
func TestWebhookDevelopmentAllowsLocalReceivers(t *testing.T) {
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		if !e.Config.WebhookAllowPrivate || e.Config.Production() {
			t.Fatalf("development: allow private %v, production %v", e.Config.WebhookAllowPrivate, e.Config.Production())
		}
		tn := register(t, e, "Hooks development")
		rv := newWHReceiver(t, nil)
		u, err := url.Parse(rv.URL)
		if err != nil {
			t.Fatal(err)
		}
		for _, target := range []string{rv.URL + "/ip", "http://localhost:" + u.Port() + "/name"} {
			w := whCreate(t, e, tn.AccessToken, map[string]any{"url": target, "events": []string{"webhook.test"}})
			var sent whSentTest
			wantOK(t, do(e, http.MethodPost, whPath(w.ID, "test"), tn.AccessToken, nil), http.StatusAccepted, &sent)
			d := whAwait(t, e, tn.AccessToken, w.ID, sent.DeliveryID, target+" receives the test event", func(d whDelivery) bool { return d.Status == "succeeded" })
			if d.ResponseStatus == nil || *d.ResponseStatus != http.StatusNoContent {
				t.Fatalf("%s answered %v", target, d.ResponseStatus)
			}
		}
		if got := rv.received(); len(got) != 2 {
			t.Fatalf("the receiver got %d requests, want 2", len(got))
		}
		for _, target := range []string{"http://10.0.0.1/in", "https://192.168.1.1/in", "http://[::1]:9/in"} {
			whCreate(t, e, tn.AccessToken, map[string]any{"url": target, "events": []string{"user.deleted"}, "enabled": false})
		}
	}, whQuickRetries)
}
