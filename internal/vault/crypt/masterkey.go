// Package crypt holds CredVault's key material: the master key (the
// key-encryption key) and, built on it, the envelope encryption of secrets.
// It imports nothing of the web or the database.
package crypt

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// KeySize is the size of the master key and of every data-encryption key.
const KeySize = 32

// MasterKey is the key-encryption key. It never leaves the process.
type MasterKey struct{ b [KeySize]byte }

// ParseMasterKey decodes base64 (standard or URL alphabet, padded or not) of exactly 32 bytes.
func ParseMasterKey(s string) (*MasterKey, error) {
	s = strings.TrimSpace(s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		raw, err := enc.DecodeString(s)
		if err != nil {
			continue
		}
		if len(raw) != KeySize {
			return nil, fmt.Errorf("vault: master key must be %d bytes, got %d", KeySize, len(raw))
		}
		k := &MasterKey{}
		copy(k.b[:], raw)
		return k, nil
	}
	return nil, errors.New("vault: master key is not valid base64")
}

// GenerateMasterKey returns a new random master key.
func GenerateMasterKey() (*MasterKey, error) {
	k := &MasterKey{}
	if _, err := rand.Read(k.b[:]); err != nil {
		return nil, fmt.Errorf("vault: generate master key: %w", err)
	}
	return k, nil
}

// Encode returns the key in base64, the form CREDVAULT_MASTER_KEY takes.
func (k *MasterKey) Encode() string { return base64.StdEncoding.EncodeToString(k.b[:]) }

// String keeps the key out of logs and error messages, printed as a value or
// a pointer.
func (k MasterKey) String() string { return "MasterKey(redacted)" }

// GoString keeps the key out of %#v.
func (k MasterKey) GoString() string { return k.String() }

// LoadOrCreateKeyFile reads the master key at path, or creates the file
// (mode 0600) with a new key when it does not exist. created tells which.
func LoadOrCreateKeyFile(path string) (key *MasterKey, created bool, err error) {
	raw, err := os.ReadFile(path)
	if err == nil {
		key, err = ParseMasterKey(string(raw))
		if err != nil {
			return nil, false, fmt.Errorf("%s: %w", path, err)
		}
		return key, false, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, false, fmt.Errorf("vault: read %s: %w", path, err)
	}
	if key, err = GenerateMasterKey(); err != nil {
		return nil, false, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, false, fmt.Errorf("vault: create %s: %w", filepath.Dir(path), err)
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, false, fmt.Errorf("vault: create %s: %w", path, err)
	}
	if _, err := f.WriteString(key.Encode() + "\n"); err != nil {
		f.Close()
		return nil, false, fmt.Errorf("vault: write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return nil, false, fmt.Errorf("vault: write %s: %w", path, err)
	}
	return key, true, nil
}
