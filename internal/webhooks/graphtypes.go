package webhooks

import (
	"github.com/google/uuid"

	"github.com/credvault/credvault/ent"
)

// CreateWebhookInput is createWebhook's input and POST /webhooks's body.
type CreateWebhookInput struct {
	URL         string   `json:"url"`
	Events      []string `json:"events"`
	Description *string  `json:"description,omitempty"`
	Enabled     *bool    `json:"enabled,omitempty"`
}

// UpdateWebhookInput changes the fields it sets.
type UpdateWebhookInput struct {
	URL         *string  `json:"url,omitempty"`
	Events      []string `json:"events,omitempty"`
	Description *string  `json:"description,omitempty"`
	Enabled     *bool    `json:"enabled,omitempty"`
}

// RotateWebhookSecretInput is rotateWebhookSecret's input.
type RotateWebhookSecretInput struct {
	// GracePeriodSeconds is how long the old secret keeps signing too.
	GracePeriodSeconds *int `json:"grace_period_seconds,omitempty"`
}

// CreatedWebhook is a new endpoint or a rotated secret: the only time the
// secret is shown.
type CreatedWebhook struct {
	Secret  string
	Webhook *ent.Webhook
}

// SentTest is a test event queued for one endpoint.
type SentTest struct {
	EventID  uuid.UUID
	Delivery *ent.WebhookDelivery
}

// ListFilter is the REST list's filters: the where input, and event, an
// event type the endpoint receives.
type ListFilter struct {
	ent.WebhookWhereInput
	Event *string
}

// DeliveryID is the id of the test's delivery.
func (s *SentTest) DeliveryID() uuid.UUID { return s.Delivery.ID }
