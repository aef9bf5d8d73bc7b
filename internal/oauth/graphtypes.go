package oauth

// The types of this package that the GraphQL schema names (bound in
// gqlgen.yml): the service takes and returns them, the resolvers pass them on.

import (
	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/ent/oauthclient"
)

type CreateOAuthClientInput struct {
	Name string `json:"name"`
	// Never more than the caller holds.
	Scopes []string `json:"scopes"`
	// Defaults to [client_credentials], the one grant supported.
	GrantTypes []string `json:"grantTypes,omitempty"`
	// Absolute https URIs, or http on localhost.
	RedirectURIs []string `json:"redirectURIs,omitempty"`
	// Lifetime of the client's access tokens: 60 to 86400 seconds, default 3600.
	AccessTokenTTLSeconds *int `json:"accessTokenTTLSeconds,omitempty"`
}

// A newly created client or rotated secret: the only time the secret is shown.
type CreatedOAuthClient struct {
	ClientSecret string           `json:"clientSecret"`
	OauthClient  *ent.OAuthClient `json:"oauthClient"`
}

type RotateOAuthClientSecretInput struct {
	// How long the old secret keeps working; 0 or omitted stops it at once.
	GracePeriodSeconds *int `json:"gracePeriodSeconds,omitempty"`
}

type UpdateOAuthClientInput struct {
	Name                  *string  `json:"name,omitempty"`
	Scopes                []string `json:"scopes,omitempty"`
	GrantTypes            []string `json:"grantTypes,omitempty"`
	RedirectURIs          []string `json:"redirectURIs,omitempty"`
	AccessTokenTTLSeconds *int     `json:"accessTokenTTLSeconds,omitempty"`
	// Disabling a client stops its tokens at once.
	Status *oauthclient.Status `json:"status,omitempty"`
}
