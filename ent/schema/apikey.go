package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
	"github.com/google/uuid"
)

// APIKey is a long-lived secret; only its hash and display prefix are stored.
type APIKey struct{ ent.Schema }

// Mixin of the APIKey.
func (APIKey) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{}, TimeMixin{}, TenantMixin{Ref: "api_keys"}}
}

// Fields of the APIKey.
func (APIKey) Fields() []ent.Field {
	return []ent.Field{
		field.String("name").NotEmpty().MaxLen(200).
			Annotations(entgql.OrderField("NAME")),
		field.String("prefix").NotEmpty().MaxLen(16),
		field.Bytes("key_hash").Sensitive().Unique().
			Annotations(entgql.Skip()),
		field.Bytes("previous_key_hash").Sensitive().Optional().Nillable().
			Annotations(entgql.Skip()),
		field.Time("previous_key_expires_at").Optional().Nillable().
			Annotations(entgql.Skip()),
		stringList("scopes"),
		// The graph resolves status, so that a key past its expiry reads
		// expired before the expire_api_keys job has stored it.
		field.Enum("status").Values("active", "expired", "revoked").Default("active").
			Annotations(entgql.OrderField("STATUS"), entgql.Directives(forceResolver())),
		field.Time("expires_at").Optional().Nillable().
			Annotations(entgql.OrderField("EXPIRES_AT")),
		field.Time("revoked_at").Optional().Nillable(),
		field.Time("last_used_at").Optional().Nillable().
			Annotations(entgql.OrderField("LAST_USED_AT")),
		stringList("ip_allowlist"),
		field.Int("rate_limit_requests").Optional().Nillable().Positive(),
		field.Int("rate_limit_window_seconds").Optional().Nillable().Positive(),
		field.UUID("user_id", uuid.UUID{}).Optional().Nillable().Immutable(),
		field.UUID("service_account_id", uuid.UUID{}).Optional().Nillable().Immutable(),
		field.UUID("created_by", uuid.UUID{}).Optional().Nillable().Immutable(),
	}
}

// Edges of the APIKey.
func (APIKey) Edges() []ent.Edge {
	return []ent.Edge{
		edge.From("user", User.Type).Ref("api_keys").Field("user_id").Unique().Immutable(),
		edge.From("service_account", ServiceAccount.Type).Ref("api_keys").
			Field("service_account_id").Unique().Immutable(),
	}
}

// Indexes of the APIKey.
func (APIKey) Indexes() []ent.Index {
	return append(append([]ent.Index{
		index.Fields("previous_key_hash"),
		index.Fields("status", "expires_at"),
	},
		pageIndexes(tenantScope, "created_at", "updated_at", "name", "status", "expires_at", "last_used_at")...),
		filterIndexes(tenantScope, "created_at", []string{"status"}, []string{"service_account_id"})...)
}

// Annotations of the APIKey.
func (APIKey) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.RelayConnection()}
}
