package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// DataKey is a tenant's data-encryption key, stored wrapped by the master key.
type DataKey struct{ ent.Schema }

// Mixin of the DataKey.
func (DataKey) Mixin() []ent.Mixin { return []ent.Mixin{IDMixin{}, TimeMixin{}, TenantMixin{}} }

// Fields of the DataKey.
func (DataKey) Fields() []ent.Field {
	return []ent.Field{
		field.Int("version").Positive().Immutable(),
		field.Bytes("wrapped_key").Sensitive().Optional().Nillable(),
		field.Enum("status").Values("active", "retired", "destroyed").Default("active"),
	}
}

// Indexes of the DataKey.
func (DataKey) Indexes() []ent.Index {
	return []ent.Index{index.Fields("tenant_id", "version").Unique()}
}

// Annotations of the DataKey: key material never enters the graph.
func (DataKey) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip()}
}
