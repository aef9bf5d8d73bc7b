package webhooks

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// SecretPrefix starts every endpoint secret, as the Standard Webhooks
// specification writes them: whsec_ and the base64 of the key.
const SecretPrefix = "whsec_"

// secretBytes is the key size: the specification asks for 24 to 64 bytes.
const secretBytes = 32

// newSecret returns a new endpoint secret, shown once.
func newSecret() (string, error) {
	b := make([]byte, secretBytes)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("webhooks: secret: %w", err)
	}
	return SecretPrefix + base64.StdEncoding.EncodeToString(b), nil
}

// signature is the Standard Webhooks signature of one message: v1, then the
// base64 HMAC-SHA256, keyed with the decoded secret, of
// "{webhook-id}.{webhook-timestamp}.{body}".
func signature(secret, id string, ts int64, body []byte) (string, error) {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, SecretPrefix))
	if err != nil {
		return "", fmt.Errorf("webhooks: malformed secret")
	}
	mac := hmac.New(sha256.New, key)
	fmt.Fprintf(mac, "%s.%d.", id, ts)
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil)), nil
}

// seed003Signature is seed 003's X-Signature: the lowercase hex
// HMAC-SHA256 of the body keyed with the secret string as shown.
func seed003Signature(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return hex.EncodeToString(mac.Sum(nil))
}

// sign sets the headers of one attempt: webhook-id, webhook-timestamp,
// webhook-signature (one signature per secret: two during a rotation's
// grace period) and X-Signature with the current secret.
func sign(h http.Header, id string, at time.Time, body []byte, secrets ...string) error {
	ts := at.Unix()
	sigs := make([]string, 0, len(secrets))
	for _, s := range secrets {
		sig, err := signature(s, id, ts, body)
		if err != nil {
			return err
		}
		sigs = append(sigs, sig)
	}
	h.Set("webhook-id", id)
	h.Set("webhook-timestamp", strconv.FormatInt(ts, 10))
	h.Set("webhook-signature", strings.Join(sigs, " "))
	h.Set("X-Signature", seed003Signature(secrets[0], body))
	return nil
}
