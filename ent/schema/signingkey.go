package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// SigningKey is an Ed25519 key that signs session and access tokens; the
// private half is sealed under the master key. Its id is the JWT kid.
type SigningKey struct{ ent.Schema }

// Mixin of the SigningKey.
func (SigningKey) Mixin() []ent.Mixin { return []ent.Mixin{IDMixin{}, TimeMixin{}} }

// Fields of the SigningKey.
func (SigningKey) Fields() []ent.Field {
	return []ent.Field{
		field.String("algorithm").Default("EdDSA").Immutable(),
		field.Bytes("public_key").Immutable(),
		field.Bytes("sealed_private_key").Sensitive().
			Comment("rewrapped when the master key rotates"),
		field.Enum("status").Values("active", "retired").Default("active"),
		field.Time("retired_at").Optional().Nillable(),
	}
}

// Indexes of the SigningKey.
func (SigningKey) Indexes() []ent.Index {
	return []ent.Index{index.Fields("status", "created_at")}
}

// Annotations of the SigningKey.
func (SigningKey) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip()}
}
