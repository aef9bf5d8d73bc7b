package tokens

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/credvault/credvault/ent/signingkey"
	"github.com/credvault/credvault/internal/platform/store"
	"github.com/credvault/credvault/internal/platform/store/storetest"
	"github.com/credvault/credvault/internal/vault/crypt"
)

const (
	testIssuer   = "https://credvault.test"
	testAudience = "credvault"
)

func newMaster(t *testing.T) *crypt.MasterKey {
	t.Helper()
	m, err := crypt.GenerateMasterKey()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func newKeyring(t *testing.T, st *store.Store, master *crypt.MasterKey) *Keyring {
	t.Helper()
	k, err := NewKeyring(context.Background(), st.Client, master, testIssuer)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// claims are valid registered claims for ttl from now.
func claims(ttl time.Duration) *jwt.RegisteredClaims {
	now := time.Now()
	return &jwt.RegisteredClaims{Issuer: testIssuer, Subject: uuid.NewString(), Audience: jwt.ClaimStrings{testAudience},
		IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(now.Add(ttl)), ID: uuid.NewString()}
}

func sign(t *testing.T, k *Keyring, c jwt.Claims, typ string) string {
	t.Helper()
	tok, err := k.Sign(c, typ)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func kidOf(t *testing.T, token string) string {
	t.Helper()
	tok, _, err := jwt.NewParser().ParseUnverified(token, &jwt.RegisteredClaims{})
	if err != nil {
		t.Fatal(err)
	}
	kid, _ := tok.Header["kid"].(string)
	return kid
}

func TestSignAndParse(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		k := newKeyring(t, st, newMaster(t))
		if k.Issuer() != testIssuer {
			t.Fatalf("issuer %q", k.Issuer())
		}
		c := claims(15 * time.Minute)
		tok := sign(t, k, c, TypeSession)
		var got jwt.RegisteredClaims
		if err := k.Parse(context.Background(), tok, &got, TypeSession, testAudience); err != nil {
			t.Fatalf("parse a fresh token: %v", err)
		}
		if got.Subject != c.Subject || got.ID != c.ID {
			t.Fatalf("parsed claims sub %q jti %q", got.Subject, got.ID)
		}
		parsed, _, err := jwt.NewParser().ParseUnverified(tok, &jwt.RegisteredClaims{})
		if err != nil {
			t.Fatal(err)
		}
		if parsed.Header["alg"] != "EdDSA" || parsed.Header["typ"] != TypeSession || parsed.Header["kid"] != k.JWKS()[0].KeyID {
			t.Fatalf("header %v", parsed.Header)
		}
		// The JWKS key verifies it.
		jwks := k.JWKS()
		if len(jwks) != 1 || jwks[0].KeyType != "OKP" || jwks[0].Curve != "Ed25519" || jwks[0].Algorithm != "EdDSA" || jwks[0].Use != "sig" {
			t.Fatalf("JWKS %+v", jwks)
		}
		x, err := base64.RawURLEncoding.DecodeString(jwks[0].X)
		if err != nil {
			t.Fatal(err)
		}
		i := strings.LastIndexByte(tok, '.')
		sig, _ := base64.RawURLEncoding.DecodeString(tok[i+1:])
		if !ed25519.Verify(ed25519.PublicKey(x), []byte(tok[:i]), sig) {
			t.Fatal("the JWKS key does not verify the token")
		}
		// The private key is sealed in the database, never stored plain.
		row, err := st.Client.SigningKey.Get(context.Background(), uuid.MustParse(jwks[0].KeyID))
		if err != nil {
			t.Fatal(err)
		}
		k.mu.RLock()
		seed := k.active.private.Seed()
		k.mu.RUnlock()
		if strings.Contains(string(row.SealedPrivateKey), string(seed)) || row.Status != signingkey.StatusActive {
			t.Fatal("the signing key's seed is stored unsealed, or the key is not active")
		}
	})
}

func TestParseRefusals(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		k := newKeyring(t, st, newMaster(t))
		ctx := context.Background()
		parse := func(tok, typ string) error {
			return k.Parse(ctx, tok, &jwt.RegisteredClaims{}, typ, testAudience)
		}
		with := func(mut func(c *jwt.RegisteredClaims)) string {
			c := claims(15 * time.Minute)
			mut(c)
			return sign(t, k, c, TypeSession)
		}
		// Signed with a key the keyring does not hold, under its own kid.
		_, foreign, _ := ed25519.GenerateKey(rand.Reader)
		forged := jwt.NewWithClaims(jwt.SigningMethodEdDSA, claims(time.Minute))
		forged.Header["kid"], forged.Header["typ"] = k.JWKS()[0].KeyID, TypeSession
		forgedTok, err := forged.SignedString(foreign)
		if err != nil {
			t.Fatal(err)
		}
		// HS256 keyed with the public key: the classic algorithm confusion.
		pub, _ := base64.RawURLEncoding.DecodeString(k.JWKS()[0].X)
		hs := jwt.NewWithClaims(jwt.SigningMethodHS256, claims(time.Minute))
		hs.Header["kid"], hs.Header["typ"] = k.JWKS()[0].KeyID, TypeSession
		hsTok, err := hs.SignedString(pub)
		if err != nil {
			t.Fatal(err)
		}
		none := jwt.NewWithClaims(jwt.SigningMethodNone, claims(time.Minute))
		none.Header["kid"], none.Header["typ"] = k.JWKS()[0].KeyID, TypeSession
		noneTok, err := none.SignedString(jwt.UnsafeAllowNoneSignatureType)
		if err != nil {
			t.Fatal(err)
		}
		noKid := jwt.NewWithClaims(jwt.SigningMethodEdDSA, claims(time.Minute))
		noKid.Header["typ"] = TypeSession
		k.mu.RLock()
		noKidTok, err := noKid.SignedString(k.active.private)
		k.mu.RUnlock()
		if err != nil {
			t.Fatal(err)
		}

		cases := []struct {
			name, token, typ string
			want             error
		}{
			{"expired", with(func(c *jwt.RegisteredClaims) {
				c.IssuedAt = jwt.NewNumericDate(time.Now().Add(-time.Hour))
				c.ExpiresAt = jwt.NewNumericDate(time.Now().Add(-time.Minute))
			}), TypeSession, ErrExpired},
			{"not a jwt", "abc", TypeSession, ErrMalformed},
			{"garbage segments", "a.b.c", TypeSession, ErrMalformed},
			{"wrong type", sign(t, k, claims(time.Minute), TypeAccess), TypeSession, ErrInvalid},
			{"session as access token", sign(t, k, claims(time.Minute), TypeSession), TypeAccess, ErrInvalid},
			{"wrong audience", with(func(c *jwt.RegisteredClaims) { c.Audience = jwt.ClaimStrings{"other"} }), TypeSession, ErrInvalid},
			{"no audience", with(func(c *jwt.RegisteredClaims) { c.Audience = nil }), TypeSession, ErrInvalid},
			{"wrong issuer", with(func(c *jwt.RegisteredClaims) { c.Issuer = "https://evil.test" }), TypeSession, ErrInvalid},
			{"no expiry", with(func(c *jwt.RegisteredClaims) { c.ExpiresAt = nil }), TypeSession, ErrInvalid},
			{"issued in the future", with(func(c *jwt.RegisteredClaims) { c.IssuedAt = jwt.NewNumericDate(time.Now().Add(time.Hour)) }), TypeSession, ErrInvalid},
			{"foreign key", forgedTok, TypeSession, ErrInvalid},
			{"HS256 with the public key", hsTok, TypeSession, ErrInvalid},
			{"alg none", noneTok, TypeSession, ErrInvalid},
			{"no kid", noKidTok, TypeSession, ErrInvalid},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				if err := parse(c.token, c.typ); !errors.Is(err, c.want) {
					t.Fatalf("Parse = %v, want %v", err, c.want)
				}
			})
		}
		// Within the 5-second leeway an expiry just passed is still accepted.
		justExpired := with(func(c *jwt.RegisteredClaims) {
			c.IssuedAt = jwt.NewNumericDate(time.Now().Add(-time.Minute))
			c.ExpiresAt = jwt.NewNumericDate(time.Now().Add(-time.Second))
		})
		if err := parse(justExpired, TypeSession); err != nil {
			t.Fatalf("a token expired 1 s ago, within the leeway: %v", err)
		}
	})
}

