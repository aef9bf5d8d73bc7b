package vault

import (
	"context"
	"encoding/json"
	"log/slog"
	"time"

	"github.com/google/uuid"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/ent/credential"
	"github.com/credvault/credvault/internal/access"
	"github.com/credvault/credvault/internal/audit"
	"github.com/credvault/credvault/internal/platform/apperr"
	"github.com/credvault/credvault/internal/platform/flush"
	"github.com/credvault/credvault/internal/vault/dek"
)

// Decrypt opens a credential's secret for a principal holding
// credentials:decrypt. The answer waits for the read's audit entry to
// commit, through the group commit of s.Audit, and fails closed (503, no
// plaintext) without it; last_accessed_at follows in a batch. The
// plaintext never reaches a log or an error.
func (s *Service) Decrypt(ctx context.Context, c *ent.Credential) (map[string]any, error) {
	if _, err := s.Guard.Require(ctx, access.DecryptCredential); err != nil {
		return nil, err
	}
	pt, err := dek.Reopen(c, func(c *ent.Credential) ([]byte, error) { return s.open(ctx, c) },
		func() (*ent.Credential, error) { return s.Client.Credential.Get(ctx, c.ID) })
	if ent.IsNotFound(err) { // deleted meanwhile
		return nil, err
	}
	if err != nil {
		return nil, apperr.Wrap(err)
	}
	defer clear(pt)
	var data map[string]any
	if err := json.Unmarshal(pt, &data); err != nil {
		return nil, apperr.Wrap(err)
	}
	err = s.Audit.Write(ctx, audit.Entry{Action: "credential.decrypt", ResourceType: "credential",
		ResourceID: c.ID.String(), Details: map[string]any{"integration_id": c.IntegrationID, "auth_type": c.AuthType}})
	if err != nil {
		return nil, err
	}
	s.Accessed.Touch(c.ID, time.Now())
	s.Metrics.Decrypts.Inc()
	return data, nil
}

// NewAccessed returns the batcher of credentials' last_accessed_at, which
// never moves backwards.
func NewAccessed(client *ent.Client, logger *slog.Logger) *flush.Latest {
	return flush.NewLatest("credential_last_accessed", client, logger,
		func(ctx context.Context, tx *ent.Client, id uuid.UUID, t time.Time) error {
			return tx.Credential.Update().
				Where(credential.ID(id), credential.Or(credential.LastAccessedAtIsNil(), credential.LastAccessedAtLT(t))).
				SetLastAccessedAt(t).Exec(ctx)
		})
}

// Decrypted is the tenant's credentials for an integration with their
// data, in order: the read of ByIntegration with data, each row decrypted
// and audited.
func (s *Service) Decrypted(ctx context.Context, integrationID string) ([]*ent.Credential, []map[string]any, error) {
	b, err := s.ByIntegration(ctx, integrationID, true)
	if err != nil {
		return nil, nil, err
	}
	data := make([]map[string]any, len(b.Credentials))
	for i, c := range b.Credentials {
		if data[i], err = s.Decrypt(ctx, c); err != nil {
			return nil, nil, err
		}
	}
	return b.Credentials, data, nil
}
