package webhooks

import "slices"

// The event types of SPEC §11: each service emits its type in the
// transaction of its change.
const (
	APIKeyCreated            = "api_key.created"
	APIKeyRotated            = "api_key.rotated"
	APIKeyRevoked            = "api_key.revoked"
	OAuthClientCreated       = "oauth_client.created"
	OAuthClientUpdated       = "oauth_client.updated"
	OAuthClientSecretRotated = "oauth_client.secret_rotated"
	OAuthClientDeleted       = "oauth_client.deleted"
	CredentialCreated        = "credential.created"
	CredentialUpdated        = "credential.updated"
	CredentialDeleted        = "credential.deleted"
	UserCreated              = "user.created"
	UserUpdated              = "user.updated"
	UserDeleted              = "user.deleted"
	ServiceAccountCreated    = "service_account.created"
	TenantUpdated            = "tenant.updated"
	DEKRotationCompleted     = "dek.rotation_completed"
	WebhookTest              = "webhook.test"
	everyType                = "*"
)

// EventType is one type of the catalogue and what it reports.
type EventType struct {
	Type        string `json:"type"`
	Description string `json:"description"`
}

// Catalogue lists every event type, as GET /webhooks/event-types shows it.
var Catalogue = []EventType{
	{APIKeyCreated, "An API key was created; data is the key without its secret."},
	{APIKeyRotated, "An API key was given a new secret; data is the key without it."},
	{APIKeyRevoked, "An API key was revoked and stopped working."},
	{OAuthClientCreated, "An OAuth client was registered; data is the client without its secret."},
	{OAuthClientUpdated, "An OAuth client's name, scopes, grants, redirect URIs, token lifetime or status changed."},
	{OAuthClientSecretRotated, "An OAuth client was given a new secret; data is the client without it."},
	{OAuthClientDeleted, "An OAuth client was deleted; its tokens stopped working."},
	{CredentialCreated, "A credential was stored; data is its metadata, never the secret."},
	{CredentialUpdated, "A credential's name, metadata, expiry, status or secret changed; data is its metadata."},
	{CredentialDeleted, "A credential was deleted and its ciphertext destroyed."},
	{UserCreated, "A user was added to the tenant."},
	{UserUpdated, "A user's name, role, status or password changed."},
	{UserDeleted, "A user was removed from the tenant."},
	{ServiceAccountCreated, "A service account was created."},
	{TenantUpdated, "The tenant's name, plan, status or settings changed."},
	{DEKRotationCompleted, "Every credential of the tenant was re-encrypted under its new data-encryption key."},
	{WebhookTest, "A test event sent on request to one endpoint."},
}

// knownType reports whether t is an event type of the catalogue.
func knownType(t string) bool {
	return slices.ContainsFunc(Catalogue, func(e EventType) bool { return e.Type == t })
}

// wants reports whether an endpoint subscribed to events receives type t.
func wants(events []string, t string) bool {
	return slices.Contains(events, everyType) || slices.Contains(events, t)
}
