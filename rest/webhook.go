package rest

import (
	"context"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/ent/migrate"
	"github.com/credvault/credvault/ent/schema/schematype"
	"github.com/credvault/credvault/ent/webhookdelivery"
	"github.com/credvault/credvault/internal/access"
	"github.com/credvault/credvault/internal/platform/paging"
	"github.com/credvault/credvault/internal/webhooks"
)

type createWebhookBody struct {
	URL         string   `json:"url"`
	Events      []string `json:"events"`
	Description *string  `json:"description,omitempty"`
	Enabled     *bool    `json:"enabled,omitempty"`
}

type updateWebhookBody struct {
	URL         *string  `json:"url,omitempty"`
	Events      []string `json:"events,omitempty"`
	Description *string  `json:"description,omitempty"`
	Enabled     *bool    `json:"enabled,omitempty"`
}

// webhookJSON is an endpoint in REST responses; Secret is set only at
// creation and rotation, the one time it is shown.
type webhookJSON struct {
	ID             uuid.UUID  `json:"id"`
	TenantID       uuid.UUID  `json:"tenant_id"`
	URL            string     `json:"url"`
	Description    string     `json:"description"`
	Events         []string   `json:"events"`
	Enabled        bool       `json:"enabled"`
	DisabledReason *string    `json:"disabled_reason"`
	Secret         string     `json:"secret,omitempty"`
	CreatedBy      *uuid.UUID `json:"created_by"`
	CreatedAt      time.Time  `json:"created_at"`
	UpdatedAt      time.Time  `json:"updated_at"`
}

func toWebhookJSON(w *ent.Webhook) *webhookJSON {
	return &webhookJSON{ID: w.ID, TenantID: w.TenantID, URL: w.URL, Description: w.Description, Events: orEmpty(w.Events),
		Enabled: w.Enabled, DisabledReason: w.DisabledReason, CreatedBy: w.CreatedBy, CreatedAt: w.CreatedAt, UpdatedAt: w.UpdatedAt}
}

func toCreatedWebhookJSON(c *webhooks.CreatedWebhook) *webhookJSON {
	out := toWebhookJSON(c.Webhook)
	out.Secret = c.Secret
	return out
}

// webhookDeliveryJSON is one event sent to one endpoint, with its attempts.
type webhookDeliveryJSON struct {
	ID             uuid.UUID                   `json:"id"`
	WebhookID      uuid.UUID                   `json:"webhook_id"`
	EventID        uuid.UUID                   `json:"event_id"`
	EventType      string                      `json:"event_type"`
	Attempt        int                         `json:"attempt"`
	Status         string                      `json:"status"`
	ResponseStatus *int                        `json:"response_status"`
	DurationMS     *int                        `json:"duration_ms"`
	Error          *string                     `json:"error"`
	NextAttemptAt  *time.Time                  `json:"next_attempt_at"`
	Attempts       []schematype.WebhookAttempt `json:"attempts"`
	CreatedAt      time.Time                   `json:"created_at"`
	UpdatedAt      time.Time                   `json:"updated_at"`
}

func toWebhookDeliveryJSON(d *ent.WebhookDelivery) *webhookDeliveryJSON {
	attempts := d.Attempts
	if attempts == nil {
		attempts = []schematype.WebhookAttempt{}
	}
	return &webhookDeliveryJSON{ID: d.ID, WebhookID: d.WebhookID, EventID: d.EventID, EventType: d.EventType, Attempt: d.Attempt,
		Status: d.Status.String(), ResponseStatus: d.ResponseStatus, DurationMS: d.DurationMs, Error: d.Error,
		NextAttemptAt: d.NextAttemptAt, Attempts: attempts, CreatedAt: d.CreatedAt, UpdatedAt: d.UpdatedAt}
}

type webhookTestJSON struct {
	EventID    uuid.UUID            `json:"event_id"`
	DeliveryID uuid.UUID            `json:"delivery_id"`
	Delivery   *webhookDeliveryJSON `json:"delivery"`
}

