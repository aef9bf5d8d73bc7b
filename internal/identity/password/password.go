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

// Params are argon2id's cost: memory in KiB, passes and lanes.
type Params struct {
	Memory  uint32
	Time    uint32
	Threads uint8
}

// OWASP is OWASP's argon2id recommendation, the default: 19 MiB, 2 passes,
// 1 lane.
var OWASP = Params{Memory: 19 * 1024, Time: 2, Threads: 1}

const (
	saltLen = 16
	keyLen  = 32
)

// ErrMismatch is returned by Verify for a wrong password.
var ErrMismatch = errors.New("password: mismatch")

// ParseParams reads parameters written as in a PHC string, "m=19456,t=2,p=1".
func ParseParams(s string) (Params, error) {
	var p Params
	if _, err := fmt.Sscanf(s, "m=%d,t=%d,p=%d", &p.Memory, &p.Time, &p.Threads); err != nil || p.String() != s {
		return Params{}, fmt.Errorf("password: parameters must read m=KIB,t=PASSES,p=LANES, not %q", s)
	}
	if err := p.check(); err != nil {
		return Params{}, err
	}
	return p, nil
}

// String writes p as in a PHC string.
func (p Params) String() string {
	return fmt.Sprintf("m=%d,t=%d,p=%d", p.Memory, p.Time, p.Threads)
}

// check bounds the work a stored hash can ask of a login.
func (p Params) check() error {
	if p.Time < 1 || p.Time > 10 || p.Threads < 1 || p.Memory < 8*uint32(p.Threads) || p.Memory > 1<<20 {
		return fmt.Errorf("password: parameters %s are out of bounds (t from 1 to 10, p at least 1, m from 8·p KiB to 1 GiB)", p)
	}
	return nil
}

// BelowOWASP reports whether p costs less than the weakest of OWASP's
// equivalent argon2id settings (m=7168 KiB with t=5, down to m=47104 KiB
// with t=1).
func (p Params) BelowOWASP() bool {
	return p.Memory < 7*1024 || uint64(p.Memory)*uint64(p.Time) < 7*1024*5
}

// Hash returns the argon2id hash of pw under p in PHC format.
func (p Params) Hash(pw string) (string, error) {
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("password: salt: %w", err)
	}
	key := argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, keyLen)
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$%s$%s$%s", argon2.Version, p, b64.EncodeToString(salt), b64.EncodeToString(key)), nil
}

// Verify checks pw against a hash made by Hash, under the parameters the
// hash names, in constant time.
func Verify(hash, pw string) error {
	parts := strings.Split(hash, "$")
	if len(parts) != 6 || parts[1] != "argon2id" {
		return errors.New("password: unknown hash format")
	}
	var version int
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return errors.New("password: unsupported argon2 version")
	}
	p, err := ParseParams(parts[3])
	if err != nil {
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
	got := argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, uint32(len(want)))
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
