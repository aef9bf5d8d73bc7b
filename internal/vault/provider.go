package vault

import (
	"context"
	"encoding/json"
	"time"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/ent/credential"
	"github.com/credvault/credvault/internal/access"
	"github.com/credvault/credvault/internal/platform/apperr"
)

// ProviderKey is an AI gateway provider's key, opened for one call.
type ProviderKey struct {
	// Secret is the key or bearer token; the caller clears it after use.
	Secret       []byte
	CredentialID string
}

// ProviderAuthTypes are the auth types a provider's credential may have.
var ProviderAuthTypes = []credential.AuthType{credential.AuthTypeAPIKey, credential.AuthTypeBearerToken}

// CheckProviderCredential reports whether the context's tenant holds an
// active api_key or bearer_token credential under integrationID: a 422
// naming credential_integration_id otherwise. Another tenant's rows are
// invisible here, as everywhere.
func (s *Service) CheckProviderCredential(ctx context.Context, integrationID string) error {
	n, err := s.Client.Credential.Query().Where(credential.IntegrationID(integrationID),
		credential.AuthTypeIn(ProviderAuthTypes...), credential.StatusEQ(credential.StatusActive)).Count(ctx)
	if err != nil {
		return err
	}
	if n == 0 {
		return apperr.Invalid("credential_integration_id", "without an active api_key or bearer_token credential").
			With("allowed_auth_types", ProviderAuthTypes)
	}
	return nil
}

// OpenProviderKey decrypts the key of an AI gateway provider for the
// gateway, which has authorised the call (gateway:invoke) and audits it
// (gateway.chat). The rows stay cached sealed; only the returned secret is
// plaintext, and nothing here logs it.
func (s *Service) OpenProviderKey(ctx context.Context, integrationID string) (*ProviderKey, error) {
	p, ok := access.FromContext(ctx)
	if !ok {
		return nil, apperr.Unauthenticated("no principal")
	}
	rows, err := s.Cache.integration(ctx, p.TenantID, integrationID, func() ([]*ent.Credential, error) {
		return s.Client.Credential.Query().Where(credential.IntegrationID(integrationID)).
			Order(ent.Asc(credential.FieldCreatedAt), ent.Asc(credential.FieldID)).All(ctx)
	})
	if err != nil {
		return nil, err
	}
	for _, c := range rows {
		if c.Status != credential.StatusActive || (c.AuthType != credential.AuthTypeAPIKey && c.AuthType != credential.AuthTypeBearerToken) ||
			(c.ExpiresAt != nil && c.ExpiresAt.Before(time.Now())) {
			continue
		}
		pt, err := s.open(ctx, c)
		if err != nil {
			return nil, apperr.Wrap(err)
		}
		var data struct {
			APIKey string `json:"api_key"`
			Token  string `json:"token"`
		}
		err = json.Unmarshal(pt, &data)
		clear(pt)
		if err != nil {
			return nil, apperr.Wrap(err)
		}
		key := data.APIKey
		if c.AuthType == credential.AuthTypeBearerToken {
			key = data.Token
		}
		s.Accessed.Touch(c.ID, time.Now())
		s.Metrics.Decrypts.Inc()
		return &ProviderKey{Secret: []byte(key), CredentialID: c.ID.String()}, nil
	}
	return nil, apperr.NotFoundf("provider credential")
}
