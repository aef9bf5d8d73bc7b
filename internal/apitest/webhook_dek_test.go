package apitest_test

// Webhook secrets and the DEK rotation: an endpoint's signing secret is
// sealed under the tenant's DEK, so the rotation job re-seals it under the
// new one before the old DEK is destroyed, and deliveries go on being signed
// with the secret the endpoint's owner was shown.

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/credvault/credvault/ent/datakey"
	"github.com/credvault/credvault/ent/webhookdelivery"
	"github.com/credvault/credvault/internal/apitest"
)

// sealedHookJSON is an endpoint as create and rotate-secret show it, with
// its secret. Never format one into a message.
type sealedHookJSON struct {
	ID     uuid.UUID `json:"id"`
	Secret string    `json:"secret"`
}

// dekHookRequest is one request a receiver got.
type dekHookRequest struct {
	path   string
	header http.Header
	body   []byte
}

// dekHookReceiver is an endpoint answering 204 that keeps what it gets.
type dekHookReceiver struct {
	*httptest.Server
	mu  sync.Mutex
	got []dekHookRequest
}

func newDEKHookReceiver(t *testing.T) *dekHookReceiver {
	t.Helper()
	r := &dekHookReceiver{}
	r.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		r.got = append(r.got, dekHookRequest{path: req.URL.Path, header: req.Header.Clone(), body: body})
		r.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(r.Close)
	return r
}

// await waits for a request to path whose body has type typ and returns
// it with its body decoded.
func (r *dekHookReceiver) await(t *testing.T, path, typ string) (dekHookRequest, map[string]any) {
	t.Helper()
	var found dekHookRequest
	var body map[string]any
	eventually(t, 10*time.Second, "a "+typ+" delivery to "+path, func() (bool, string) {
		r.mu.Lock()
		defer r.mu.Unlock()
		for _, g := range r.got {
			var b map[string]any
			if g.path == path && json.Unmarshal(g.body, &b) == nil && b["type"] == typ {
				found, body = g, b
				return true, ""
			}
		}
		return false, fmt.Sprintf("%d requests received", len(r.got))
	})
	return found, body
}

// standardSignatures computes, from the Standard Webhooks specification and
// nothing of the server's, the signature secret gives the request, and
// reports whether its webhook-signature header carries it and how many
// signatures that header carries.
func standardSignatures(t *testing.T, secret string, g dekHookRequest) (carries bool, count int) {
	t.Helper()
	id, ts := g.header.Get("webhook-id"), g.header.Get("webhook-timestamp")
	if _, err := uuid.Parse(id); err != nil {
		t.Fatalf("webhook-id %q is not an event id", id)
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil || time.Since(time.Unix(sec, 0)).Abs() > 5*time.Minute {
		t.Fatalf("webhook-timestamp %q is not the Unix time of now", ts)
	}
	if !strings.HasPrefix(secret, "whsec_") {
		t.Fatalf("the secret does not start with whsec_")
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		t.Fatalf("the part of the secret after whsec_ is not base64: %v", err)
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + ts + "."))
	mac.Write(g.body)
	want := "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
	sigs := strings.Fields(g.header.Get("webhook-signature"))
	for _, s := range sigs {
		if !strings.HasPrefix(s, "v1,") {
			t.Fatalf("webhook-signature holds %q…, not a v1 signature", s[:min(3, len(s))])
		}
		if hmac.Equal([]byte(s), []byte(want)) {
			carries = true
		}
	}
	return carries, len(sigs)
}

// seed003Signs reports whether X-Signature is the lowercase hex
// HMAC-SHA256 of the body keyed with secret as shown.
func seed003Signs(secret string, g dekHookRequest) bool {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(g.body)
	return g.header.Get("X-Signature") == hex.EncodeToString(mac.Sum(nil))
}

