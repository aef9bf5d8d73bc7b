// Package secret makes and hashes the high-entropy secrets CredVault hands
// out once: API keys, OAuth client secrets and refresh tokens. They are
// random enough that a fast hash (SHA-256) is the right way to store them.
package secret

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"math/big"
)

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// New returns prefix followed by n random bytes written in base62.
func New(prefix string, n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("secret: %w", err)
	}
	return prefix + encode62(b), nil
}

// encode62 writes b as a base62 number, zero-padded to the length any
// n-byte value needs, so every secret of one kind has the same length.
func encode62(b []byte) string {
	width := (len(b)*8*1000 + 5953) / 5954 // ceil(bits / log2(62))
	out := make([]byte, width)
	v := new(big.Int).SetBytes(b)
	base, mod := big.NewInt(62), new(big.Int)
	for i := width - 1; i >= 0; i-- {
		v.DivMod(v, base, mod)
		out[i] = base62[mod.Int64()]
	}
	return string(out)
}

// Hash returns the SHA-256 of s, the form in which secrets are stored.
func Hash(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

// Equal compares two hashes in constant time.
func Equal(a, b []byte) bool { return subtle.ConstantTimeCompare(a, b) == 1 }
