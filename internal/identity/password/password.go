// Package password hashes and checks user passwords with argon2id, stored in
// the PHC string format so parameters can be raised without a migration.
package password

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/crypto/argon2"
)

// MinLength is the shortest password accepted.
const MinLength = 10

// MaxLength bounds the work a single login can cause.
const MaxLength = 256

// params are OWASP's argon2id recommendation: 19 MiB, 2 passes, 1 lane.
var params = struct {
	memory  uint32
	time    uint32
	threads uint8
	saltLen int
	keyLen  uint32
}{memory: 19 * 1024, time: 2, threads: 1, saltLen: 16, keyLen: 32}

// ErrMismatch is returned by Verify for a wrong password.
var ErrMismatch = errors.New("password: mismatch")

// Hash returns the argon2id hash of pw in PHC format.
func Hash(pw string) (string, error) {
	salt := make([]byte, params.saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password: salt: %w", err)
	}
	key := argon2.IDKey([]byte(pw), salt, params.time, params.memory, params.threads, params.keyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version,
		params.memory, params.time, params.threads, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// Verify checks pw against a hash made by Hash, in constant time.
func Verify(hash, pw string) error {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return errors.New("password: unknown hash format")
	}
	var version int
	var memory, time uint32
	var threads uint8
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return errors.New("password: unsupported argon2 version")
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &memory, &time, &threads); err != nil ||
		time < 1 || time > 10 || threads < 1 || memory < 8*uint32(threads) || memory > 1<<20 {
		return errors.New("password: malformed parameters")
	}
	salt, err := base64.RawStdEncoding.DecodeString(parts[4])
	if err != nil {
		return errors.New("password: malformed salt")
	}
	want, err := base64.RawStdEncoding.DecodeString(parts[5])
	if err != nil || len(want) < 16 || len(salt) < 8 {
		return errors.New("password: malformed hash")
	}
	got := argon2.IDKey([]byte(pw), salt, time, memory, threads, uint32(len(want)))
	if subtle.ConstantTimeCompare(got, want) != 1 {
		return ErrMismatch
	}
	return nil
}

// Check returns why pw is not acceptable as a new password ("too_short" or
// "too_long"), or "" when it is.
func Check(pw string) string {
	switch {
	case len(pw) < MinLength:
		return "too_short"
	case len(pw) > MaxLength:
		return "too_long"
	}
	return ""
}