// TestDEKRotationResealsWebhookSecrets shows that a DEK rotation re-seals
// every endpoint secret of the tenant, the current and, within a rotation's
// grace, the previous one, under the new DEK, destroys the old DEK, and that
// deliveries afterwards still verify with the secrets shown when the
// endpoints were created; the dek.rotation_completed event reaches the
// endpoint subscribed to it, naming the new version, and no other.
func TestDEKRotationResealsWebhookSecrets(t *testing.T) {
	t.Parallel()
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		recv := newDEKHookReceiver(t)
		tn := register(t, e, "Reseal")
		create := func(path string, events ...string) sealedHookJSON {
			var h sealedHookJSON
			wantOK(t, do(e, http.MethodPost, "/api/v1/webhooks", tn.AccessToken,
				map[string]any{"url": recv.URL + path, "events": events}), http.StatusCreated, &h)
			if h.ID == uuid.Nil || h.Secret == "" {
				t.Fatal("create webhook: no id or secret in the answer")
			}
			return h
		}
		// One endpoint hears of rotations; the other of credentials, and
		// holds two secrets: its first, within a grace period, and the one
		// that replaced it.
		rotations := create("/rotations", "dek.rotation_completed")
		creds := create("/credentials", "credential.created")
		var rotated sealedHookJSON
		wantOK(t, do(e, http.MethodPost, "/api/v1/webhooks/"+creds.ID.String()+"/rotate-secret", tn.AccessToken,
			map[string]any{"grace_period_seconds": 3600}), http.StatusOK, &rotated)
		if rotated.ID != creds.ID || rotated.Secret == "" || rotated.Secret == creds.Secret {
			t.Fatal("rotate-secret: not the same endpoint with a new secret")
		}

		cred := storeCred(t, e, tn.AccessToken, map[string]any{"integration_id": "reseal-" + randTag(),
			"auth_type": "api_key", "data": secretData("api_key", randTag(), true)})
		before := map[uuid.UUID][]byte{}
		for _, id := range []uuid.UUID{rotations.ID, creds.ID} {
			row, err := e.Store.Client.Webhook.Get(unrestricted(), id)
			if err != nil {
				t.Fatal(err)
			}
			if row.DekVersion != 1 {
				t.Fatalf("endpoint %s sealed under DEK v%d before the rotation, want v1", id, row.DekVersion)
			}
			before[id] = row.SecretSealed
		}
		if cr := credRow(t, e, cred.ID); cr.DekVersion != 1 {
			t.Fatalf("the credential is on DEK v%d, want v1", cr.DekVersion)
		}
		// Delivered before the rotation: signed with both of its secrets.
		g, _ := recv.await(t, "/credentials", "credential.created")
		for name, sec := range map[string]string{"the first secret": creds.Secret, "the new secret": rotated.Secret} {
			if ok, n := standardSignatures(t, sec, g); !ok || n != 2 {
				t.Fatalf("credential.created before the rotation: %d signatures, %s's among them: %v", n, name, ok)
			}
		}

		rot := rotateDEK(t, e, tn.AccessToken, map[string]any{})
		if rot.DEKVersion != 2 {
			t.Fatalf("rotation answered dek_version %d, want 2", rot.DEKVersion)
		}
		waitJob(t, e, rot.JobID, 30*time.Second)

		// Both endpoints' secrets are sealed anew under v2, the previous
		// secret too, and v1, used by nothing, is destroyed.
		for _, id := range []uuid.UUID{rotations.ID, creds.ID} {
			row, err := e.Store.Client.Webhook.Get(unrestricted(), id)
			if err != nil {
				t.Fatal(err)
			}
			if row.DekVersion != 2 {
				t.Fatalf("endpoint %s is on DEK v%d after the rotation, want v2", id, row.DekVersion)
			}
			if bytes.Equal(row.SecretSealed, before[id]) {
				t.Fatalf("endpoint %s: the sealed secret did not change", id)
			}
			// ent reads a NULL column of bytes as a pointer to no bytes.
			previous := row.PreviousSecretSealed != nil && len(*row.PreviousSecretSealed) > 0
			if previous != (id == creds.ID) {
				t.Fatalf("endpoint %s: a previous secret sealed: %v", id, previous)
			}
		}
		if cr := credRow(t, e, cred.ID); cr.DekVersion != 2 {
			t.Fatalf("the credential is on DEK v%d after the rotation, want v2", cr.DekVersion)
		}
		wantDEKs(t, e, tn.TenantID, map[int]datakey.Status{1: datakey.StatusDestroyed, 2: datakey.StatusActive})

		// The rotation's event reaches the endpoint subscribed to it,
		// signed with the secret shown at its creation, naming v2 and the job.
		g, body := recv.await(t, "/rotations", "dek.rotation_completed")
		if ok, n := standardSignatures(t, rotations.Secret, g); !ok || n != 1 {
			t.Fatalf("dek.rotation_completed: %d signatures, the original secret's among them: %v", n, ok)
		}
		if !seed003Signs(rotations.Secret, g) {
			t.Fatal("dek.rotation_completed: X-Signature is not the HMAC of the body keyed with the original secret")
		}
		data, _ := body["data"].(map[string]any)
		if body["event"] != "dek.rotation_completed" || body["tenant_id"] != tn.TenantID.String() ||
			data["dek_version"] != float64(2) || data["tenant_id"] != tn.TenantID.String() || data["job_id"] != rot.JobID.String() {
			t.Fatalf("dek.rotation_completed body: %s", redact(g.body))
		}
		n, err := e.Store.Client.WebhookDelivery.Query().Where(webhookdelivery.WebhookID(creds.ID),
			webhookdelivery.EventType("dek.rotation_completed")).Count(unrestricted())
		if err != nil || n != 0 {
			t.Fatalf("%d dek.rotation_completed deliveries (%v) to the endpoint not subscribed to it", n, err)
		}

		// Test events sent now still verify with the secrets shown before.
		for _, h := range []struct {
			hook    sealedHookJSON
			path    string
			secrets map[string]string
			x       string
		}{
			{rotations, "/rotations", map[string]string{"its secret": rotations.Secret}, rotations.Secret},
			{creds, "/credentials", map[string]string{"its first secret": creds.Secret, "its new secret": rotated.Secret}, rotated.Secret},
		} {
			wantOK(t, do(e, http.MethodPost, "/api/v1/webhooks/"+h.hook.ID.String()+"/test", tn.AccessToken, nil), http.StatusAccepted, nil)
			g, _ := recv.await(t, h.path, "webhook.test")
			for name, sec := range h.secrets {
				if ok, n := standardSignatures(t, sec, g); !ok || n != len(h.secrets) {
					t.Fatalf("webhook.test to %s after the rotation: %d signatures, %s's among them: %v", h.path, n, name, ok)
				}
			}
			if !seed003Signs(h.x, g) {
				t.Fatalf("webhook.test to %s after the rotation: X-Signature is not keyed with the current secret", h.path)
			}
		}
	})
}
