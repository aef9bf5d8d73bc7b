package crypt_test

// Envelope encryption: AES-256-GCM seals of credentials under a DEK and of
// DEKs under the master key, each bound by its additional data to exactly
// what it seals (tenant, credential, version), so a ciphertext copied to
// another row, tenant or key version does not open.
//
// No failure message prints a plaintext or a key: they are described by
// their length only.

import (
	"bytes"
	"encoding/base64"
	"errors"
	"testing"

	"github.com/google/uuid"

	"github.com/credvault/credvault/internal/vault/crypt"
)

// gcmOverhead is what AES-GCM adds to a plaintext: a 12-byte nonce in front
// and a 16-byte tag behind.
const gcmOverhead = 12 + 16

func newDEK(t testing.TB) crypt.DEK {
	t.Helper()
	k, err := crypt.NewDEK()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func newMaster(t testing.TB) *crypt.MasterKey {
	t.Helper()
	k, err := crypt.GenerateMasterKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestNewDEK(t *testing.T) {
	t.Parallel()
	a, b := newDEK(t), newDEK(t)
	if len(a) != crypt.KeySize || len(b) != crypt.KeySize {
		t.Fatalf("DEK sizes %d and %d, want %d", len(a), len(b), crypt.KeySize)
	}
	if bytes.Equal(a, b) {
		t.Fatal("two new DEKs are equal")
	}
	if bytes.Equal(a, make([]byte, crypt.KeySize)) {
		t.Fatal("a new DEK is all zeros")
	}
}

func TestSealOpenCredentialRoundTrip(t *testing.T) {
	t.Parallel()
	dek := newDEK(t)
	tenant, cred := uuid.New(), uuid.New()
	for _, size := range []int{0, 1, 15, 16, 17, 1024, 64 << 10} {
		pt := bytes.Repeat([]byte{'s'}, size)
		if size > 0 {
			copy(pt, `{"api_key":"round-trip-secret"}`)
		}
		sealed, err := crypt.Credential.Seal(dek, pt, tenant, cred, 3)
		if err != nil {
			t.Fatalf("seal %d bytes: %v", size, err)
		}
		if len(sealed) != size+gcmOverhead {
			t.Errorf("sealed %d bytes into %d, want %d", size, len(sealed), size+gcmOverhead)
		}
		if size >= 8 && bytes.Contains(sealed, pt[:8]) {
			t.Errorf("the sealed value of %d bytes shows its plaintext", size)
		}
		got, err := crypt.Credential.Open(dek, sealed, tenant, cred, 3)
		if err != nil {
			t.Fatalf("open %d bytes: %v", size, err)
		}
		if !bytes.Equal(got, pt) {
			t.Errorf("opened %d bytes, want the %d sealed", len(got), size)
		}
	}
}

func TestSealCredentialUsesAFreshNonce(t *testing.T) {
	t.Parallel()
	dek := newDEK(t)
	tenant, cred := uuid.New(), uuid.New()
	pt := []byte(`{"token":"same-plaintext-every-time"}`)
	seen := map[string]bool{}
	nonces := map[string]bool{}
	for range 64 {
		sealed, err := crypt.Credential.Seal(dek, pt, tenant, cred, 1)
		if err != nil {
			t.Fatal(err)
		}
		if seen[string(sealed)] {
			t.Fatal("the same plaintext sealed twice gave the same ciphertext")
		}
		seen[string(sealed)] = true
		if nonces[string(sealed[:12])] {
			t.Fatal("a nonce was used twice")
		}
		nonces[string(sealed[:12])] = true
	}
}

// TestOpenCredentialIsBoundToItsRow: with the right DEK, a ciphertext opens
// only for the tenant, credential and version it was sealed for. This is
// what makes a ciphertext copied to another row, tenant or version fail.
func TestOpenCredentialIsBoundToItsRow(t *testing.T) {
	t.Parallel()
	dek := newDEK(t)
	tenant, cred := uuid.New(), uuid.New()
	sealed, err := crypt.Credential.Seal(dek, []byte(`{"password":"bound-secret"}`), tenant, cred, 2)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := crypt.Credential.Open(dek, sealed, tenant, cred, 2); err != nil {
		t.Fatalf("control: the ciphertext does not open where it was sealed: %v", err)
	}
	for _, tc := range []struct {
		name      string
		dek       crypt.DEK
		tenant    uuid.UUID
		cred      uuid.UUID
		version   int
		isErrOpen bool
	}{
		{"another credential id", dek, tenant, uuid.New(), 2, true},
		{"another tenant", dek, uuid.New(), cred, 2, true},
		{"an older version", dek, tenant, cred, 1, true},
		{"a newer version", dek, tenant, cred, 3, true},
		{"tenant and credential swapped", dek, cred, tenant, 2, true},
		{"another DEK", newDEK(t), tenant, cred, 2, true},
		{"the nil tenant", dek, uuid.Nil, cred, 2, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pt, err := crypt.Credential.Open(tc.dek, sealed, tc.tenant, tc.cred, tc.version)
			if !errors.Is(err, crypt.ErrOpen) {
				t.Fatalf("err = %v, want crypt.ErrOpen", err)
			}
			if pt != nil {
				t.Fatalf("a failed open returned %d bytes", len(pt))
			}
		})
	}
}

func TestOpenCredentialRejectsTampering(t *testing.T) {
	t.Parallel()
	dek := newDEK(t)
	tenant, cred := uuid.New(), uuid.New()
	sealed, err := crypt.Credential.Seal(dek, []byte(`{"token":"tamper-secret"}`), tenant, cred, 1)
	if err != nil {
		t.Fatal(err)
	}
	// Every single bit flip, in the nonce, the ciphertext and the tag.
	for i := range sealed {
		for bit := range 8 {
			bad := bytes.Clone(sealed)
			bad[i] ^= 1 << bit
			if _, err := crypt.Credential.Open(dek, bad, tenant, cred, 1); !errors.Is(err, crypt.ErrOpen) {
				t.Fatalf("byte %d bit %d flipped: err = %v, want crypt.ErrOpen", i, bit, err)
			}
		}
	}
	for name, bad := range map[string][]byte{
		"nil":               nil,
		"empty":             {},
		"nonce only":        sealed[:12],
		"one short of tag":  sealed[:gcmOverhead-1],
		"tag cut":           sealed[:len(sealed)-1],
		"byte appended":     append(bytes.Clone(sealed), 0),
		"nonce moved":       append(bytes.Clone(sealed[1:]), sealed[0]),
		"ciphertext alone":  sealed[12:],
		"two values joined": append(bytes.Clone(sealed), sealed...),
	} {
		if _, err := crypt.Credential.Open(dek, bad, tenant, cred, 1); !errors.Is(err, crypt.ErrOpen) {
			t.Errorf("%s: err = %v, want crypt.ErrOpen", name, err)
		}
	}
}

func TestSealRejectsAKeyOfTheWrongSize(t *testing.T) {
	t.Parallel()
	tenant, cred := uuid.New(), uuid.New()
	good := newDEK(t)
	sealed, err := crypt.Credential.Seal(good, []byte("x"), tenant, cred, 1)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{0, 16, 24, 31, 33, 64} {
		k := crypt.DEK(bytes.Repeat([]byte{7}, n))
		if out, err := crypt.Credential.Seal(k, []byte("secret"), tenant, cred, 1); err == nil || out != nil {
			t.Errorf("seal with a %d-byte key: err = %v", n, err)
		}
		if out, err := crypt.Credential.Open(k, sealed, tenant, cred, 1); err == nil || out != nil {
			t.Errorf("open with a %d-byte key: err = %v", n, err)
		}
	}
}

func TestWrapUnwrapDEK(t *testing.T) {
	t.Parallel()
	master := newMaster(t)
	dek := newDEK(t)
	tenant := uuid.New()
	wrapped, err := master.WrapDEK(dek, tenant, 4)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(wrapped, dek) || bytes.Contains(wrapped, dek[:16]) || bytes.Contains(wrapped, dek[16:]) {
		t.Fatal("the wrapped DEK shows the DEK")
	}
	if len(wrapped) != crypt.KeySize+gcmOverhead {
		t.Errorf("wrapped DEK is %d bytes, want %d", len(wrapped), crypt.KeySize+gcmOverhead)
	}
	got, err := master.UnwrapDEK(wrapped, tenant, 4)
	if err != nil {
		t.Fatalf("unwrap: %v", err)
	}
	if !bytes.Equal(got, dek) {
		t.Fatal("the unwrapped DEK differs from the wrapped one")
	}
	again, err := master.WrapDEK(dek, tenant, 4)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(again, wrapped) {
		t.Error("wrapping the same DEK twice gave the same bytes")
	}

	for name, try := range map[string]func() (crypt.DEK, error){
		"another tenant":     func() (crypt.DEK, error) { return master.UnwrapDEK(wrapped, uuid.New(), 4) },
		"another version":    func() (crypt.DEK, error) { return master.UnwrapDEK(wrapped, tenant, 5) },
		"another master key": func() (crypt.DEK, error) { return newMaster(t).UnwrapDEK(wrapped, tenant, 4) },
		"tampered": func() (crypt.DEK, error) {
			bad := bytes.Clone(wrapped)
			bad[len(bad)/2] ^= 0x80
			return master.UnwrapDEK(bad, tenant, 4)
		},
	} {
		k, err := try()
		if !errors.Is(err, crypt.ErrOpen) || k != nil {
			t.Errorf("%s: err = %v (key returned: %v), want crypt.ErrOpen", name, err, k != nil)
		}
	}
}

// TestSealedDomainsAreSeparate: a credential ciphertext is never taken for
// a wrapped DEK, nor the other way round, even under the same key bytes.
func TestSealedDomainsAreSeparate(t *testing.T) {
	t.Parallel()
	dek := newDEK(t)
	// A master key with the very bytes of the DEK.
	same, err := crypt.ParseMasterKey(base64.StdEncoding.EncodeToString(dek))
	if err != nil {
		t.Fatal(err)
	}
	tenant, cred := uuid.New(), uuid.New()
	ct, err := crypt.Credential.Seal(dek, newDEK(t), tenant, cred, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := same.UnwrapDEK(ct, tenant, 1); !errors.Is(err, crypt.ErrOpen) {
		t.Errorf("a credential ciphertext unwrapped as a DEK: err = %v", err)
	}
	wrapped, err := same.WrapDEK(newDEK(t), tenant, 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := crypt.Credential.Open(dek, wrapped, tenant, cred, 1); !errors.Is(err, crypt.ErrOpen) {
		t.Errorf("a wrapped DEK opened as a credential: err = %v", err)
	}
	// The plain master-key seal with empty additional data opens neither.
	plain, err := same.Seal([]byte("x"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := crypt.Credential.Open(dek, plain, tenant, cred, 1); !errors.Is(err, crypt.ErrOpen) {
		t.Errorf("a value sealed without additional data opened as a credential: err = %v", err)
	}
}

// payload1KiB is a 1 KiB JSON secret, the size of a typical credential.
func payload1KiB() []byte {
	p := []byte(`{"client_id":"bench","client_secret":"`)
	for len(p) < 1024-2 {
		p = append(p, 'x')
	}
	return append(p, '"', '}')
}

func BenchmarkSealCredential(b *testing.B) {
	dek := newDEK(b)
	tenant, cred := uuid.New(), uuid.New()
	pt := payload1KiB()
	b.SetBytes(int64(len(pt)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := crypt.Credential.Seal(dek, pt, tenant, cred, 1); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkOpenCredential(b *testing.B) {
	dek := newDEK(b)
	tenant, cred := uuid.New(), uuid.New()
	pt := payload1KiB()
	sealed, err := crypt.Credential.Seal(dek, pt, tenant, cred, 1)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(pt)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := crypt.Credential.Open(dek, sealed, tenant, cred, 1); err != nil {
			b.Fatal(err)
		}
	}
}
