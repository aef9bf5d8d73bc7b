package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"github.com/google/uuid"
)

// ServiceAccount is a non-human identity that owns API keys.
type ServiceAccount struct{ ent.Schema }

// Mixin of the ServiceAccount.
func (ServiceAccount) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{}, TimeMixin{}, TenantMixin{Ref: "service_accounts"}}
}

// Fields of the ServiceAccount.
func (ServiceAccount) Fields() []ent.Field {
	return []ent.Field{
		field.String("name").NotEmpty().MaxLen(200).
			Annotations(entgql.OrderField("NAME")),
		field.String("description").Default("").MaxLen(1000),
		stringList("scopes"),
		field.Enum("status").Values("active", "disabled").Default("active").
			Annotations(entgql.OrderField("STATUS")),
		field.UUID("created_by", uuid.UUID{}).Optional().Nillable().Immutable(),
	}
}

// Edges of the ServiceAccount.
func (ServiceAccount) Edges() []ent.Edge {
	return []ent.Edge{edge.To("api_keys", APIKey.Type).Annotations(entgql.RelayConnection())}
}

// Indexes of the ServiceAccount.
func (ServiceAccount) Indexes() []ent.Index {
	return pageIndexes(tenantScope, "created_at", "updated_at", "name", "status")
}

// Annotations of the ServiceAccount.
func (ServiceAccount) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.RelayConnection()}
}
