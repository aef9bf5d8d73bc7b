package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
	"github.com/google/uuid"
)

// Credential is a third-party integration's secret, sealed under the tenant's DEK.
type Credential struct{ ent.Schema }

// Mixin of the Credential.
func (Credential) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{}, TimeMixin{}, TenantMixin{Ref: "credentials"}}
}

// Fields of the Credential.
func (Credential) Fields() []ent.Field {
	return []ent.Field{
		field.String("integration_id").NotEmpty().MaxLen(200).
			Annotations(entgql.OrderField("INTEGRATION_ID")),
		field.String("name").Default("").MaxLen(200).
			Annotations(entgql.OrderField("NAME")),
		field.Enum("auth_type").
			Values("oauth2_bearer", "oauth2_client_credentials", "api_key", "basic_auth",
				"bearer_token", "jwt", "saml", "custom").
			Annotations(entgql.OrderField("AUTH_TYPE")),
		field.Bytes("ciphertext").Sensitive().
			Annotations(entgql.Skip()),
		field.Int("dek_version").Positive().
			Annotations(entgql.Skip()),
		field.JSON("metadata", map[string]any{}).Default(map[string]any{}),
		field.Enum("status").Values("active", "disabled", "expired").Default("active").
			Annotations(entgql.OrderField("STATUS")),
		field.Time("expires_at").Optional().Nillable().
			Annotations(entgql.OrderField("EXPIRES_AT")),
		field.Time("last_accessed_at").Optional().Nillable(),
		field.UUID("created_by", uuid.UUID{}).Optional().Nillable().Immutable(),
	}
}

// Indexes of the Credential.
func (Credential) Indexes() []ent.Index {
	return append(append([]ent.Index{index.Fields("tenant_id", "dek_version")},
		pageIndexes(tenantScope, "created_at", "updated_at", "integration_id", "name", "auth_type", "status", "expires_at")...),
		filterIndexes(tenantScope, "created_at", []string{"integration_id"}, []string{"auth_type"}, []string{"status"})...)
}

// Annotations of the Credential.
func (Credential) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.RelayConnection()}
}
