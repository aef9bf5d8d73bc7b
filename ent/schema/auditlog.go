package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// AuditLog is one append-only entry of the audit trail.
type AuditLog struct{ ent.Schema }

// Mixin of the AuditLog.
func (AuditLog) Mixin() []ent.Mixin { return []ent.Mixin{IDMixin{}, TenantMixin{Ref: "audit_logs"}} }

// Fields of the AuditLog.
func (AuditLog) Fields() []ent.Field {
	return []ent.Field{
		field.Time("occurred_at").Default(now).Immutable().
			Annotations(entgql.OrderField("OCCURRED_AT")),
		field.String("actor_type").Immutable(),
		field.String("actor_id").Default("").Immutable(),
		field.String("action").NotEmpty().Immutable().
			Annotations(entgql.OrderField("ACTION")),
		field.String("resource_type").Default("").Immutable(),
		field.String("resource_id").Default("").Immutable(),
		field.Enum("outcome").Values("success", "failure", "denied").Immutable(),
		field.String("request_id").Default("").Immutable(),
		field.String("ip").Default("").Immutable(),
		field.String("user_agent").Default("").Immutable(),
		field.JSON("details", map[string]any{}).Default(map[string]any{}).Immutable(),
	}
}

// Indexes of the AuditLog: the read API filters these, newest first.
func (AuditLog) Indexes() []ent.Index {
	return append(append([]ent.Index{index.Fields("occurred_at")},
		pageIndexes(tenantScope, "occurred_at", "action")...),
		filterIndexes(tenantScope, "occurred_at", []string{"action"}, []string{"actor_id"}, []string{"actor_type"},
			[]string{"resource_type", "resource_id"}, []string{"outcome"})...)
}

// Annotations of the AuditLog.
func (AuditLog) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.RelayConnection()}
}
