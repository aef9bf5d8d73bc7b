package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
	"github.com/google/uuid"
)

// SSOConfig is a tenant's OpenID Connect provider (SPEC §15): one per
// tenant. Its client secret is sealed with the tenant's DEK, as webhook
// secrets are.
type SSOConfig struct{ ent.Schema }

// Mixin of the SSOConfig.
func (SSOConfig) Mixin() []ent.Mixin { return []ent.Mixin{IDMixin{}, TimeMixin{}, TenantMixin{}} }

// Fields of the SSOConfig.
func (SSOConfig) Fields() []ent.Field {
	return []ent.Field{
		field.String("issuer").NotEmpty().MaxLen(2048),
		field.String("client_id").NotEmpty().MaxLen(512),
		field.Bytes("client_secret_sealed").Sensitive(),
		field.Int("dek_version").Positive().
			Comment("the DEK version the client secret is sealed with"),
		field.Strings("allowed_domains").Default([]string{}).
			Comment("e-mail domains whose users may sign in; empty allows any verified address"),
		field.Enum("default_role").Values("owner", "admin", "member", "viewer").Default("member"),
		field.Bool("enabled").Default(true),
		field.UUID("updated_by", uuid.UUID{}).Optional().Nillable(),
	}
}

// Indexes of the SSOConfig: one per tenant.
func (SSOConfig) Indexes() []ent.Index {
	return []ent.Index{index.Fields("tenant_id").Unique()}
}

// Annotations of the SSOConfig: the graph shows it through a type of its
// own (graph/sso.graphqls), which has no secret to hide.
func (SSOConfig) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip()}
}

// SSOLoginState is one sign-in begun at a provider and not yet finished:
// kept in the database so that any instance can finish the callback, and
// deleted when it is used.
type SSOLoginState struct{ ent.Schema }

// Mixin of the SSOLoginState.
func (SSOLoginState) Mixin() []ent.Mixin { return []ent.Mixin{IDMixin{}, TimeMixin{}, TenantMixin{}} }

// Fields of the SSOLoginState.
func (SSOLoginState) Fields() []ent.Field {
	return []ent.Field{
		field.Bytes("state_hash").Sensitive().Unique().Immutable().
			Comment("the hash of the state parameter: the state itself is a bearer of the sign-in"),
		field.String("nonce").Sensitive().Immutable(),
		field.String("code_verifier").Sensitive().Immutable(),
		field.String("redirect_uri").Default("").MaxLen(2048).Immutable().
			Comment("where the session goes when the sign-in ends; empty answers it as JSON"),
		field.Time("expires_at").Immutable(),
	}
}

// Indexes of the SSOLoginState.
func (SSOLoginState) Indexes() []ent.Index {
	return []ent.Index{index.Fields("expires_at")}
}

// Annotations of the SSOLoginState: never in the graph.
func (SSOLoginState) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip()}
}
