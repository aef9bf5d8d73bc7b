package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// GatewayUsage counts one API key's chat requests and tokens for one model
// and provider on one day. Counted in memory, added here in batches.
type GatewayUsage struct{ ent.Schema }

// Mixin of the GatewayUsage.
func (GatewayUsage) Mixin() []ent.Mixin { return []ent.Mixin{IDMixin{}, TenantMixin{}} }

// Fields of the GatewayUsage.
func (GatewayUsage) Fields() []ent.Field {
	return []ent.Field{
		field.String("day").NotEmpty().Immutable().Comment("YYYY-MM-DD, UTC"),
		field.String("principal_type").Immutable(),
		field.String("principal_id").Immutable(),
		field.String("model").Immutable(),
		field.String("provider").Immutable(),
		field.Int64("requests").Default(0),
		field.Int64("prompt_tokens").Default(0),
		field.Int64("completion_tokens").Default(0),
		field.Time("updated_at").Default(now).UpdateDefault(now),
	}
}

// Indexes of the GatewayUsage.
func (GatewayUsage) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("tenant_id", "day", "principal_type", "principal_id", "model", "provider").Unique(),
	}
}

// Annotations of the GatewayUsage.
func (GatewayUsage) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip()}
}
