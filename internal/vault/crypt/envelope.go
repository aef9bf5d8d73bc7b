package crypt

import (
	"crypto/rand"
	"fmt"

	"github.com/google/uuid"
)

// Envelope encryption: the master key wraps each tenant's data-encryption
// keys (DEKs, versioned); a DEK seals the tenant's secrets. The additional
// data of every seal names exactly what is sealed, so a ciphertext copied to
// another row, tenant or key version does not open.

// DEK is a tenant's data-encryption key.
type DEK []byte

// NewDEK returns a random DEK.
func NewDEK() (DEK, error) {
	k := make(DEK, KeySize)
	if _, err := rand.Read(k); err != nil {
		return nil, fmt.Errorf("vault: generate DEK: %w", err)
	}
	return k, nil
}

func dekAAD(tenant uuid.UUID, version int) []byte {
	return fmt.Appendf(nil, "credvault:dek:%s:%d", tenant, version)
}

// WrapDEK seals a tenant's DEK of version under the master key.
func (k *MasterKey) WrapDEK(dek DEK, tenant uuid.UUID, version int) ([]byte, error) {
	return k.Seal(dek, dekAAD(tenant, version))
}

// UnwrapDEK opens a DEK sealed by WrapDEK for the same tenant and version.
func (k *MasterKey) UnwrapDEK(wrapped []byte, tenant uuid.UUID, version int) (DEK, error) {
	return k.Open(wrapped, dekAAD(tenant, version))
}

// Kind names what a DEK seals. The additional data of a seal binds the
// value to its kind, tenant, row and DEK version, so a ciphertext copied to
// another row, tenant, kind or version does not open.
type Kind string

// The kinds of sealed values.
const (
	// Credential is a credential's secret data.
	Credential Kind = "credential"
	// WebhookSecret is a webhook endpoint's signing secret.
	WebhookSecret Kind = "webhook"
	// SSOSecret is a tenant's OpenID Connect client secret.
	SSOSecret Kind = "sso"
)

func (k Kind) aad(tenant, id uuid.UUID, version int) []byte {
	return fmt.Appendf(nil, "credvault:%s:%s:%s:%d", k, tenant, id, version)
}

// Seal encrypts plaintext, a value of kind k of row id, under the tenant's
// DEK of version.
func (k Kind) Seal(dek DEK, plaintext []byte, tenant, id uuid.UUID, version int) ([]byte, error) {
	return seal(dek, plaintext, k.aad(tenant, id, version))
}

// Open decrypts a value sealed by Seal with the same kind, tenant, row and
// version.
func (k Kind) Open(dek DEK, sealed []byte, tenant, id uuid.UUID, version int) ([]byte, error) {
	return open(dek, sealed, k.aad(tenant, id, version))
}
