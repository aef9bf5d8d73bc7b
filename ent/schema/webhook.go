package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/dialect/entsql"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"github.com/google/uuid"
)

// Webhook is an endpoint of a tenant that receives its events (SPEC §11).
// Its signing secret is sealed with the tenant's DEK, as credentials are.
type Webhook struct{ ent.Schema }

// Mixin of the Webhook.
func (Webhook) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{}, TimeMixin{}, TenantMixin{Ref: "webhooks"}}
}

// Fields of the Webhook.
func (Webhook) Fields() []ent.Field {
	return []ent.Field{
		field.String("url").NotEmpty().MaxLen(2048).
			Annotations(entgql.OrderField("URL")),
		field.String("description").Default("").MaxLen(500),
		field.Strings("events").Default([]string{}).Comment(`event types the endpoint receives; ["*"] is every type`),
		field.Bool("enabled").Default(true).
			Annotations(entgql.OrderField("ENABLED")),
		field.String("disabled_reason").Optional().Nillable().
			Comment("why CredVault disabled the endpoint, such as its 410 Gone answer"),
		field.Bytes("secret_sealed").Sensitive().
			Annotations(entgql.Skip()),
		field.Bytes("previous_secret_sealed").Sensitive().Optional().Nillable().
			Comment("the secret before the last rotation, signing too until previous_secret_expires_at").
			Annotations(entgql.Skip()),
		field.Time("previous_secret_expires_at").Optional().Nillable().
			Annotations(entgql.Skip()),
		field.Int("dek_version").Positive().
			Comment("the DEK version both secrets are sealed with").
			Annotations(entgql.Skip()),
		field.UUID("created_by", uuid.UUID{}).Optional().Nillable().Immutable(),
	}
}

// Edges of the Webhook: its delivery log, dropped with it.
func (Webhook) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("deliveries", WebhookDelivery.Type).
			Annotations(entgql.RelayConnection(), entsql.OnDelete(entsql.Cascade)),
	}
}

// Indexes of the Webhook.
func (Webhook) Indexes() []ent.Index {
	return append(pageIndexes(tenantScope, "created_at", "updated_at", "url"),
		filterIndexes(tenantScope, "created_at", []string{"enabled"})...)
}

// Annotations of the Webhook.
func (Webhook) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.RelayConnection()}
}
