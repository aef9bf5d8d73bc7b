package rest

import (
	"context"
	"net/http"
	"time"

	"github.com/credvault/credvault/internal/identity"

	"github.com/google/uuid"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/internal/access"
)

type createServiceAccountBody struct {
	Name         string   `json:"name"`
	Description  *string  `json:"description,omitempty"`
	Scopes       []string `json:"scopes"`
	CreateAPIKey *bool    `json:"create_api_key,omitempty"`
}

type serviceAccountJSON struct {
	ID          uuid.UUID  `json:"id"`
	TenantID    uuid.UUID  `json:"tenant_id"`
	Name        string     `json:"name"`
	Description string     `json:"description"`
	Scopes      []string   `json:"scopes"`
	Status      string     `json:"status"`
	CreatedBy   *uuid.UUID `json:"created_by"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
}

type createdServiceAccount struct {
	ServiceAccount *serviceAccountJSON `json:"service_account"`
	APIKey         *apiKeyJSON         `json:"api_key,omitempty"`
}

func (a *API) serviceAccountRoutes() []Route {
	return []Route{
		HandleBody(Route{Method: http.MethodPost, Path: "/admin/service-account/create", Op: access.CreateServiceAccount, Secret: true, Summary: "Create a service account, optionally with its first API key (shown once)",
			Status: http.StatusCreated, Message: "service account created"},
			func(ctx context.Context, _ *Call, in *createServiceAccountBody) (*createdServiceAccount, error) {
				p, err := a.Resolver.Users.CreateServiceAccount(ctx, identity.CreateServiceAccountInput{
					Name: in.Name, Description: in.Description, Scopes: orEmpty(in.Scopes), CreateAPIKey: in.CreateAPIKey})
				if err != nil {
					return nil, err
				}
				out := &createdServiceAccount{ServiceAccount: toServiceAccountJSON(p.ServiceAccount)}
				if p.APIKey != nil {
					out.APIKey = toCreatedAPIKeyJSON(p.APIKey)
				}
				return out, nil
			}),
	}
}

func toServiceAccountJSON(sa *ent.ServiceAccount) *serviceAccountJSON {
	return &serviceAccountJSON{ID: sa.ID, TenantID: sa.TenantID, Name: sa.Name, Description: sa.Description,
		Scopes: orEmpty(sa.Scopes), Status: sa.Status.String(), CreatedBy: sa.CreatedBy, CreatedAt: sa.CreatedAt, UpdatedAt: sa.UpdatedAt}
}

// orEmpty keeps lists in JSON as [], never null.
func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
