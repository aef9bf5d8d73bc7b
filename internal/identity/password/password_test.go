package password_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/credvault/credvault/internal/identity/password"
)

func TestHashVerifyRoundTrip(t *testing.T) {
	t.Parallel()
	for _, pw := range []string{
		"correct horse battery staple",
		"ünïcödé-pässwörd-✓",
		strings.Repeat("x", password.MaxLength),
	} {
		hash, err := password.OWASP.Hash(pw)
		if err != nil {
			t.Fatalf("Hash: %v", err)
		}
		if !strings.HasPrefix(hash, "$argon2id$v=19$m=19456,t=2,p=1$") {
			t.Errorf("hash %q is not argon2id in PHC format with the OWASP parameters", hash)
		}
		if strings.Contains(hash, pw) {
			t.Error("the hash contains the password")
		}
		if err := password.Verify(hash, pw); err != nil {
			t.Errorf("Verify of the right password: %v", err)
		}
	}
}

func TestVerifyWrongPassword(t *testing.T) {
	t.Parallel()
	hash, err := password.OWASP.Hash("the right password")
	if err != nil {
		t.Fatal(err)
	}
	for _, wrong := range []string{"the wrong password", "the right passwor", "the right password ", "The right password", ""} {
		if err := password.Verify(hash, wrong); !errors.Is(err, password.ErrMismatch) {
			t.Errorf("Verify(%q) = %v, want ErrMismatch", wrong, err)
		}
	}
}

func TestHashesAreSalted(t *testing.T) {
	t.Parallel()
	a, err := password.OWASP.Hash("same password twice")
	if err != nil {
		t.Fatal(err)
	}
	b, err := password.OWASP.Hash("same password twice")
	if err != nil {
		t.Fatal(err)
	}
	if a == b {
		t.Fatal("two hashes of the same password are equal")
	}
	saltOf := func(h string) string { return strings.Split(h, "$")[4] }
	if saltOf(a) == saltOf(b) {
		t.Error("two hashes share a salt")
	}
	for _, h := range []string{a, b} {
		if err := password.Verify(h, "same password twice"); err != nil {
			t.Errorf("Verify: %v", err)
		}
	}
}

func TestVerifyMalformedHash(t *testing.T) {
	t.Parallel()
	good, err := password.OWASP.Hash("a good password")
	if err != nil {
		t.Fatal(err)
	}
	parts := strings.Split(good, "$")
	with := func(i int, v string) string {
		p := append([]string(nil), parts...)
		p[i] = v
		return strings.Join(p, "$")
	}
	for name, hash := range map[string]string{
		"empty":          "",
		"bcrypt":         "$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy",
		"too few parts":  "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA",
		"argon2i":        with(1, "argon2i"),
		"wrong version":  with(2, "v=16"),
		"bad params":     with(3, "m=lots,t=2,p=1"),
		"zero passes":    with(3, "m=19456,t=0,p=1"),
		"2 GiB":          with(3, "m=2097152,t=2,p=1"),
		"bad salt":       with(4, "!!!"),
		"bad key base64": with(5, "***"),
	} {
		err := password.Verify(hash, "a good password")
		if err == nil {
			t.Errorf("%s: Verify accepted %q", name, hash)
			continue
		}
		if errors.Is(err, password.ErrMismatch) {
			t.Errorf("%s: a malformed hash is reported as a mismatch", name)
		}
	}
}

func TestParamsOtherThanOWASP(t *testing.T) {
	t.Parallel()
	cheap, err := password.ParseParams("m=64,t=1,p=1")
	if err != nil {
		t.Fatal(err)
	}
	hash, err := cheap.Hash("a good password")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(hash, "$argon2id$v=19$m=64,t=1,p=1$") {
		t.Fatalf("hash %q does not name its parameters", hash)
	}
	// A hash keeps its parameters: changing the configured ones later
	// leaves it verifiable.
	if err := password.Verify(hash, "a good password"); err != nil {
		t.Errorf("Verify: %v", err)
	}
	if err := password.Verify(hash, "a bad password!"); !errors.Is(err, password.ErrMismatch) {
		t.Errorf("Verify of a wrong password = %v, want ErrMismatch", err)
	}
	if !cheap.BelowOWASP() || password.OWASP.BelowOWASP() {
		t.Errorf("BelowOWASP: m=64,t=1 %v, OWASP's %v", cheap.BelowOWASP(), password.OWASP.BelowOWASP())
	}
	for s, below := range map[string]bool{"m=47104,t=1,p=1": false, "m=9216,t=4,p=1": false, "m=7168,t=5,p=1": false,
		"m=7168,t=4,p=1": true, "m=6144,t=10,p=1": true, "m=19456,t=1,p=1": true} {
		p, err := password.ParseParams(s)
		if err != nil {
			t.Fatal(err)
		}
		if p.BelowOWASP() != below {
			t.Errorf("%s: BelowOWASP = %v, want %v", s, p.BelowOWASP(), below)
		}
	}
	for _, bad := range []string{"", "m=19456,t=2", "m=19456, t=2, p=1", "m=019456,t=2,p=1", "m=4,t=1,p=1",
		"m=19456,t=11,p=1", "m=19456,t=2,p=0", "m=19456,t=2,p=1,x=2", "t=2,m=19456,p=1"} {
		if _, err := password.ParseParams(bad); err == nil {
			t.Errorf("ParseParams(%q) accepted it", bad)
		}
	}
}

func TestCheck(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, pw, want string
	}{
		{"empty", "", "too_short"},
		{"one under the minimum", strings.Repeat("a", password.MinLength-1), "too_short"},
		{"the minimum", strings.Repeat("a", password.MinLength), ""},
		{"typical", "correct horse battery staple", ""},
		{"the maximum", strings.Repeat("a", password.MaxLength), ""},
		{"one over the maximum", strings.Repeat("a", password.MaxLength+1), "too_long"},
	} {
		if got := password.Check(tc.pw); got != tc.want {
			t.Errorf("%s: Check = %q, want %q", tc.name, got, tc.want)
		}
	}
	if password.MinLength != 10 || password.MaxLength != 256 {
		t.Errorf("limits %d..%d, want 10..256", password.MinLength, password.MaxLength)
	}
}