func TestRotateKeepsOldTokensValid(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		master := newMaster(t)
		k := newKeyring(t, st, master)
		oldKid := k.JWKS()[0].KeyID
		oldTok := sign(t, k, claims(15*time.Minute), TypeSession)

		if err := k.Rotate(ctx); err != nil {
			t.Fatal(err)
		}
		newTok := sign(t, k, claims(15*time.Minute), TypeSession)
		newKid := kidOf(t, newTok)
		if newKid == oldKid || kidOf(t, oldTok) != oldKid {
			t.Fatalf("after Rotate the kid is still %s", newKid)
		}
		for name, tok := range map[string]string{"old": oldTok, "new": newTok} {
			if err := k.Parse(ctx, tok, &jwt.RegisteredClaims{}, TypeSession, testAudience); err != nil {
				t.Fatalf("%s token after rotation: %v", name, err)
			}
		}
		jwks := k.JWKS()
		if len(jwks) != 2 || jwks[0].KeyID != newKid || jwks[1].KeyID != oldKid {
			t.Fatalf("JWKS after rotation: %+v, want the new key then the old", jwks)
		}
		rows, err := st.Client.SigningKey.Query().All(ctx)
		if err != nil {
			t.Fatal(err)
		}
		active := 0
		for _, r := range rows {
			switch {
			case r.Status == signingkey.StatusActive:
				active++
				if r.ID.String() != newKid {
					t.Fatalf("active key %s, want %s", r.ID, newKid)
				}
			case r.RetiredAt == nil:
				t.Fatalf("retired key %s has no retired_at", r.ID)
			}
		}
		if len(rows) != 2 || active != 1 {
			t.Fatalf("%d signing keys, %d active; want 2 and 1", len(rows), active)
		}

		// A keyring started later with the same master key signs with the new
		// key and verifies tokens of both.
		k2 := newKeyring(t, st, master)
		if kidOf(t, sign(t, k2, claims(time.Minute), TypeSession)) != newKid {
			t.Fatal("a new keyring does not sign with the newest active key")
		}
		for name, tok := range map[string]string{"old": oldTok, "new": newTok} {
			if err := k2.Parse(ctx, tok, &jwt.RegisteredClaims{}, TypeSession, testAudience); err != nil {
				t.Fatalf("%s token in a second keyring: %v", name, err)
			}
		}
		if n, _ := st.Client.SigningKey.Query().Count(ctx); n != 2 {
			t.Fatalf("a second keyring on the same database made a key: %d keys", n)
		}

		// A key retired longer ago than any token lives stops verifying.
		if err := st.Client.SigningKey.UpdateOneID(uuid.MustParse(oldKid)).
			SetRetiredAt(time.Now().Add(-retiredKeyLifetime - time.Hour)).Exec(ctx); err != nil {
			t.Fatal(err)
		}
		k3 := newKeyring(t, st, master)
		if len(k3.JWKS()) != 1 || k3.JWKS()[0].KeyID != newKid {
			t.Fatalf("JWKS with a long-retired key: %+v", k3.JWKS())
		}
		if err := k3.Parse(ctx, oldTok, &jwt.RegisteredClaims{}, TypeSession, testAudience); !errors.Is(err, ErrInvalid) {
			t.Fatalf("token of a long-retired key: %v, want invalid", err)
		}
	})
}

