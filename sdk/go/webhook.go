package credvault

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// WebhookTolerance is how far a webhook's timestamp may be from now.
const WebhookTolerance = 5 * time.Minute

// Errors of VerifyWebhook.
var (
	ErrWebhookHeaders   = errors.New("credvault: webhook: missing webhook-id, webhook-timestamp or webhook-signature")
	ErrWebhookTimestamp = errors.New("credvault: webhook: timestamp outside the tolerance")
	ErrWebhookSignature = errors.New("credvault: webhook: no valid signature")
	ErrWebhookSecret    = errors.New("credvault: webhook: the secret is not whsec_ and base64")
)

// WebhookEvent is the body of a webhook request.
type WebhookEvent struct {
	// Type is the event type, such as api_key.revoked (Event repeats it).
	Type      string          `json:"type"`
	Event     string          `json:"event"`
	Timestamp time.Time       `json:"timestamp"`
	TenantID  string          `json:"tenant_id"`
	Data      json.RawMessage `json:"data"`
}

// VerifyWebhook checks a webhook request the Standard Webhooks way: one of
// the webhook-signature header's v1 signatures must be the base64
// HMAC-SHA256 of "{webhook-id}.{webhook-timestamp}.{body}" keyed with the
// secret (whsec_…, as the endpoint's creation or rotation showed it), and
// the timestamp within WebhookTolerance of now. body is the raw request
// body, unparsed.
func VerifyWebhook(secret string, body []byte, headers http.Header) error {
	return verifyWebhookAt(secret, body, headers, time.Now())
}

// ParseWebhook verifies a webhook request as VerifyWebhook does and decodes its body.
func ParseWebhook(secret string, body []byte, headers http.Header) (*WebhookEvent, error) {
	if err := VerifyWebhook(secret, body, headers); err != nil {
		return nil, err
	}
	ev := new(WebhookEvent)
	if err := json.Unmarshal(body, ev); err != nil {
		return nil, err
	}
	return ev, nil
}

func verifyWebhookAt(secret string, body []byte, headers http.Header, now time.Time) error {
	id, ts, sigs := headers.Get("webhook-id"), headers.Get("webhook-timestamp"), headers.Get("webhook-signature")
	if id == "" || ts == "" || sigs == "" {
		return ErrWebhookHeaders
	}
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil || len(key) == 0 {
		return ErrWebhookSecret
	}
	sec, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return ErrWebhookTimestamp
	}
	if d := now.Sub(time.Unix(sec, 0)); d > WebhookTolerance || d < -WebhookTolerance {
		return ErrWebhookTimestamp
	}
	mac := hmac.New(sha256.New, key)
	mac.Write([]byte(id + "." + ts + "."))
	mac.Write(body)
	want := mac.Sum(nil)
	for _, sig := range strings.Fields(sigs) {
		version, value, ok := strings.Cut(sig, ",")
		if !ok || version != "v1" {
			continue
		}
		got, err := base64.StdEncoding.DecodeString(value)
		if err == nil && hmac.Equal(got, want) {
			return nil
		}
	}
	return ErrWebhookSignature
}
