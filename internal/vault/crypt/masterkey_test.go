package crypt_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/credvault/credvault/internal/vault/crypt"
)

// keyBytes returns n bytes chosen so that the standard and URL base64
// alphabets differ on them (they encode to '+' and '/' or '-' and '_').
func keyBytes(n int) []byte {
	b := make([]byte, n)
	for i := range b {
		b[i] = byte(0xfb + i*7)
	}
	return b
}

func TestParseMasterKeyEncodings(t *testing.T) {
	t.Parallel()
	raw := keyBytes(crypt.KeySize)
	std := base64.StdEncoding.EncodeToString(raw)
	if !strings.ContainsAny(std, "+/") {
		t.Fatalf("test key %q does not exercise the alphabets", std)
	}
	for _, tc := range []struct {
		name, in string
	}{
		{"std padded", std},
		{"std raw", base64.RawStdEncoding.EncodeToString(raw)},
		{"url padded", base64.URLEncoding.EncodeToString(raw)},
		{"url raw", base64.RawURLEncoding.EncodeToString(raw)},
		{"surrounding whitespace", "  " + std + "\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			k, err := crypt.ParseMasterKey(tc.in)
			if err != nil {
				t.Fatalf("ParseMasterKey: %v", err)
			}
			if got := k.Encode(); got != std {
				t.Errorf("Encode() = %q, want %q", got, std)
			}
		})
	}
}

func TestParseMasterKeyRejects(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, in string
	}{
		{"empty", ""},
		{"31 bytes", base64.StdEncoding.EncodeToString(keyBytes(31))},
		{"33 bytes", base64.StdEncoding.EncodeToString(keyBytes(33))},
		{"16 bytes", base64.RawURLEncoding.EncodeToString(keyBytes(16))},
		{"64 bytes", base64.StdEncoding.EncodeToString(keyBytes(64))},
		{"not base64", "this is not base64 at all!!"},
		{"hex of 32 bytes", fmt.Sprintf("%x", keyBytes(32))},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			k, err := crypt.ParseMasterKey(tc.in)
			if err == nil {
				t.Fatalf("ParseMasterKey(%q) accepted a key", tc.in)
			}
			if k != nil {
				t.Errorf("ParseMasterKey returned a key along with error %v", err)
			}
		})
	}
}

func TestMasterKeyNeverPrinted(t *testing.T) {
	t.Parallel()
	k, err := crypt.GenerateMasterKey()
	if err != nil {
		t.Fatal(err)
	}
	enc := k.Encode()
	raw, err := base64.StdEncoding.DecodeString(enc)
	if err != nil || len(raw) != crypt.KeySize {
		t.Fatalf("Encode() = %d bytes, err %v", len(raw), err)
	}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("loaded", "key", k)
	js, _ := json.Marshal(k) //lint:ignore SA9005 what JSON makes of the key is the point
	err = fmt.Errorf("wrapped: %v", k)
	outputs := map[string]string{
		"String()": k.String(),
		"%v":       fmt.Sprintf("%v", k),
		"%s":       fmt.Sprintf("%s", k), //lint:ignore S1025 the %s verb is what is tested
		"%+v":      fmt.Sprintf("%+v", k),
		"error":    err.Error(),
		"slog":     logged.String(),
		"json":     string(js),
	}
	for name, out := range outputs {
		if strings.Contains(out, enc) || strings.Contains(out, base64.RawURLEncoding.EncodeToString(raw)) ||
			strings.Contains(out, fmt.Sprintf("%x", raw)) || strings.Contains(out, fmt.Sprint(raw)) {
			t.Errorf("%s reveals the key", name)
		}
	}
	if !strings.Contains(k.String(), "redacted") {
		t.Errorf("String() = %q, want a redaction marker", k.String())
	}
}

func TestGenerateMasterKeyIsRandom(t *testing.T) {
	t.Parallel()
	a, err := crypt.GenerateMasterKey()
	if err != nil {
		t.Fatal(err)
	}
	b, err := crypt.GenerateMasterKey()
	if err != nil {
		t.Fatal(err)
	}
	if a.Encode() == b.Encode() {
		t.Error("two generated keys are equal")
	}
	if back, err := crypt.ParseMasterKey(a.Encode()); err != nil || back.Encode() != a.Encode() {
		t.Errorf("Encode/ParseMasterKey round trip failed: %v", err)
	}
}

func TestLoadOrCreateKeyFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "nested", "dir", "master.key")
	k1, created, err := crypt.LoadOrCreateKeyFile(path)
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if !created {
		t.Error("created = false for a new file")
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if mode := fi.Mode().Perm(); mode != 0o600 {
		t.Errorf("key file mode %o, want 600", mode)
	}
	content, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(string(content)) != k1.Encode() {
		t.Error("the file does not hold the returned key")
	}

	k2, created, err := crypt.LoadOrCreateKeyFile(path)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	if created {
		t.Error("created = true for an existing file")
	}
	if k2.Encode() != k1.Encode() {
		t.Error("second load returned a different key")
	}
}

func TestLoadOrCreateKeyFileRejectsBadContent(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "master.key")
	if err := os.WriteFile(path, []byte(base64.StdEncoding.EncodeToString(keyBytes(20))), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := crypt.LoadOrCreateKeyFile(path); err == nil {
		t.Fatal("a 20-byte key file was accepted")
	}
	// The bad file is left alone, never silently replaced by a new key.
	content, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if string(content) != base64.StdEncoding.EncodeToString(keyBytes(20)) {
		t.Error("the bad key file was rewritten")
	}
}

func TestLoadOrCreateKeyFileUnreadable(t *testing.T) {
	t.Parallel()
	// A directory where the file should be: reading fails with something
	// other than "does not exist", which must not lead to a new key.
	path := t.TempDir()
	_, _, err := crypt.LoadOrCreateKeyFile(path)
	if err == nil {
		t.Fatal("a directory was accepted as a key file")
	}
	if errors.Is(err, fs.ErrNotExist) {
		t.Errorf("unexpected not-exist error: %v", err)
	}
}