func TestKeyringSeesAnotherInstancesRotation(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		master := newMaster(t)
		a := newKeyring(t, st, master)
		b := newKeyring(t, st, master)
		// b rereads the database for an unknown kid at most once per
		// reloadInterval; wait that out so the reload is due.
		time.Sleep(reloadInterval + 100*time.Millisecond)
		if err := a.Rotate(ctx); err != nil {
			t.Fatal(err)
		}
		tok := sign(t, a, claims(time.Minute), TypeSession)
		if err := b.Parse(ctx, tok, &jwt.RegisteredClaims{}, TypeSession, testAudience); err != nil {
			t.Fatalf("a keyring does not pick up another instance's new key: %v", err)
		}
		if len(b.JWKS()) != 2 {
			t.Fatalf("after the reload the JWKS has %d keys, want 2", len(b.JWKS()))
		}
	})
}

func TestWrongMasterKeyFailsAtStart(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		newKeyring(t, st, newMaster(t))
		k, err := NewKeyring(context.Background(), st.Client, newMaster(t), testIssuer)
		if err == nil || k != nil {
			t.Fatal("a keyring opened with another master key")
		}
		if !strings.Contains(err.Error(), "master key") {
			t.Fatalf("error %q does not mention the master key", err)
		}
		// Nothing was changed: still one key.
		if n, _ := st.Client.SigningKey.Query().Count(context.Background()); n != 1 {
			t.Fatalf("%d signing keys after a refused start, want 1", n)
		}
	})
}

