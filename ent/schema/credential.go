package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
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

// Indexes of the Credential. Unlike keys and audit entries, a tenant holds
// few credentials (one per integration and name), and every index is paid
// on each write and each DEK rotation's re-seal: lists page in the default
// orders and by integration from an index, and other sorts and filters
// order the tenant's rows (BENCHMARKS.md: 13 indexes cost POST /credentials
// 40 % of its throughput). No index holds dek_version or updated_at, which a
// re-seal changes: on PostgreSQL (fillfactor 50, store.Migrate) a DEK
// rotation updates each row in place.
func (Credential) Indexes() []ent.Index {
	return append(pageIndexes(tenantScope, "created_at"),
		filterIndexes(tenantScope, "created_at", []string{"integration_id"})...)
}

// Annotations of the Credential.
func (Credential) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.RelayConnection()}
}
