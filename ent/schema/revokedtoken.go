package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// RevokedToken is an OAuth access token revoked before its expiry (RFC
// 7009). Every instance keeps the unexpired ones in memory, so checking a
// token costs no database round trip.
type RevokedToken struct{ ent.Schema }

// Mixin of the RevokedToken.
func (RevokedToken) Mixin() []ent.Mixin { return []ent.Mixin{IDMixin{}, TimeMixin{}, TenantMixin{}} }

// Fields of the RevokedToken.
func (RevokedToken) Fields() []ent.Field {
	return []ent.Field{
		field.String("jti").NotEmpty().Unique().Immutable(),
		field.String("client_id").Immutable(),
		field.Time("expires_at").Immutable(),
	}
}

// Indexes of the RevokedToken.
func (RevokedToken) Indexes() []ent.Index {
	return []ent.Index{index.Fields("expires_at")}
}

// Annotations of the RevokedToken.
func (RevokedToken) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip()}
}
