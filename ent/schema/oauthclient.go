package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
	"github.com/google/uuid"
)

// OAuthClient is a third-party application that exchanges its credentials for access tokens.
type OAuthClient struct{ ent.Schema }

// Mixin of the OAuthClient.
func (OAuthClient) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{}, TimeMixin{}, TenantMixin{Ref: "oauth_clients"}}
}

// Fields of the OAuthClient.
func (OAuthClient) Fields() []ent.Field {
	return []ent.Field{
		field.String("client_id").NotEmpty().Unique().Immutable().
			Annotations(entgql.OrderField("CLIENT_ID")),
		field.String("name").NotEmpty().MaxLen(200).
			Annotations(entgql.OrderField("NAME")),
		field.Bytes("secret_hash").Sensitive().
			Annotations(entgql.Skip()),
		field.Bytes("previous_secret_hash").Sensitive().Optional().Nillable().
			Annotations(entgql.Skip()),
		field.Time("previous_secret_expires_at").Optional().Nillable().
			Annotations(entgql.Skip()),
		stringList("scopes"),
		stringList("grant_types"),
		stringList("redirect_uris"),
		field.Int("access_token_ttl_seconds").Default(3600).Positive(),
		field.Enum("status").Values("active", "disabled").Default("active").
			Annotations(entgql.OrderField("STATUS")),
		field.UUID("created_by", uuid.UUID{}).Optional().Nillable().Immutable(),
		field.Int("secret_version").Default(0).NonNegative().
			Comment("counts rotations: an access token carries the version of the secret that obtained it and ends with that secret").
			Annotations(entgql.Skip()),
		field.Time("tokens_not_before").Optional().Nillable().
			Comment("access tokens issued before this time are refused: set when the client is disabled, so enabling it does not revive them").
			Annotations(entgql.Skip()),
	}
}

// Indexes of the OAuthClient.
func (OAuthClient) Indexes() []ent.Index {
	return append(pageIndexes(tenantScope, "created_at", "updated_at", "name", "client_id", "status"),
		filterIndexes(tenantScope, "created_at", []string{"status"})...)
}

// Annotations of the OAuthClient.
func (OAuthClient) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.RelayConnection()}
}