type deletedWebhook struct {
	ID      uuid.UUID `json:"id"`
	Deleted bool      `json:"deleted"`
}

// EventData renders a resource as the REST API shows it: the data of a
// webhook event. Secrets are never part of these shapes.
func EventData(resource any) any {
	switch r := resource.(type) {
	case *ent.APIKey:
		return toAPIKeyJSON(r)
	case *ent.OAuthClient:
		return toOAuthClientJSON(r)
	case *ent.Credential:
		return toCredentialJSON(r)
	case *ent.User:
		return toUserJSON(r)
	case *ent.ServiceAccount:
		return toServiceAccountJSON(r)
	case *ent.Tenant:
		return toTenantJSON(r)
	case *ent.Webhook:
		return toWebhookJSON(r)
	}
	return resource
}

func (a *API) webhookRoutes() []Route {
	hooks := a.Resolver.Webhooks
	return []Route{
		HandleBody(Route{Method: http.MethodPost, Path: "/webhooks", Op: access.CreateWebhook, Secret: true,
			Summary: "Create a webhook endpoint; its signing secret is shown once", Status: http.StatusCreated, Message: "webhook created"},
			func(ctx context.Context, _ *Call, in *createWebhookBody) (*webhookJSON, error) {
				w, err := a.Resolver.Mutation().CreateWebhook(ctx, webhooks.CreateWebhookInput{URL: in.URL, Events: orEmpty(in.Events),
					Description: in.Description, Enabled: in.Enabled})
				if err != nil {
					return nil, err
				}
				return toCreatedWebhookJSON(w), nil
			}),
		HandleWhere(Route{Method: http.MethodGet, Path: "/webhooks", Op: access.ListWebhooks,
			Summary: "List webhook endpoints; filters enabled, event", Status: http.StatusOK, Message: "webhooks",
			Sort: []string{"created_at", "updated_at", "url"},
			Filters: []Filter{{Name: "enabled", Field: "Enabled", Enum: []string{"true", "false"}},
				{Name: "event", Field: "Event", Enum: webhooks.TypeNames(), Doc: "Only endpoints that receive this event type."}}},
			hooks.List, toWebhookJSON),
		Handle(Route{Method: http.MethodGet, Path: "/webhooks/event-types", Op: access.ListWebhookEventTypes,
			Summary: "The event types an endpoint may subscribe to", Status: http.StatusOK, Message: "webhook event types"},
			func(ctx context.Context, _ *Call) ([]*webhooks.EventType, error) {
				return a.Resolver.Query().WebhookEventTypes(ctx)
			}),
		Handle(Route{Method: http.MethodGet, Path: "/webhooks/{webhookId}", Op: access.ReadWebhook,
			Summary: "Get a webhook endpoint", Status: http.StatusOK, Message: "webhook"},
			func(ctx context.Context, c *Call) (*webhookJSON, error) {
				id, err := c.IDParam("webhookId")
				if err != nil {
					return nil, err
				}
				w, err := a.Resolver.Query().Webhook(ctx, id)
				if err != nil {
					return nil, err
				}
				return toWebhookJSON(w), nil
			}),
		HandleBody(Route{Method: http.MethodPatch, Path: "/webhooks/{webhookId}", Op: access.UpdateWebhook,
			Summary: "Update a webhook endpoint: url, events, description, enabled", Status: http.StatusOK, Message: "webhook updated"},
			func(ctx context.Context, c *Call, in *updateWebhookBody) (*webhookJSON, error) {
				id, err := c.IDParam("webhookId")
				if err != nil {
					return nil, err
				}
				w, err := a.Resolver.Mutation().UpdateWebhook(ctx, id, webhooks.UpdateWebhookInput{URL: in.URL, Events: in.Events,
					Description: in.Description, Enabled: in.Enabled})
				if err != nil {
					return nil, err
				}
				return toWebhookJSON(w), nil
			}),
		Handle(Route{Method: http.MethodDelete, Path: "/webhooks/{webhookId}", Op: access.DeleteWebhook,
			Summary: "Delete a webhook endpoint; its pending deliveries are dropped", Status: http.StatusOK, Message: "webhook deleted"},
			func(ctx context.Context, c *Call) (*deletedWebhook, error) {
				id, err := c.IDParam("webhookId")
				if err != nil {
					return nil, err
				}
				if id, err = a.Resolver.Mutation().DeleteWebhook(ctx, id); err != nil {
					return nil, err
				}
				return &deletedWebhook{ID: id, Deleted: true}, nil
			}),
		HandleBody(Route{Method: http.MethodPost, Path: "/webhooks/{webhookId}/rotate-secret", Op: access.RotateWebhookSecret, Secret: true, Conflicts: true,
			Summary: "Issue a new signing secret, shown once; within the grace period both secrets sign", Status: http.StatusOK, Message: "webhook secret rotated"},
			func(ctx context.Context, c *Call, in *rotateBody) (*webhookJSON, error) {
				id, err := c.IDParam("webhookId")
				if err != nil {
					return nil, err
				}
				w, err := a.Resolver.Mutation().RotateWebhookSecret(ctx, id, &webhooks.RotateWebhookSecretInput{GracePeriodSeconds: in.GracePeriodSeconds})
				if err != nil {
					return nil, err
				}
				return toCreatedWebhookJSON(w), nil
			}),
		Handle(Route{Method: http.MethodPost, Path: "/webhooks/{webhookId}/test", Op: access.TestWebhook,
			Summary: "Send a webhook.test event to the endpoint", Status: http.StatusAccepted, Message: "test event queued"},
			func(ctx context.Context, c *Call) (*webhookTestJSON, error) {
				id, err := c.IDParam("webhookId")
				if err != nil {
					return nil, err
				}
				sent, err := a.Resolver.Mutation().TestWebhook(ctx, id)
				if err != nil {
					return nil, err
				}
				return &webhookTestJSON{EventID: sent.EventID, DeliveryID: sent.DeliveryID(), Delivery: toWebhookDeliveryJSON(sent.Delivery)}, nil
			}),
		HandleList(Route{Method: http.MethodGet, Path: "/webhooks/{webhookId}/deliveries", Op: access.ListWebhookDeliveries,
			Summary: "The endpoint's delivery log, newest first; filters status, event_type", Status: http.StatusOK, Message: "webhook deliveries",
			Sort: []string{"created_at", "status", "event_type"},
			Filters: []Filter{{Name: "status", Field: "Status", Enum: enumOf(migrate.WebhookDeliveriesTable, webhookdelivery.FieldStatus)},
				{Name: "event_type", Field: "EventType", Enum: webhooks.TypeNames()}}},
			func(ctx context.Context, c *Call, w paging.Window) ([]*ent.WebhookDelivery, int, error) {
				id, err := c.IDParam("webhookId")
				if err != nil {
					return nil, 0, err
				}
				where, err := Where[ent.WebhookDeliveryWhereInput](c)
				if err != nil {
					return nil, 0, err
				}
				return hooks.Deliveries(ctx, id, where, w)
			}, toWebhookDeliveryJSON),
		Handle(Route{Method: http.MethodPost, Path: "/webhooks/{webhookId}/deliveries/{deliveryId}/retry", Op: access.RetryWebhookDelivery,
			Summary: "Attempt a delivery again, now", Status: http.StatusAccepted, Message: "delivery retry queued"},
			func(ctx context.Context, c *Call) (*webhookDeliveryJSON, error) {
				hook, err := c.IDParam("webhookId")
				if err != nil {
					return nil, err
				}
				id, err := c.IDParam("deliveryId")
				if err != nil {
					return nil, err
				}
				d, err := a.Resolver.Mutation().RetryWebhookDelivery(ctx, hook, id)
				if err != nil {
					return nil, err
				}
				return toWebhookDeliveryJSON(d), nil
			}),
	}
}
