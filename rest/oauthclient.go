package rest

import (
	"context"
	"net/http"
	"time"

	"github.com/credvault/credvault/internal/oauth"

	"github.com/google/uuid"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/ent/migrate"
	"github.com/credvault/credvault/ent/oauthclient"
	"github.com/credvault/credvault/internal/access"
)

type createOAuthClientBody struct {
	Name                  string   `json:"name"`
	Scopes                []string `json:"scopes"`
	GrantTypes            []string `json:"grant_types,omitempty"`
	RedirectURIs          []string `json:"redirect_uris,omitempty"`
	AccessTokenTTLSeconds *int     `json:"access_token_ttl_seconds,omitempty"`
}

type updateOAuthClientBody struct {
	Name                  *string  `json:"name,omitempty"`
	Scopes                []string `json:"scopes,omitempty"`
	GrantTypes            []string `json:"grant_types,omitempty"`
	RedirectURIs          []string `json:"redirect_uris,omitempty"`
	AccessTokenTTLSeconds *int     `json:"access_token_ttl_seconds,omitempty"`
	Status                *string  `json:"status,omitempty"`
}

// oauthClientJSON is an OAuth client in REST responses; ClientSecret is set
// only at creation and rotation, the one time it is shown.
type oauthClientJSON struct {
	ID                    uuid.UUID  `json:"id"`
	TenantID              uuid.UUID  `json:"tenant_id"`
	ClientID              string     `json:"client_id"`
	ClientSecret          string     `json:"client_secret,omitempty"`
	Name                  string     `json:"name"`
	Scopes                []string   `json:"scopes"`
	GrantTypes            []string   `json:"grant_types"`
	RedirectURIs          []string   `json:"redirect_uris"`
	AccessTokenTTLSeconds int        `json:"access_token_ttl_seconds"`
	Status                string     `json:"status"`
	CreatedBy             *uuid.UUID `json:"created_by"`
	CreatedAt             time.Time  `json:"created_at"`
	UpdatedAt             time.Time  `json:"updated_at"`
}

func toOAuthClientJSON(c *ent.OAuthClient) *oauthClientJSON {
	return &oauthClientJSON{ID: c.ID, TenantID: c.TenantID, ClientID: c.ClientID, Name: c.Name, Scopes: orEmpty(c.Scopes),
		GrantTypes: orEmpty(c.GrantTypes), RedirectURIs: orEmpty(c.RedirectUris), AccessTokenTTLSeconds: c.AccessTokenTTLSeconds,
		Status: c.Status.String(), CreatedBy: c.CreatedBy, CreatedAt: c.CreatedAt, UpdatedAt: c.UpdatedAt}
}

func toCreatedOAuthClientJSON(c *oauth.CreatedOAuthClient) *oauthClientJSON {
	out := toOAuthClientJSON(c.OauthClient)
	out.ClientSecret = c.ClientSecret
	return out
}

func (a *API) oauthClientRoutes() []Route {
	return []Route{
		HandleBody(Route{Method: http.MethodPost, Path: "/oauth-clients", Op: access.CreateOAuthClient, Secret: true,
			Summary: "Create an OAuth client; client_secret is shown once", Status: http.StatusCreated, Message: "OAuth client created"},
			func(ctx context.Context, _ *Call, in *createOAuthClientBody) (*oauthClientJSON, error) {
				c, err := a.Resolver.Mutation().CreateOAuthClient(ctx, oauth.CreateOAuthClientInput{Name: in.Name, Scopes: orEmpty(in.Scopes),
					GrantTypes: in.GrantTypes, RedirectURIs: in.RedirectURIs, AccessTokenTTLSeconds: in.AccessTokenTTLSeconds})
				if err != nil {
					return nil, err
				}
				return toCreatedOAuthClientJSON(c), nil
			}),
		HandleWhere(Route{Method: http.MethodGet, Path: "/oauth-clients", Op: access.ListOAuthClients,
			Summary: "List OAuth clients; filter status", Status: http.StatusOK, Message: "OAuth clients",
			Sort:    []string{"created_at", "updated_at", "name", "client_id", "status"},
			Filters: []Filter{{Name: "status", Field: "Status", Enum: enumOf(migrate.OauthClientsTable, oauthclient.FieldStatus)}}},
			a.Resolver.OAuthClients.List, toOAuthClientJSON),
		Handle(Route{Method: http.MethodGet, Path: "/oauth-clients/{clientId}", Op: access.ReadOAuthClient,
			Summary: "Get an OAuth client by client_id", Status: http.StatusOK, Message: "OAuth client"},
			func(ctx context.Context, c *Call) (*oauthClientJSON, error) {
				oc, err := a.Resolver.Query().OauthClient(ctx, c.Param("clientId"))
				if err != nil {
					return nil, err
				}
				return toOAuthClientJSON(oc), nil
			}),
		HandleBody(Route{Method: http.MethodPatch, Path: "/oauth-clients/{clientId}", Op: access.UpdateOAuthClient,
			Summary: "Update an OAuth client; status disabled stops its tokens at once", Status: http.StatusOK, Message: "OAuth client updated"},
			func(ctx context.Context, c *Call, in *updateOAuthClientBody) (*oauthClientJSON, error) {
				input := oauth.UpdateOAuthClientInput{Name: in.Name, Scopes: in.Scopes, GrantTypes: in.GrantTypes,
					RedirectURIs: in.RedirectURIs, AccessTokenTTLSeconds: in.AccessTokenTTLSeconds}
				if in.Status != nil {
					s := oauthclient.Status(*in.Status)
					input.Status = &s
				}
				oc, err := a.Resolver.Mutation().UpdateOAuthClient(ctx, c.Param("clientId"), input)
				if err != nil {
					return nil, err
				}
				return toOAuthClientJSON(oc), nil
			}),
		HandleBody(Route{Method: http.MethodPost, Path: "/oauth-clients/{clientId}/rotate-secret", Op: access.RotateOAuthClientSecret, Secret: true, Conflicts: true, Summary: "Issue a new client secret, shown once", Status: http.StatusOK, Message: "client secret rotated"},
			func(ctx context.Context, c *Call, in *rotateBody) (*oauthClientJSON, error) {
				oc, err := a.Resolver.Mutation().RotateOAuthClientSecret(ctx, c.Param("clientId"),
					&oauth.RotateOAuthClientSecretInput{GracePeriodSeconds: in.GracePeriodSeconds})
				if err != nil {
					return nil, err
				}
				return toCreatedOAuthClientJSON(oc), nil
			}),
		Handle(Route{Method: http.MethodDelete, Path: "/oauth-clients/{clientId}", Op: access.DeleteOAuthClient,
			Summary: "Delete an OAuth client; its tokens stop working at once", Status: http.StatusOK, Message: "OAuth client deleted"},
			func(ctx context.Context, c *Call) (*deletedClient, error) {
				id, err := a.Resolver.Mutation().DeleteOAuthClient(ctx, c.Param("clientId"))
				if err != nil {
					return nil, err
				}
				return &deletedClient{ClientID: id, Deleted: true}, nil
			}),
	}
}

type deletedClient struct {
	ClientID string `json:"client_id"`
	Deleted  bool   `json:"deleted"`
}
