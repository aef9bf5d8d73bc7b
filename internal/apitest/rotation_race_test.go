package apitest_test

// Secret rotations of one API key, OAuth client or webhook requested at
// once leave what a sequence of them would: the secret of the last one
// and, within the grace period, the one before it, each handed out by a
// rotation that answered 200. On PostgreSQL the client's and the webhook's
// rotations each read the same secret and the last write won, its
// "previous" the secret they all replaced: the second-to-last caller's
// secret, handed out as working through its grace, never worked. A
// rotation that finds its secret rotated meanwhile is now a 409, as a key's
// always was.

import (
	"net/http"
	"testing"

	"github.com/google/uuid"

	"github.com/credvault/credvault/internal/apitest"
)

// rotatedAtOnce fires n rotations at path with a grace period and returns
// the secrets of those answering 200 (under field); the rest must be 409.
func rotatedAtOnce(t *testing.T, e *apitest.Env, cred, path, field string, n int) []string {
	t.Helper()
	var secrets []string
	for _, r := range atOnce(n, func(int) *apitest.Response {
		return do(e, http.MethodPost, path, cred, map[string]any{"grace_period_seconds": 3600})
	}) {
		if r.Status == http.StatusConflict {
			wantError(t, r, http.StatusConflict, "CONFLICT")
			continue
		}
		var out map[string]any
		wantOK(t, r, http.StatusOK, &out)
		s, _ := out[field].(string)
		if s == "" {
			t.Fatalf("a rotation answered no %s", field)
		}
		secrets = append(secrets, s)
	}
	if len(secrets) == 0 {
		t.Fatal("every rotation answered 409")
	}
	return secrets
}

// wantSequence fails unless exactly min(2, handed out) of the secrets work.
func wantSequence(t *testing.T, what string, secrets []string, works func(string) bool) {
	t.Helper()
	n := 0
	for _, s := range secrets {
		if works(s) {
			n++
		}
	}
	if want := min(2, len(secrets)); n != want {
		t.Fatalf("%s: %d of the %d secrets handed out work, want %d (the last and, in its grace, the one before)",
			what, n, len(secrets), want)
	}
}

func TestSecretRotationsAtOnce(t *testing.T) {
	t.Parallel()
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		tn := register(t, e, "Rotations At Once")
		const n, rounds = 6, 4
		t.Run("API key", func(t *testing.T) {
			for range rounds {
				k := newKey(t, e, tn.AccessToken, "users:read")
				keys := rotatedAtOnce(t, e, tn.AccessToken, "/api/v1/api-keys/"+k.ID.String()+"/rotate", "key", n)
				wantSequence(t, "API key", keys, func(s string) bool {
					return do(e, http.MethodGet, "/api/v1/auth/me", s, nil).Status == http.StatusOK
				})
			}
		})
		t.Run("OAuth client", func(t *testing.T) {
			for range rounds {
				c := createClient(t, e, tn.AccessToken, map[string]any{"name": "c " + randTag(), "scopes": []string{"users:read"}})
				secrets := rotatedAtOnce(t, e, tn.AccessToken, "/api/v1/oauth-clients/"+c.ClientID+"/rotate-secret", "client_secret", n)
				wantSequence(t, "OAuth client", secrets, func(s string) bool {
					return clientCredentials(e, c.ClientID, s, "").Status == http.StatusOK
				})
			}
		})
		t.Run("webhook", func(t *testing.T) {
			recv := newDEKHookReceiver(t)
			for range rounds {
				var h sealedHookJSON
				path := "/" + randTag()
				wantOK(t, do(e, http.MethodPost, "/api/v1/webhooks", tn.AccessToken,
					map[string]any{"url": recv.URL + path, "events": []string{"*"}}), http.StatusCreated, &h)
				secrets := rotatedAtOnce(t, e, tn.AccessToken, "/api/v1/webhooks/"+h.ID.String()+"/rotate-secret", "secret", n)
				var sent struct {
					EventID uuid.UUID `json:"event_id"`
				}
				wantOK(t, do(e, http.MethodPost, "/api/v1/webhooks/"+h.ID.String()+"/test", tn.AccessToken, nil), http.StatusAccepted, &sent)
				g, _ := recv.await(t, path, "webhook.test")
				wantSequence(t, "webhook", secrets, func(s string) bool {
					ok, _ := standardSignatures(t, s, g)
					return ok
				})
			}
		})
	})
}
