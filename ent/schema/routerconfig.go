package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"

	"github.com/credvault/credvault/ent/schema/schematype"
)

// RouterConfig is a tenant's AI gateway routing (SPEC §14), one row per
// tenant; a tenant without one routes each model to the providers serving
// it, in creation order.
type RouterConfig struct{ ent.Schema }

// Mixin of the RouterConfig.
func (RouterConfig) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{}, TimeMixin{}, TenantMixin{}}
}

// Fields of the RouterConfig.
func (RouterConfig) Fields() []ent.Field {
	return []ent.Field{
		field.JSON("routes", []schematype.RouterRoute{}).Default([]schematype.RouterRoute{}),
		field.Bool("fallback").Default(true),
		field.Int("timeout_ms").Positive(),
		field.Int("max_attempts").Positive(),
	}
}

// Indexes of the RouterConfig.
func (RouterConfig) Indexes() []ent.Index {
	return []ent.Index{index.Fields("tenant_id").Unique()}
}

// Annotations of the RouterConfig.
func (RouterConfig) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip()}
}
