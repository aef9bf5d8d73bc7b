package crypt_test

// An SSO client secret's seal is bound to its tenant, configuration and DEK
// version, and is a domain of its own: a webhook or credential ciphertext
// of the same ids does not open as one, nor the reverse.

import (
	"bytes"
	"errors"
	"testing"

	"github.com/google/uuid"

	"github.com/credvault/credvault/internal/vault/crypt"
)

func TestSSOSecretSeal(t *testing.T) {
	t.Parallel()
	dek := newDEK(t)
	tenant, config := uuid.New(), uuid.New()
	secret := []byte("sso-client-secret")
	sealed, err := crypt.SSOSecret.Seal(dek, secret, tenant, config, 3)
	if err != nil {
		t.Fatal(err)
	}
	if len(sealed) != len(secret)+gcmOverhead || bytes.Contains(sealed, secret) {
		t.Fatalf("sealed %d bytes, want %d, without the plaintext", len(sealed), len(secret)+gcmOverhead)
	}
	got, err := crypt.SSOSecret.Open(dek, sealed, tenant, config, 3)
	if err != nil || !bytes.Equal(got, secret) {
		t.Fatalf("round trip: %d bytes, err %v", len(got), err)
	}
	for name, open := range map[string]func() ([]byte, error){
		"another config":  func() ([]byte, error) { return crypt.SSOSecret.Open(dek, sealed, tenant, uuid.New(), 3) },
		"another tenant":  func() ([]byte, error) { return crypt.SSOSecret.Open(dek, sealed, uuid.New(), config, 3) },
		"another version": func() ([]byte, error) { return crypt.SSOSecret.Open(dek, sealed, tenant, config, 2) },
		"another DEK":     func() ([]byte, error) { return crypt.SSOSecret.Open(newDEK(t), sealed, tenant, config, 3) },
		"as a webhook":    func() ([]byte, error) { return crypt.WebhookSecret.Open(dek, sealed, tenant, config, 3) },
		"as a credential": func() ([]byte, error) { return crypt.Credential.Open(dek, sealed, tenant, config, 3) },
	} {
		if pt, err := open(); !errors.Is(err, crypt.ErrOpen) || pt != nil {
			t.Errorf("%s: %d bytes, err %v, want crypt.ErrOpen", name, len(pt), err)
		}
	}
	hook, err := crypt.WebhookSecret.Seal(dek, secret, tenant, config, 3)
	if err != nil {
		t.Fatal(err)
	}
	if pt, err := crypt.SSOSecret.Open(dek, hook, tenant, config, 3); !errors.Is(err, crypt.ErrOpen) || pt != nil {
		t.Errorf("a webhook secret opened as an SSO secret: %d bytes, err %v", len(pt), err)
	}
}
