package vault

import (
	"context"
	"strings"
	"time"

	"entgo.io/contrib/entgql"
	"github.com/google/uuid"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/ent/credential"
	"github.com/credvault/credvault/internal/access"
	"github.com/credvault/credvault/internal/audit"
	"github.com/credvault/credvault/internal/platform/apperr"
	"github.com/credvault/credvault/internal/platform/ids"
	"github.com/credvault/credvault/internal/platform/paging"
	"github.com/credvault/credvault/internal/platform/store"
	"github.com/credvault/credvault/internal/webhooks"
)

// Query is the tenant's credentials (metadata), for a principal holding
// credentials:read: the GraphQL connection pages it.
func (s *Service) Query(ctx context.Context) (*ent.CredentialQuery, error) {
	if _, err := s.Guard.Require(ctx, access.ListCredentials); err != nil {
		return nil, err
	}
	return s.Client.Credential.Query(), nil
}

// Page is one connection page of the tenant's credential metadata, as
// GraphQL lists it.
func (s *Service) Page(ctx context.Context, after *entgql.Cursor[uuid.UUID], first *int, before *entgql.Cursor[uuid.UUID], last *int,
	orderBy *ent.CredentialOrder, where *ent.CredentialWhereInput) (*ent.CredentialConnection, error) {
	q, err := s.Query(ctx)
	if err != nil {
		return nil, err
	}
	return paging.Connection(ctx, q, where.Filter, first, last, paging.Cursors{After: after, Before: before, Order: orderBy},
		func(ctx context.Context, q *ent.CredentialQuery, first, last *int) (*ent.CredentialConnection, error) {
			return q.Paginate(ctx, after, first, before, last, ent.WithCredentialOrder(orderBy))
		}, func(c *ent.CredentialConnection) (*int, ent.PageInfo) { return &c.TotalCount, c.PageInfo })
}

// List is one offset page of the tenant's credential metadata, filtered by
// where, with the total.
func (s *Service) List(ctx context.Context, where *ent.CredentialWhereInput, w paging.Window) ([]*ent.Credential, int, error) {
	q, err := s.Query(ctx)
	return paging.List(ctx, q, err, where, w, func(q *ent.CredentialQuery) *ent.CredentialQuery { return q.Order(w.Term(), w.Tie()) })
}

// ByIntegration is the tenant's credentials for one integration, oldest
// first; 404 when it holds none. withData says whether the caller reads
// their data too: the data read needs credentials:decrypt and that scope
// alone suffices for the whole read (SPEC §5), while metadata alone needs
// credentials:read. The data itself is opened by Decrypt, row by row. The
// rows come from the cache while no change of the tenant's credentials
// dropped them.
func (s *Service) ByIntegration(ctx context.Context, integrationID string, withData bool) (*IntegrationCredentials, error) {
	op := access.ReadCredential
	if withData {
		op = access.DecryptCredential
	}
	p, err := s.Guard.Require(ctx, op)
	if err != nil {
		return nil, err
	}
	rows, err := s.Cache.integration(ctx, p.TenantID, integrationID, func() ([]*ent.Credential, error) {
		return s.Client.Credential.Query().Where(credential.IntegrationID(integrationID)).
			Order(ent.Asc(credential.FieldCreatedAt), ent.Asc(credential.FieldID)).Limit(ent.MaxPageSize).All(ctx)
	})
	if err != nil {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, apperr.NotFoundf("integration")
	}
	return &IntegrationCredentials{IntegrationID: integrationID, Credentials: rows}, nil
}

// Store saves a credential in the caller's tenant, its data validated
// against its auth type and sealed under the tenant's active DEK, audited
// in the same transaction.
func (s *Service) Store(ctx context.Context, input StoreCredentialInput) (*ent.Credential, error) {
	p, err := s.Guard.Require(ctx, access.StoreCredential)
	if err != nil {
		return nil, err
	}
	integration := strings.TrimSpace(input.IntegrationID)
	switch {
	case integration == "":
		return nil, apperr.Invalid("integration_id", "required")
	case len(integration) > 200:
		return nil, apperr.Invalid("integration_id", "too_long")
	case strings.ContainsAny(integration, "/?#%"):
		// It is a path segment of the REST routes.
		return nil, apperr.Invalid("integration_id", "must not contain / ? # or %")
	}
	if err := checkSecret(input.AuthType, input.Data); err != nil {
		return nil, err
	}
	metadata := input.Metadata
	if metadata == nil {
		metadata = map[string]any{}
	}
	var name string
	if input.Name != nil {
		name = *input.Name
	}
	var expires *time.Time
	if input.ExpiresAt != nil {
		t := input.ExpiresAt.UTC()
		expires = &t
	}
	return store.Write(ctx, s.Client, func(ctx context.Context, tx *ent.Client) (*ent.Credential, error) {
		id := ids.New()
		create := tx.Credential.Create().SetID(id).SetTenantID(p.TenantID).SetIntegrationID(integration).
			SetName(name).SetAuthType(input.AuthType).SetMetadata(metadata).
			SetNillableExpiresAt(expires).SetCreatedBy(p.ID)
		if err := s.seal(ctx, tx, create.Mutation(), p.TenantID, id, input.Data); err != nil {
			return nil, err
		}
		c, err := create.Save(ctx)
		if err != nil {
			return nil, err
		}
		s.Cache.added(ctx, p.TenantID)
		if err := audit.Record(ctx, tx, audit.Entry{Action: "credential.create", ResourceType: "credential", ResourceID: c.ID.String(),
			Details: map[string]any{"integration_id": integration, "auth_type": input.AuthType}}); err != nil {
			return nil, err
		}
		return c, s.Events.Emit(ctx, tx, c.TenantID, webhooks.CredentialCreated, c)
	})
}

