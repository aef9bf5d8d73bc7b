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

func credentialAAD(tenant, credential uuid.UUID, version int) []byte {
	return fmt.Appendf(nil, "credvault:credential:%s:%s:%d", tenant, credential, version)
}

// WrapDEK seals a tenant's DEK of version under the master key.
func (k *MasterKey) WrapDEK(dek DEK, tenant uuid.UUID, version int) ([]byte, error) {
	return k.Seal(dek, dekAAD(tenant, version))
}

// UnwrapDEK opens a DEK sealed by WrapDEK for the same tenant and version.
func (k *MasterKey) UnwrapDEK(wrapped []byte, tenant uuid.UUID, version int) (DEK, error) {
	return k.Open(wrapped, dekAAD(tenant, version))
}

// SealCredential encrypts a credential's secret under the tenant's DEK of
// version, bound to the tenant, the credential and the version.
func SealCredential(dek DEK, plaintext []byte, tenant, credential uuid.UUID, version int) ([]byte, error) {
	return seal(dek, plaintext, credentialAAD(tenant, credential, version))
}

// OpenCredential decrypts a credential sealed by SealCredential.
func OpenCredential(dek DEK, sealed []byte, tenant, credential uuid.UUID, version int) ([]byte, error) {
	return open(dek, sealed, credentialAAD(tenant, credential, version))
}

func webhookAAD(tenant, webhook uuid.UUID, version int) []byte {
	return fmt.Appendf(nil, "credvault:webhook:%s:%s:%d", tenant, webhook, version)
}

// SealWebhookSecret encrypts a webhook endpoint's signing secret under the
// tenant's DEK of version, bound to the tenant, the endpoint and the version.
func SealWebhookSecret(dek DEK, plaintext []byte, tenant, webhook uuid.UUID, version int) ([]byte, error) {
	return seal(dek, plaintext, webhookAAD(tenant, webhook, version))
}

// OpenWebhookSecret decrypts a secret sealed by SealWebhookSecret.
func OpenWebhookSecret(dek DEK, sealed []byte, tenant, webhook uuid.UUID, version int) ([]byte, error) {
	return open(dek, sealed, webhookAAD(tenant, webhook, version))
}

func ssoAAD(tenant, config uuid.UUID, version int) []byte {
	return fmt.Appendf(nil, "credvault:sso:%s:%s:%d", tenant, config, version)
}

// SealSSOSecret encrypts a tenant's OpenID Connect client secret under the
// tenant's DEK of version, bound to the tenant, its SSO configuration and
// the version.
func SealSSOSecret(dek DEK, plaintext []byte, tenant, config uuid.UUID, version int) ([]byte, error) {
	return seal(dek, plaintext, ssoAAD(tenant, config, version))
}

// OpenSSOSecret decrypts a secret sealed by SealSSOSecret.
func OpenSSOSecret(dek DEK, sealed []byte, tenant, config uuid.UUID, version int) ([]byte, error) {
	return open(dek, sealed, ssoAAD(tenant, config, version))
}
