package rest

import (
	"context"
	"net/http"
	"time"

	"github.com/credvault/credvault/internal/vault"

	"github.com/google/uuid"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/ent/credential"
	"github.com/credvault/credvault/ent/migrate"
	"github.com/credvault/credvault/internal/access"
)

type storeCredentialBody struct {
	IntegrationID string         `json:"integration_id"`
	Name          *string        `json:"name,omitempty"`
	AuthType      string         `json:"auth_type"`
	Data          map[string]any `json:"data"`
	Metadata      map[string]any `json:"metadata,omitempty"`
	ExpiresAt     *time.Time     `json:"expires_at,omitempty"`
}

type updateCredentialBody struct {
	Name      *string        `json:"name,omitempty"`
	Metadata  map[string]any `json:"metadata,omitempty"`
	ExpiresAt *time.Time     `json:"expires_at,omitempty"`
	Status    *string        `json:"status,omitempty"`
	Data      map[string]any `json:"data,omitempty"`
}

type rotateDEKBody struct {
	TenantID *uuid.UUID `json:"tenant_id,omitempty"`
}

// credentialJSON is a credential in REST responses: metadata, plus Data only
// on the decrypting route.
type credentialJSON struct {
	ID             uuid.UUID      `json:"id"`
	TenantID       uuid.UUID      `json:"tenant_id"`
	IntegrationID  string         `json:"integration_id"`
	Name           string         `json:"name"`
	AuthType       string         `json:"auth_type"`
	Data           map[string]any `json:"data,omitempty"`
	Metadata       map[string]any `json:"metadata"`
	Status         string         `json:"status"`
	ExpiresAt      *time.Time     `json:"expires_at"`
	LastAccessedAt *time.Time     `json:"last_accessed_at"`
	CreatedBy      *uuid.UUID     `json:"created_by"`
	CreatedAt      time.Time      `json:"created_at"`
	UpdatedAt      time.Time      `json:"updated_at"`
}

type integrationJSON struct {
	IntegrationID string            `json:"integration_id"`
	Credentials   []*credentialJSON `json:"credentials"`
}

type dekRotationJSON struct {
	DEKVersion int       `json:"dek_version"`
	JobID      uuid.UUID `json:"job_id"`
}

func toCredentialJSON(c *ent.Credential) *credentialJSON {
	md := c.Metadata
	if md == nil {
		md = map[string]any{}
	}
	return &credentialJSON{ID: c.ID, TenantID: c.TenantID, IntegrationID: c.IntegrationID, Name: c.Name,
		AuthType: c.AuthType.String(), Metadata: md, Status: c.Status.String(), ExpiresAt: c.ExpiresAt,
		LastAccessedAt: c.LastAccessedAt, CreatedBy: c.CreatedBy, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}
}

