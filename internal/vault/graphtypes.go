package vault

// The types of this package that the GraphQL schema names (bound in
// gqlgen.yml): the service takes and returns them, the resolvers pass them on.

import (
	"time"

	"github.com/google/uuid"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/ent/credential"
)

// A DEK rotation under way: new writes use dekVersion at once; the job re-encrypts the rest.
type DEKRotation struct {
	DekVersion int       `json:"dekVersion"`
	JobID      uuid.UUID `json:"jobID"`
}

// Every credential a tenant holds for one integration.
type IntegrationCredentials struct {
	IntegrationID string            `json:"integrationID"`
	Credentials   []*ent.Credential `json:"credentials"`
}

type StoreCredentialInput struct {
	IntegrationID string              `json:"integrationID"`
	Name          *string             `json:"name,omitempty"`
	AuthType      credential.AuthType `json:"authType"`
	// The secret; its required fields depend on authType. Stored encrypted; read back only through the data field, with credentials:decrypt.
	Data      map[string]any `json:"data"`
	Metadata  map[string]any `json:"metadata,omitempty"`
	ExpiresAt *time.Time     `json:"expiresAt,omitempty"`
}

type UpdateCredentialInput struct {
	Name      *string            `json:"name,omitempty"`
	Metadata  map[string]any     `json:"metadata,omitempty"`
	ExpiresAt *time.Time         `json:"expiresAt,omitempty"`
	Status    *credential.Status `json:"status,omitempty"`
	// Replaces the secret; validated against the credential's authType.
	Data map[string]any `json:"data,omitempty"`
}