// Update changes a credential of the integration; new data is validated
// against its auth type and sealed under the active DEK. The audit entry
// names the fields changed, never their values.
func (s *Service) Update(ctx context.Context, integrationID string, id uuid.UUID, input UpdateCredentialInput) (*ent.Credential, error) {
	if _, err := s.Guard.Require(ctx, access.UpdateCredential); err != nil {
		return nil, err
	}
	return store.Write(ctx, s.Client, func(ctx context.Context, tx *ent.Client) (*ent.Credential, error) {
		c, err := tx.Credential.Query().Where(credential.ID(id), credential.IntegrationID(integrationID)).Only(ctx)
		if err != nil {
			return nil, err
		}
		upd := tx.Credential.UpdateOne(c)
		var changed []string
		if input.Name != nil {
			upd.SetName(*input.Name)
			changed = append(changed, "name")
		}
		if input.Metadata != nil {
			upd.SetMetadata(input.Metadata)
			changed = append(changed, "metadata")
		}
		if input.ExpiresAt != nil {
			upd.SetExpiresAt(input.ExpiresAt.UTC())
			changed = append(changed, "expires_at")
		}
		if input.Status != nil {
			if err := credential.StatusValidator(*input.Status); err != nil {
				return nil, apperr.Invalid("status", "invalid").With("allowed", []string{"active", "disabled", "expired"})
			}
			upd.SetStatus(*input.Status)
			changed = append(changed, "status")
		}
		if input.Data != nil {
			if err := checkSecret(c.AuthType, input.Data); err != nil {
				return nil, err
			}
			if err := s.seal(ctx, tx, upd.Mutation(), c.TenantID, c.ID, input.Data); err != nil {
				return nil, err
			}
			changed = append(changed, "data")
		}
		if c, err = upd.Save(ctx); err != nil {
			return nil, err
		}
		if err := s.Cache.changed(ctx, tx, c.TenantID); err != nil {
			return nil, err
		}
		if err := audit.Record(ctx, tx, audit.Entry{Action: "credential.update", ResourceType: "credential", ResourceID: c.ID.String(),
			Details: map[string]any{"integration_id": integrationID, "fields": changed}}); err != nil {
			return nil, err
		}
		return c, s.Events.Emit(ctx, tx, c.TenantID, webhooks.CredentialUpdated, c)
	})
}

// Delete removes a credential of the integration, its ciphertext
// overwritten first, and returns its id.
func (s *Service) Delete(ctx context.Context, integrationID string, id uuid.UUID) (uuid.UUID, error) {
	if _, err := s.Guard.Require(ctx, access.DeleteCredential); err != nil {
		return uuid.Nil, err
	}
	err := store.WithTx(ctx, s.Client, func(ctx context.Context, tx *ent.Client) error {
		c, err := tx.Credential.Query().Where(credential.ID(id), credential.IntegrationID(integrationID)).Only(ctx)
		if err != nil {
			return err
		}
		// Overwrite the ciphertext before the row goes, so no copy of it
		// lingers in the live table (SQLite also runs with secure_delete).
		if err := tx.Credential.UpdateOne(c).SetCiphertext([]byte{}).Exec(ctx); err != nil {
			return err
		}
		if err := tx.Credential.DeleteOne(c).Exec(ctx); err != nil {
			return err
		}
		if err := s.Cache.changed(ctx, tx, c.TenantID); err != nil {
			return err
		}
		if err := audit.Record(ctx, tx, audit.Entry{Action: "credential.delete", ResourceType: "credential", ResourceID: c.ID.String(),
			Details: map[string]any{"integration_id": integrationID}}); err != nil {
			return err
		}
		return s.Events.Emit(ctx, tx, c.TenantID, webhooks.CredentialDeleted, c)
	})
	if err != nil {
		return uuid.Nil, err
	}
	return id, nil
}
