package credvault

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"testing"
	"time"
)

func sign(secret, id string, ts int64, body []byte) string {
	key, _ := base64.StdEncoding.DecodeString(secret[len("whsec_"):])
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + strconv.FormatInt(ts, 10) + "."))
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

func TestVerifyWebhook(t *testing.T) {
	secret := "whsec_" + base64.StdEncoding.EncodeToString([]byte("0123456789abcdef0123456789abcdef"))
	other := "whsec_" + base64.StdEncoding.EncodeToString([]byte("another secret of 24 bytes"))
	body := []byte(`{"type":"webhook.test","event":"webhook.test","timestamp":"2026-01-01T00:00:00Z","tenant_id":"t","data":{}}`)
	now := time.Now()
	h := func(sig string, ts int64) http.Header {
		return http.Header{"Webhook-Id": {"msg_1"}, "Webhook-Timestamp": {strconv.FormatInt(ts, 10)}, "Webhook-Signature": {sig}}
	}
	good := sign(secret, "msg_1", now.Unix(), body)
	if err := VerifyWebhook(secret, body, h(good, now.Unix())); err != nil {
		t.Fatal(err)
	}
	// Two signatures during a rotation's grace: either secret verifies.
	both := sign(other, "msg_1", now.Unix(), body) + " " + good
	if err := VerifyWebhook(secret, body, h(both, now.Unix())); err != nil {
		t.Fatal(err)
	}
	if err := VerifyWebhook(other, body, h(both, now.Unix())); err != nil {
		t.Fatal(err)
	}
	if ev, err := ParseWebhook(secret, body, h(good, now.Unix())); err != nil || ev.Type != "webhook.test" {
		t.Fatalf("ParseWebhook = %+v, %v", ev, err)
	}
	for name, tc := range map[string]struct {
		body []byte
		h    http.Header
		want error
	}{
		"tampered":  {append(body, ' '), h(good, now.Unix()), ErrWebhookSignature},
		"other key": {body, h(sign(other, "msg_1", now.Unix(), body), now.Unix()), ErrWebhookSignature},
		"old":       {body, h(sign(secret, "msg_1", now.Add(-time.Hour).Unix(), body), now.Add(-time.Hour).Unix()), ErrWebhookTimestamp},
		"missing":   {body, http.Header{}, ErrWebhookHeaders},
	} {
		if err := VerifyWebhook(secret, tc.body, tc.h); !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", name, err, tc.want)
		}
	}
}
