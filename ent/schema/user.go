package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// User is a person who signs in to a tenant with a password.
type User struct{ ent.Schema }

// Mixin of the User.
func (User) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{}, TimeMixin{}, TenantMixin{Ref: "users"}}
}

// Fields of the User.
func (User) Fields() []ent.Field {
	return []ent.Field{
		field.String("email").NotEmpty().MaxLen(320).
			Annotations(entgql.OrderField("EMAIL")),
		field.String("name").Default("").MaxLen(200).
			Annotations(entgql.OrderField("NAME")),
		field.Enum("role").Values("owner", "admin", "member", "viewer").
			Annotations(entgql.OrderField("ROLE")),
		field.String("password_hash").Sensitive().Optional().
			Annotations(entgql.Skip()),
		field.Enum("status").Values("active", "disabled").Default("active").
			Annotations(entgql.OrderField("STATUS")),
		field.Time("last_login_at").Optional().Nillable(),
		field.Time("sessions_not_before").Optional().Nillable().
			Comment("session tokens issued before this time are refused: set when a password changes or sessions are revoked").
			Annotations(entgql.Skip()),
	}
}

// Indexes of the User.
func (User) Indexes() []ent.Index {
	return append(append([]ent.Index{index.Fields("tenant_id", "email").Unique(), index.Fields("email")},
		pageIndexes(tenantScope, "created_at", "updated_at", "email", "name", "role", "status")...),
		filterIndexes(tenantScope, "created_at", []string{"role"}, []string{"status"})...)
}

// Annotations of the User.
func (User) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.RelayConnection()}
}

// Edges of the User.
func (User) Edges() []ent.Edge {
	return []ent.Edge{edge.To("api_keys", APIKey.Type).Annotations(entgql.RelayConnection())}
}
