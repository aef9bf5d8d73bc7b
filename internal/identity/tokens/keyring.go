// Package tokens signs and verifies CredVault's JWTs — user session tokens
// and OAuth access tokens — with Ed25519 keys kept in the database, their
// private halves sealed under the master key.
package tokens

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/ent/signingkey"
	"github.com/credvault/credvault/internal/vault/crypt"
)

// The JWT types: the header's typ tells a session from an access token, so
// one can never be used as the other.
const (
	TypeSession = "JWT"
	TypeAccess  = "at+jwt"
)

// retiredKeyLifetime is how long a retired key still verifies: longer than
// any token it signed lives.
const retiredKeyLifetime = 48 * time.Hour

// verifiedMax bounds the tokens whose verified signature the keyring
// remembers: when full, it forgets them all.
const verifiedMax = 4096

// reloadInterval bounds how often an unknown kid makes the keyring reread
// the database (another instance may have rotated).
const reloadInterval = time.Second

// Errors of Parse, for the reasons of a 401.
var (
	ErrExpired   = errors.New("tokens: expired")
	ErrMalformed = errors.New("tokens: malformed")
	ErrInvalid   = errors.New("tokens: invalid")
)

type key struct {
	id      string
	public  ed25519.PublicKey
	private ed25519.PrivateKey // set on the active key only
	created time.Time
	retired *time.Time
}

// Keyring holds the signing keys.
type Keyring struct {
	client *ent.Client
	master *crypt.MasterKey
	// previous open keys sealed before a master-key rotation finished.
	previous []*crypt.MasterKey
	issuer   string

	mu         sync.RWMutex
	active     *key
	keys       map[string]*key
	lastReload time.Time

	// verified maps the SHA-256 of a token whose signature was verified to
	// the key that verified it: a token presented again (introspected,
	// or calling the API) is not verified again, as long as that key is
	// still in keys. Its claims are still read and checked every time.
	verifiedMu sync.RWMutex
	verified   map[[sha256.Size]byte]*key
}

// NewKeyring loads the signing keys, creating the first one on a new
// database. A master key that does not open the active key fails here, at
// start-up, never later on a request. previous are master keys that may
// still have sealed a key, while a master-key rotation is under way.
func NewKeyring(ctx context.Context, client *ent.Client, master *crypt.MasterKey, issuer string, previous ...*crypt.MasterKey) (*Keyring, error) {
	k := &Keyring{client: client, master: master, previous: previous, issuer: issuer}
	if err := k.reload(ctx); err != nil {
		return nil, err
	}
	if k.active == nil {
		if err := k.Rotate(ctx); err != nil {
			return nil, err
		}
	}
	return k, nil
}

// Issuer is the iss of every token.
func (k *Keyring) Issuer() string { return k.issuer }

func aad(id uuid.UUID) []byte { return []byte("credvault:signing-key:" + id.String()) }

// reload rereads the keys; the newest active key signs.
func (k *Keyring) reload(ctx context.Context) error {
	rows, err := k.client.SigningKey.Query().
		Where(signingkey.Or(signingkey.StatusEQ(signingkey.StatusActive),
			signingkey.RetiredAtGT(time.Now().Add(-retiredKeyLifetime)))).
		Order(ent.Desc(signingkey.FieldCreatedAt)).All(ctx)
	if err != nil {
		return fmt.Errorf("tokens: load signing keys: %w", err)
	}
	keys := make(map[string]*key, len(rows))
	var active *key
	for _, row := range rows {
		kk := &key{id: row.ID.String(), public: ed25519.PublicKey(row.PublicKey), created: row.CreatedAt, retired: row.RetiredAt}
		if active == nil && row.Status == signingkey.StatusActive {
			seed, err := openSealed(row, append([]*crypt.MasterKey{k.master}, k.previous...))
			if err != nil {
				return errors.New("tokens: the master key does not open the signing key: is CREDVAULT_MASTER_KEY the key this database was created with?")
			}
			kk.private = ed25519.NewKeyFromSeed(seed)
			active = kk
		}
		keys[kk.id] = kk
	}
	k.mu.Lock()
	k.active, k.keys, k.lastReload = active, keys, time.Now()
	k.mu.Unlock()
	return nil
}

