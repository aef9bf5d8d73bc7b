package crypt

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
)

// ErrOpen is returned when a sealed value does not open: the wrong key, the
// wrong additional data (a value copied to another row), or tampering.
var ErrOpen = errors.New("vault: sealed value does not open")

// seal encrypts plaintext with AES-256-GCM under key, binding aad; the
// result is nonce || ciphertext || tag, with a fresh random nonce.
func seal(key, plaintext, aad []byte) ([]byte, error) {
	aead, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	out := make([]byte, aead.NonceSize(), aead.NonceSize()+len(plaintext)+aead.Overhead())
	if _, err := rand.Read(out); err != nil {
		return nil, fmt.Errorf("vault: nonce: %w", err)
	}
	return aead.Seal(out, out, plaintext, aad), nil
}

// open reverses seal.
func open(key, sealed, aad []byte) ([]byte, error) {
	aead, err := newGCM(key)
	if err != nil {
		return nil, err
	}
	if len(sealed) < aead.NonceSize()+aead.Overhead() {
		return nil, ErrOpen
	}
	nonce, ct := sealed[:aead.NonceSize()], sealed[aead.NonceSize():]
	pt, err := aead.Open(nil, nonce, ct, aad)
	if err != nil {
		return nil, ErrOpen
	}
	return pt, nil
}

func newGCM(key []byte) (cipher.AEAD, error) {
	if len(key) != KeySize {
		return nil, fmt.Errorf("vault: key must be %d bytes", KeySize)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("vault: %w", err)
	}
	return cipher.NewGCM(block)
}

// Seal encrypts plaintext under the master key, bound to aad (which names
// what the value is, so it cannot be swapped for another sealed value).
func (k *MasterKey) Seal(plaintext, aad []byte) ([]byte, error) { return seal(k.b[:], plaintext, aad) }

// Open decrypts a value sealed by Seal with the same aad.
func (k *MasterKey) Open(sealed, aad []byte) ([]byte, error) { return open(k.b[:], sealed, aad) }