// A token whose signature was verified once is not verified again, but
// everything else about it is still checked on every Parse, and it stops
// verifying with its key.
func TestParseOfAVerifiedToken(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		master := newMaster(t)
		k := newKeyring(t, st, master)
		parse := func(tok, typ, audience string) error {
			return k.Parse(ctx, tok, &jwt.RegisteredClaims{}, typ, audience)
		}
		tok := sign(t, k, claims(15*time.Minute), TypeSession)
		for range 2 {
			if err := parse(tok, TypeSession, testAudience); err != nil {
				t.Fatalf("Parse = %v", err)
			}
		}
		if len(k.verified) != 1 {
			t.Fatalf("%d verified tokens remembered, want 1", len(k.verified))
		}
		if err := parse(tok, TypeAccess, testAudience); !errors.Is(err, ErrInvalid) {
			t.Fatalf("a verified session token as an access token: %v, want invalid", err)
		}
		if err := parse(tok, TypeSession, "other"); !errors.Is(err, ErrInvalid) {
			t.Fatalf("a verified token for another audience: %v, want invalid", err)
		}
		// The claims are read afresh: the expiry is checked on every Parse.
		c := claims(time.Minute)
		c.ExpiresAt = jwt.NewNumericDate(time.Now().Add(-3 * time.Second))
		expiring := sign(t, k, c, TypeSession)
		if err := parse(expiring, TypeSession, testAudience); err != nil {
			t.Fatalf("a token within the leeway: %v", err)
		}
		time.Sleep(3 * time.Second)
		if err := parse(expiring, TypeSession, testAudience); !errors.Is(err, ErrExpired) {
			t.Fatalf("a verified token past its expiry: %v, want expired", err)
		}
		// Its key retired longer ago than any token lives, a verified token
		// stops verifying.
		if err := k.Rotate(ctx); err != nil {
			t.Fatal(err)
		}
		if err := st.Client.SigningKey.UpdateOneID(uuid.MustParse(kidOf(t, tok))).
			SetRetiredAt(time.Now().Add(-retiredKeyLifetime - time.Hour)).Exec(ctx); err != nil {
			t.Fatal(err)
		}
		if err := k.reload(ctx); err != nil {
			t.Fatal(err)
		}
		if err := parse(tok, TypeSession, testAudience); !errors.Is(err, ErrInvalid) {
			t.Fatalf("a verified token of a long-retired key: %v, want invalid", err)
		}
	})
}