// openSealed opens a key's sealed private half with the first master key that can.
func openSealed(row *ent.SigningKey, masters []*crypt.MasterKey) ([]byte, error) {
	var err error
	for _, m := range masters {
		var seed []byte
		if seed, err = m.Open(row.SealedPrivateKey, aad(row.ID)); err == nil {
			return seed, nil
		}
	}
	return nil, err
}

// OpenSigningKey opens the private half of the signing key id, sealed under
// master: a backup is checked with it before it is trusted.
func OpenSigningKey(master *crypt.MasterKey, id uuid.UUID, sealed []byte) ([]byte, error) {
	return master.Open(sealed, aad(id))
}

// Rewrap seals every signing key's private half under next, with tx: the
// master-key rotation. Each is opened with any of masters.
func Rewrap(ctx context.Context, tx *ent.Client, masters []*crypt.MasterKey, next *crypt.MasterKey) (int, error) {
	rows, err := tx.SigningKey.Query().All(ctx)
	if err != nil {
		return 0, err
	}
	for _, row := range rows {
		seed, err := openSealed(row, masters)
		if err != nil {
			return 0, fmt.Errorf("tokens: open signing key %s: %w", row.ID, err)
		}
		sealed, err := next.Seal(seed, aad(row.ID))
		clear(seed)
		if err != nil {
			return 0, err
		}
		if err := tx.SigningKey.UpdateOne(row).SetSealedPrivateKey(sealed).Exec(ctx); err != nil {
			return 0, err
		}
	}
	return len(rows), nil
}

// Rotate makes a new active key; the previous ones keep verifying until
// the tokens they signed have expired.
func (k *Keyring) Rotate(ctx context.Context) error {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return fmt.Errorf("tokens: generate key: %w", err)
	}
	id := uuid.New()
	sealed, err := k.master.Seal(priv.Seed(), aad(id))
	if err != nil {
		return err
	}
	tx, err := k.client.Tx(ctx)
	if err != nil {
		return fmt.Errorf("tokens: rotate: %w", err)
	}
	now := time.Now().UTC()
	if err := tx.SigningKey.Update().Where(signingkey.StatusEQ(signingkey.StatusActive)).
		SetStatus(signingkey.StatusRetired).SetRetiredAt(now).Exec(ctx); err != nil {
		return errors.Join(fmt.Errorf("tokens: rotate: %w", err), tx.Rollback())
	}
	if err := tx.SigningKey.Create().SetID(id).SetPublicKey(pub).SetSealedPrivateKey(sealed).Exec(ctx); err != nil {
		return errors.Join(fmt.Errorf("tokens: rotate: %w", err), tx.Rollback())
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("tokens: rotate: %w", err)
	}
	return k.reload(ctx)
}

// Sign signs claims as a JWT of type typ with the active key.
func (k *Keyring) Sign(claims jwt.Claims, typ string) (string, error) {
	k.mu.RLock()
	active := k.active
	k.mu.RUnlock()
	t := jwt.NewWithClaims(jwt.SigningMethodEdDSA, claims)
	t.Header["kid"] = active.id
	t.Header["typ"] = typ
	return t.SignedString(active.private)
}

