package vault

import (
	"context"
	"encoding/json"
	"slices"

	"github.com/google/uuid"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/ent/credential"
	"github.com/credvault/credvault/internal/platform/apperr"
	"github.com/credvault/credvault/internal/vault/crypt"
)

// secretShape is what a credential's data must and may hold.
type secretShape struct{ required, optional []string }

// secretShapes are the auth types of SPEC §7; custom takes any non-empty
// object.
var secretShapes = map[credential.AuthType]secretShape{
	credential.AuthTypeOauth2Bearer:            {[]string{"access_token"}, []string{"refresh_token", "token_type", "expires_at", "scope"}},
	credential.AuthTypeOauth2ClientCredentials: {[]string{"client_id", "client_secret", "token_url"}, []string{"scopes", "audience"}},
	credential.AuthTypeAPIKey:                  {[]string{"api_key"}, []string{"header_name", "prefix"}},
	credential.AuthTypeBasicAuth:               {[]string{"username", "password"}, nil},
	credential.AuthTypeBearerToken:             {[]string{"token"}, nil},
	credential.AuthTypeJwt:                     {[]string{"token"}, []string{"signing_key", "algorithm", "claims"}},
	credential.AuthTypeSaml:                    {[]string{"assertion"}, []string{"idp_entity_id", "expires_at"}},
}

// authTypes lists the auth types, for error details.
var authTypes = []credential.AuthType{
	credential.AuthTypeOauth2Bearer, credential.AuthTypeOauth2ClientCredentials, credential.AuthTypeAPIKey,
	credential.AuthTypeBasicAuth, credential.AuthTypeBearerToken, credential.AuthTypeJwt, credential.AuthTypeSaml,
	credential.AuthTypeCustom,
}

// checkSecret validates data against its auth type before anything is
// stored: a missing required field is a 422 naming it (as data.<field>),
// and so is a field the type does not know. Values are never echoed.
func checkSecret(t credential.AuthType, data map[string]any) error {
	if t == "" {
		return apperr.Invalid("auth_type", "required")
	}
	if err := credential.AuthTypeValidator(t); err != nil {
		return apperr.Invalid("auth_type", "invalid").With("allowed", authTypes)
	}
	shape, typed := secretShapes[t]
	// An empty object of a typed secret names the field it lacks; only a
	// missing secret, or an empty custom one, names data itself.
	if data == nil || (!typed && len(data) == 0) {
		return apperr.Invalid("data", "required")
	}
	if !typed {
		return nil
	}
	for _, f := range shape.required {
		v, ok := data[f]
		if s, isString := v.(string); !ok || v == nil || (isString && s == "") {
			return apperr.Invalid("data."+f, "required").With("auth_type", t)
		}
		if _, isString := v.(string); !isString {
			return apperr.Invalid("data."+f, "must be a string").With("auth_type", t)
		}
	}
	for f := range data {
		if !slices.Contains(shape.required, f) && !slices.Contains(shape.optional, f) {
			return apperr.Invalid("data."+f, "unknown").With("auth_type", t)
		}
	}
	return nil
}

// seal encrypts data for credential id of tenant under the tenant's active
// DEK, with tx, and sets it on the mutation.
func (s *Service) seal(ctx context.Context, tx *ent.Client, m *ent.CredentialMutation, tenant, id uuid.UUID, data map[string]any) error {
	pt, err := json.Marshal(data)
	if err != nil {
		return apperr.Invalid("data", "invalid")
	}
	defer clear(pt)
	version, key, err := s.DEKs.Active(ctx, tx, tenant)
	if err != nil {
		return err
	}
	ct, err := crypt.Credential.Seal(key, pt, tenant, id, version)
	if err != nil {
		return err
	}
	m.SetCiphertext(ct)
	m.SetDekVersion(version)
	return nil
}

// open decrypts c's secret. A row that does not open may have been
// re-sealed by a DEK rotation since it was cached: the tenant's cached rows
// go, and the next read finds the new ones.
func (s *Service) open(ctx context.Context, c *ent.Credential) ([]byte, error) {
	key, err := s.DEKs.Key(ctx, c.TenantID, c.DekVersion)
	var pt []byte
	if err == nil {
		pt, err = crypt.Credential.Open(key, c.Ciphertext, c.TenantID, c.ID, c.DekVersion)
	}
	if err != nil {
		s.Cache.drop(c.TenantID)
	}
	return pt, err
}
