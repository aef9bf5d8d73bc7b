package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// UsageCounter counts one principal's requests on one day. Requests are
// counted in memory and added here in batches, never one write per request.
type UsageCounter struct{ ent.Schema }

// Mixin of the UsageCounter.
func (UsageCounter) Mixin() []ent.Mixin { return []ent.Mixin{IDMixin{}, TenantMixin{}} }

// Fields of the UsageCounter.
func (UsageCounter) Fields() []ent.Field {
	return []ent.Field{
		field.String("day").NotEmpty().Immutable().Comment("YYYY-MM-DD, UTC"),
		field.String("principal_type").Immutable(),
		field.String("principal_id").Immutable(),
		field.Int64("count").Default(0),
		field.Time("updated_at").Default(now).UpdateDefault(now),
	}
}

// Indexes of the UsageCounter.
func (UsageCounter) Indexes() []ent.Index {
	return []ent.Index{
		index.Fields("tenant_id", "day", "principal_type", "principal_id").Unique(),
		index.Fields("tenant_id", "updated_at"),
	}
}

// Annotations of the UsageCounter.
func (UsageCounter) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip()}
}
