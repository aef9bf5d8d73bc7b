package apitest_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/credvault/credvault/internal/apitest"
)

func TestWebhookSmoke(t *testing.T) {
	apitest.Each(t, func(t *testing.T, e *apitest.Env) {
		got := make(chan http.Header, 10)
		bodies := make(chan string, 10)
		recv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			b, _ := io.ReadAll(r.Body)
			got <- r.Header.Clone()
			bodies <- string(b)
		}))
		defer recv.Close()
		tn := register(t, e, "Hooks")
		var hook map[string]any
		wantOK(t, do(e, http.MethodPost, "/api/v1/webhooks", tn.AccessToken, map[string]any{"url": recv.URL, "events": []string{"*"}}), http.StatusCreated, &hook)
		t.Logf("hook %v", hook["id"])
		tn.key(t, "api_keys:read")
		select {
		case h := <-got:
			t.Logf("headers %v body %s", h, <-bodies)
		case <-time.After(5 * time.Second):
			t.Fatal("no delivery")
		}
		r := do(e, http.MethodGet, "/api/v1/webhooks/"+hook["id"].(string)+"/deliveries", tn.AccessToken, nil)
		t.Logf("%s", r.Body)
		r = do(e, http.MethodPost, "/api/v1/webhooks/"+hook["id"].(string)+"/test", tn.AccessToken, nil)
		t.Logf("%d %s", r.Status, r.Body)
		g := gqlDo(e, tn.AccessToken, `{ webhooks { edges { node { id url events enabled deliveries(first: 5) { totalCount edges { node { eventType status attempt attempts { attempt responseStatus durationMS } } } } } } } webhookEventTypes { type } }`, nil)
		t.Logf("%s", showGQL(g))
	})
}
