package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
	"github.com/google/uuid"
)

// RouterProvider is an OpenAI-compatible upstream of a tenant's AI gateway
// (SPEC §14). Its key is never stored here: it is the vault credential of
// credential_integration_id, decrypted for each call only.
type RouterProvider struct{ ent.Schema }

// Mixin of the RouterProvider.
func (RouterProvider) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{}, TimeMixin{}, TenantMixin{}}
}

// Fields of the RouterProvider.
func (RouterProvider) Fields() []ent.Field {
	return []ent.Field{
		field.String("name").NotEmpty().MaxLen(100).Comment("unique in the tenant; routes name providers by it"),
		field.String("base_url").NotEmpty().MaxLen(2048),
		field.String("credential_integration_id").NotEmpty().MaxLen(200),
		stringList("models"),
		field.Bool("enabled").Default(true),
		field.UUID("created_by", uuid.UUID{}).Optional().Nillable().Immutable(),
	}
}

// Indexes of the RouterProvider.
func (RouterProvider) Indexes() []ent.Index {
	return []ent.Index{index.Fields("tenant_id", "name").Unique(), index.Fields("tenant_id", "created_at")}
}

// Annotations of the RouterProvider: the graph's type is written by hand.
func (RouterProvider) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip()}
}
