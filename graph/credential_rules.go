package graph

import (
	"context"
	"encoding/json"
	"slices"

	"github.com/credvault/credvault/internal/platform/paging"

	"github.com/google/uuid"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/ent/credential"
	"github.com/credvault/credvault/internal/access"
	"github.com/credvault/credvault/internal/audit"
	"github.com/credvault/credvault/internal/platform/apperr"
	"github.com/credvault/credvault/internal/platform/store"
	"github.com/credvault/credvault/internal/vault/crypt"
)

// secretShape is what a credential's data must and may hold.
type secretShape struct{ required, optional []string }

// secretShapes are the eight auth types of SPEC §7; custom takes any
// non-empty object.
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
// and so is a field the type does not know.
func checkSecret(t credential.AuthType, data map[string]any) error {
	if t == "" {
		return apperr.Invalid("auth_type", "required")
	}
	if err := credential.AuthTypeValidator(t); err != nil {
		return apperr.Invalid("auth_type", "invalid").With("allowed", authTypes)
	}
	if len(data) == 0 {
		return apperr.Invalid("data", "required")
	}
	shape, typed := secretShapes[t]
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
func (r *Resolver) seal(ctx context.Context, tx *ent.Client, m *ent.CredentialMutation, tenant, id uuid.UUID, data map[string]any) error {
	pt, err := json.Marshal(data)
	if err != nil {
		return apperr.Invalid("data", "invalid")
	}
	defer clear(pt)
	version, key, err := r.DEKs.Active(ctx, tx, tenant)
	if err != nil {
		return err
	}
	ct, err := crypt.SealCredential(key, pt, tenant, id, version)
	if err != nil {
		return err
	}
	m.SetCiphertext(ct)
	m.SetDekVersion(version)
	return nil
}

// decrypt opens a credential's secret for a principal holding
// credentials:decrypt, auditing the read in the same transaction as its
// last_accessed_at. The plaintext never reaches a log or an error.
func (r *Resolver) decrypt(ctx context.Context, c *ent.Credential) (map[string]any, error) {
	if _, err := r.require(ctx, access.CredentialsDecrypt); err != nil {
		return nil, err
	}
	pt, err := r.open(ctx, c)
	if err != nil {
		// A rotation may have moved the row and destroyed its old DEK since
		// it was read: read it again, once.
		fresh, ferr := r.Store.Client.Credential.Get(ctx, c.ID)
		if ferr != nil {
			return nil, ferr
		}
		if pt, err = r.open(ctx, fresh); err != nil {
			return nil, apperr.Wrap(err)
		}
	}
	defer clear(pt)
	var data map[string]any
	if err := json.Unmarshal(pt, &data); err != nil {
		return nil, apperr.Wrap(err)
	}
	err = store.WithTx(ctx, r.Store.Client, func(ctx context.Context, tx *ent.Client) error {
		if err := tx.Credential.UpdateOneID(c.ID).SetLastAccessedAt(store.Now()).Exec(ctx); err != nil {
			return err
		}
		return audit.Record(ctx, tx, audit.Entry{Action: "credential.decrypt", ResourceType: "credential",
			ResourceID: c.ID.String(), Details: map[string]any{"integration_id": c.IntegrationID, "auth_type": c.AuthType}})
	})
	if err != nil {
		return nil, err
	}
	r.Metrics.Decrypts.Inc()
	return data, nil
}

// open decrypts c's secret.
func (r *Resolver) open(ctx context.Context, c *ent.Credential) ([]byte, error) {
	key, err := r.DEKs.Key(ctx, c.TenantID, c.DekVersion)
	if err != nil {
		return nil, err
	}
	return crypt.OpenCredential(key, c.Ciphertext, c.TenantID, c.ID, c.DekVersion)
}

// CredentialsQuery is the tenant's credentials, for a principal holding
// credentials:read.
func (r *Resolver) CredentialsQuery(ctx context.Context) (*ent.CredentialQuery, error) {
	if _, err := r.require(ctx, access.CredentialsRead); err != nil {
		return nil, err
	}
	return r.Store.Client.Credential.Query(), nil
}

// ListCredentials is one offset page of the tenant's credential metadata.
func (r *Resolver) ListCredentials(ctx context.Context, where *ent.CredentialWhereInput, w paging.Window) ([]*ent.Credential, int, error) {
	q, err := r.CredentialsQuery(ctx)
	return paging.List(ctx, q, err, where, w, func(q *ent.CredentialQuery) *ent.CredentialQuery { return q.Order(w.Term(), w.Tie()) })
}

// DecryptedCredentials is the tenant's credentials for an integration with
// their secrets: credentials:decrypt is checked before anything is read.
func (r *Resolver) DecryptedCredentials(ctx context.Context, integrationID string) ([]*ent.Credential, []map[string]any, error) {
	if _, err := r.require(ctx, access.CredentialsDecrypt); err != nil {
		return nil, nil, err
	}
	bundle, err := r.Query().Credential(ctx, integrationID)
	if err != nil {
		return nil, nil, err
	}
	data := make([]map[string]any, len(bundle.Credentials))
	for i, c := range bundle.Credentials {
		if data[i], err = r.decrypt(ctx, c); err != nil {
			return nil, nil, err
		}
	}
	return bundle.Credentials, data, nil
}
