package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
	"github.com/google/uuid"

	"github.com/credvault/credvault/ent/schema/schematype"
)

// WebhookDelivery is one event sent to one endpoint, and the queue entry
// that sends it: due while pending or retrying and next_attempt_at has
// passed, claimed by a dispatcher for a lease (at least once).
type WebhookDelivery struct{ ent.Schema }

// Mixin of the WebhookDelivery.
func (WebhookDelivery) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{}, TimeMixin{}, TenantMixin{}}
}

// Fields of the WebhookDelivery.
func (WebhookDelivery) Fields() []ent.Field {
	return []ent.Field{
		field.UUID("webhook_id", uuid.UUID{}).Immutable(),
		field.UUID("event_id", uuid.UUID{}).Immutable().
			Comment("the webhook-id header of every attempt"),
		field.String("event_type").NotEmpty().Immutable().
			Annotations(entgql.OrderField("EVENT_TYPE")),
		field.Int("attempt").Default(0).NonNegative().
			Comment("attempts made so far"),
		field.Enum("status").Values("pending", "succeeded", "retrying", "failed").Default("pending").
			Annotations(entgql.OrderField("STATUS")),
		field.Int("response_status").Optional().Nillable().
			Comment("the HTTP status of the last attempt's answer"),
		field.Int("duration_ms").Optional().Nillable(),
		field.String("error").Optional().Nillable().MaxLen(500).
			Comment("why the last attempt failed, bounded and free of secrets"),
		field.Time("next_attempt_at").Optional().Nillable().
			Annotations(entgql.OrderField("NEXT_ATTEMPT_AT")),
		field.Time("locked_until").Optional().Nillable().
			Comment("a dispatcher's claim: the attempt under way, retaken if it lapses").
			Annotations(entgql.Skip()),
		field.JSON("attempts", []schematype.WebhookAttempt{}).Default([]schematype.WebhookAttempt{}).
			Comment("every attempt, oldest first").
			Annotations(entgql.Type("[WebhookAttempt!]")),
	}
}

// Edges of the WebhookDelivery.
func (WebhookDelivery) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("webhook", Webhook.Type).Ref("deliveries").Field("webhook_id").Unique().Required().Immutable(),
	}
}

// Indexes of the WebhookDelivery: dispatchers find due deliveries; the log
// pages an endpoint's deliveries, filtered by status or type; retention
// finds an event's deliveries.
func (WebhookDelivery) Indexes() []ent.Index {
	return append([]ent.Index{index.Fields("status", "next_attempt_at"), index.Fields("event_id")},
		append(pageIndexes([]string{"webhook_id"}, "created_at", "status", "event_type"),
			filterIndexes([]string{"webhook_id"}, "created_at", []string{"status"}, []string{"event_type"})...)...)
}

// Annotations of the WebhookDelivery.
func (WebhookDelivery) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.RelayConnection()}
}
