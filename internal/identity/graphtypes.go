package identity

// The types of this package that the GraphQL schema names (bound in
// gqlgen.yml): the service takes and returns them, the resolvers pass them on.

import (
	"github.com/google/uuid"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/ent/user"
	"github.com/credvault/credvault/internal/apikeys"
)

// A signed-in session: a 15-minute access token and a 30-day refresh token, rotated on use.
type AuthPayload struct {
	AccessToken  string      `json:"accessToken"`
	RefreshToken string      `json:"refreshToken"`
	TokenType    string      `json:"tokenType"`
	ExpiresIn    int         `json:"expiresIn"`
	User         *ent.User   `json:"user"`
	Tenant       *ent.Tenant `json:"tenant"`
}

type RefreshSessionInput struct {
	RefreshToken string `json:"refreshToken"`
}

// Whoever is calling: a user, an API key, an OAuth client or a service account.
type Me struct {
	// user, api_key, oauth_client or service_account
	PrincipalType string    `json:"principalType"`
	ID            uuid.UUID `json:"id"`
	// The tenant the request acts in.
	Tenant   *ent.Tenant `json:"tenant"`
	Scopes   []string    `json:"scopes"`
	User     *ent.User   `json:"user,omitempty"`
	ClientID *string     `json:"clientID,omitempty"`
	APIKeyID *uuid.UUID  `json:"apiKeyID,omitempty"`
}

type CreateUserInput struct {
	Email string    `json:"email"`
	Name  *string   `json:"name,omitempty"`
	Role  user.Role `json:"role"`
	// Optional: a user without a password cannot sign in until one is set.
	Password *string `json:"password,omitempty"`
}

type UpdateUserInput struct {
	Name     *string      `json:"name,omitempty"`
	Role     *user.Role   `json:"role,omitempty"`
	Status   *user.Status `json:"status,omitempty"`
	Password *string      `json:"password,omitempty"`
}

type CreateServiceAccountInput struct {
	Name        string  `json:"name"`
	Description *string `json:"description,omitempty"`
	// Never more than the caller holds.
	Scopes []string `json:"scopes"`
	// Also issue the account's first API key, shown once.
	CreateAPIKey *bool `json:"createAPIKey,omitempty"`
}

type CreateServiceAccountPayload struct {
	ServiceAccount *ent.ServiceAccount `json:"serviceAccount"`
	// The first API key, when asked for; its secret is in apiKey.key, shown once.
	APIKey *apikeys.CreatedAPIKey `json:"apiKey,omitempty"`
}