// Parse verifies a JWT of type typ — signature, kid, issuer, audience and
// expiry — and fills claims.
func (k *Keyring) Parse(ctx context.Context, token string, claims jwt.Claims, typ, audience string) error {
	opts := []jwt.ParserOption{
		jwt.WithValidMethods([]string{jwt.SigningMethodEdDSA.Alg()}),
		jwt.WithIssuer(k.issuer),
		jwt.WithAudience(audience),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithLeeway(5 * time.Second),
	}
	sum := sha256.Sum256([]byte(token))
	var err error
	if kk := k.verifiedBy(sum); kk != nil {
		err = checkVerified(token, claims, typ, kk, opts)
	} else {
		var signer *key
		_, err = jwt.NewParser(opts...).ParseWithClaims(token, claims, func(t *jwt.Token) (any, error) {
			if t.Header["typ"] != typ {
				return nil, ErrInvalid
			}
			kid, _ := t.Header["kid"].(string)
			if signer = k.lookup(ctx, kid); signer != nil {
				return signer.public, nil
			}
			return nil, ErrInvalid
		})
		if err == nil {
			k.remember(sum, signer)
		}
	}
	switch {
	case err == nil:
		return nil
	case errors.Is(err, jwt.ErrTokenExpired):
		return ErrExpired
	case errors.Is(err, jwt.ErrTokenMalformed):
		return ErrMalformed
	}
	return ErrInvalid
}

// checkVerified reads and checks the claims of a token whose signature kk
// verified before: what ParseWithClaims does but the signature.
func checkVerified(token string, claims jwt.Claims, typ string, kk *key, opts []jwt.ParserOption) error {
	t, _, err := jwt.NewParser(opts...).ParseUnverified(token, claims)
	if err != nil {
		return err
	}
	if kid, _ := t.Header["kid"].(string); t.Header["typ"] != typ || kid != kk.id {
		return ErrInvalid
	}
	return jwt.NewValidator(opts...).Validate(claims)
}

// verifiedBy returns the key that verified the token of SHA-256 sum, if it
// still verifies.
func (k *Keyring) verifiedBy(sum [sha256.Size]byte) *key {
	k.verifiedMu.RLock()
	kk := k.verified[sum]
	k.verifiedMu.RUnlock()
	if kk == nil {
		return nil
	}
	k.mu.RLock()
	defer k.mu.RUnlock()
	if k.keys[kk.id] != kk {
		return nil
	}
	return kk
}

func (k *Keyring) remember(sum [sha256.Size]byte, kk *key) {
	k.verifiedMu.Lock()
	defer k.verifiedMu.Unlock()
	if k.verified == nil || len(k.verified) >= verifiedMax {
		k.verified = make(map[[sha256.Size]byte]*key)
	}
	k.verified[sum] = kk
}

// lookup finds the key of kid, rereading the database at most once a
// second when it is unknown.
func (k *Keyring) lookup(ctx context.Context, kid string) *key {
	k.mu.RLock()
	kk, last := k.keys[kid], k.lastReload
	k.mu.RUnlock()
	if kk != nil || kid == "" || time.Since(last) < reloadInterval {
		return kk
	}
	if err := k.reload(ctx); err != nil {
		return nil
	}
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.keys[kid]
}

// JWK is one public key of the JWKS document (RFC 7517, RFC 8037 for OKP).
type JWK struct {
	KeyType   string `json:"kty"`
	Curve     string `json:"crv"`
	X         string `json:"x"`
	KeyID     string `json:"kid"`
	Use       string `json:"use"`
	Algorithm string `json:"alg"`
}

// JWKS returns the public keys that verify current tokens, newest first.
func (k *Keyring) JWKS() []JWK {
	k.mu.RLock()
	defer k.mu.RUnlock()
	out := make([]JWK, 0, len(k.keys))
	for _, kk := range k.keys {
		out = append(out, JWK{KeyType: "OKP", Curve: "Ed25519", X: base64.RawURLEncoding.EncodeToString(kk.public),
			KeyID: kk.id, Use: "sig", Algorithm: "EdDSA"})
	}
	sort.Slice(out, func(i, j int) bool { return k.keys[out[i].KeyID].created.After(k.keys[out[j].KeyID].created) })
	return out
}