func (a *API) credentialRoutes() []Route {
	return []Route{
		HandleBody(Route{Method: http.MethodPost, Path: "/credentials", Op: access.StoreCredential,
			Summary: "Store an integration's secret, encrypted; returns metadata only", Status: http.StatusCreated, Message: "credential stored"},
			func(ctx context.Context, _ *Call, in *storeCredentialBody) (*credentialJSON, error) {
				c, err := a.Resolver.Vault.Store(ctx, vault.StoreCredentialInput{IntegrationID: in.IntegrationID,
					Name: in.Name, AuthType: credential.AuthType(in.AuthType), Data: in.Data, Metadata: in.Metadata, ExpiresAt: in.ExpiresAt})
				if err != nil {
					return nil, err
				}
				return toCredentialJSON(c), nil
			}),
		HandleWhere(Route{Method: http.MethodGet, Path: "/credentials", Op: access.ListCredentials,
			Summary: "List credential metadata; filters integration_id, auth_type, status", Status: http.StatusOK, Message: "credentials",
			Sort: []string{"created_at", "updated_at", "integration_id", "name", "auth_type", "status", "expires_at"},
			Filters: []Filter{{Name: "integration_id", Field: "IntegrationID"},
				{Name: "auth_type", Field: "AuthType", Enum: enumOf(migrate.CredentialsTable, credential.FieldAuthType)},
				{Name: "status", Field: "Status", Enum: enumOf(migrate.CredentialsTable, credential.FieldStatus)}}},
			a.Resolver.Vault.List, toCredentialJSON),
		Handle(Route{Method: http.MethodGet, Path: "/credentials/{integrationId}", Op: access.DecryptCredential, Secret: true,
			Summary: "The integration's credentials with their decrypted data; every read is audited", Status: http.StatusOK, Message: "credentials"},
			func(ctx context.Context, c *Call) (*integrationJSON, error) {
				rows, data, err := a.Resolver.Vault.Decrypted(ctx, c.Param("integrationId"))
				if err != nil {
					return nil, err
				}
				out := &integrationJSON{IntegrationID: c.Param("integrationId"), Credentials: mapSlice(rows, toCredentialJSON)}
				for i := range out.Credentials {
					out.Credentials[i].Data = data[i]
				}
				return out, nil
			}),
		Handle(Route{Method: http.MethodGet, Path: "/credentials/{integrationId}/details", Op: access.ReadCredential,
			Summary: "The integration's credentials, metadata only", Status: http.StatusOK, Message: "credential details"},
			func(ctx context.Context, c *Call) (*integrationJSON, error) {
				b, err := a.Resolver.Vault.ByIntegration(ctx, c.Param("integrationId"), false)
				if err != nil {
					return nil, err
				}
				return &integrationJSON{IntegrationID: b.IntegrationID, Credentials: mapSlice(b.Credentials, toCredentialJSON)}, nil
			}),
		HandleBody(Route{Method: http.MethodPatch, Path: "/credentials/{integrationId}/{credentialId}", Op: access.UpdateCredential, Summary: "Update name, metadata, expires_at, status; data replaces the secret",
			Status: http.StatusOK, Message: "credential updated"},
			func(ctx context.Context, c *Call, in *updateCredentialBody) (*credentialJSON, error) {
				id, err := c.IDParam("credentialId")
				if err != nil {
					return nil, err
				}
				input := vault.UpdateCredentialInput{Name: in.Name, Metadata: in.Metadata, ExpiresAt: in.ExpiresAt, Data: in.Data}
				if in.Status != nil {
					s := credential.Status(*in.Status)
					input.Status = &s
				}
				cr, err := a.Resolver.Vault.Update(ctx, c.Param("integrationId"), id, input)
				if err != nil {
					return nil, err
				}
				return toCredentialJSON(cr), nil
			}),
		Handle(Route{Method: http.MethodDelete, Path: "/credentials/{integrationId}/{credentialId}", Op: access.DeleteCredential, Summary: "Delete a credential; its ciphertext is destroyed", Status: http.StatusOK, Message: "credential deleted"},
			func(ctx context.Context, c *Call) (*deleted, error) {
				id, err := c.IDParam("credentialId")
				if err != nil {
					return nil, err
				}
				if _, err := a.Resolver.Vault.Delete(ctx, c.Param("integrationId"), id); err != nil {
					return nil, err
				}
				return &deleted{ID: id, Deleted: true}, nil
			}),
		HandleBody(Route{Method: http.MethodPost, Path: "/admin/dek/rotate", Op: access.RotateDEK,
			Summary: "Rotate the tenant's DEK: new writes use it at once, a job re-encrypts the rest",
			Status:  http.StatusAccepted, Message: "DEK rotation started"},
			func(ctx context.Context, _ *Call, in *rotateDEKBody) (*dekRotationJSON, error) {
				r, err := a.Resolver.Vault.RotateDEK(ctx, in.TenantID)
				if err != nil {
					return nil, err
				}
				return &dekRotationJSON{DEKVersion: r.DekVersion, JobID: r.JobID}, nil
			}),
	}
}
