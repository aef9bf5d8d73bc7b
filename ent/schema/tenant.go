package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"

	"github.com/credvault/credvault/ent/schema/schematype"
)

// Tenant is an organisation: every other row but signing keys belongs to one.
type Tenant struct{ ent.Schema }

// Mixin of the Tenant.
func (Tenant) Mixin() []ent.Mixin { return []ent.Mixin{IDMixin{}, TimeMixin{}} }

// Fields of the Tenant.
func (Tenant) Fields() []ent.Field {
	return []ent.Field{
		field.String("name").NotEmpty().MaxLen(200).
			Annotations(entgql.OrderField("NAME")),
		field.String("slug").NotEmpty().MaxLen(63).Unique().Immutable().
			Annotations(entgql.OrderField("SLUG")),
		field.String("plan").Default("free").
			Annotations(entgql.OrderField("PLAN")),
		field.Enum("status").Values("active", "suspended", "deleted").Default("active").
			Annotations(entgql.OrderField("STATUS")),
		field.Bool("platform").Default(false).Immutable().
			Comment("the platform tenant, whose owners and admins hold platform:admin"),
		field.JSON("settings", schematype.TenantSettings{}).Default(schematype.DefaultTenantSettings()).
			Annotations(entgql.Skip()),
		field.Time("deleted_at").Optional().Nillable(),
	}
}

// Indexes of the Tenant.
func (Tenant) Indexes() []ent.Index {
	return append(pageIndexes(nil, "created_at", "updated_at", "name", "slug", "plan", "status"),
		filterIndexes(nil, "created_at", []string{"status"}, []string{"plan"})...)
}

// Annotations of the Tenant.
func (Tenant) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.RelayConnection()}
}

// Edges of the Tenant: its rows, as the graph shows them (SPEC §10). Each
// is read under the scope of its root list; see access.ReadScope.
func (Tenant) Edges() []ent.Edge {
	return []ent.Edge{
		edge.To("users", User.Type).Annotations(entgql.RelayConnection()),
		edge.To("service_accounts", ServiceAccount.Type).Annotations(entgql.RelayConnection()),
		edge.To("api_keys", APIKey.Type).Annotations(entgql.RelayConnection()),
		edge.To("oauth_clients", OAuthClient.Type).Annotations(entgql.RelayConnection()),
		edge.To("credentials", Credential.Type).Annotations(entgql.RelayConnection()),
		edge.To("audit_logs", AuditLog.Type).Annotations(entgql.RelayConnection()),
		edge.To("webhooks", Webhook.Type).Annotations(entgql.RelayConnection()),
		edge.To("guardrails", Guardrail.Type).Annotations(entgql.RelayConnection()),
	}
}
