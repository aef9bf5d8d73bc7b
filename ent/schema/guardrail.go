package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
	"github.com/google/uuid"
)

// Guardrail is a check the AI gateway applies to a tenant's chat messages
// (SPEC §14): its kind detects, its action decides what a match does.
type Guardrail struct{ ent.Schema }

// Mixin of the Guardrail.
func (Guardrail) Mixin() []ent.Mixin {
	return []ent.Mixin{IDMixin{}, TimeMixin{}, TenantMixin{Ref: "guardrails"}}
}

// Fields of the Guardrail.
func (Guardrail) Fields() []ent.Field {
	return []ent.Field{
		field.String("name").NotEmpty().MaxLen(200).
			Annotations(entgql.OrderField("NAME")),
		field.Enum("kind").Values("pii", "blocked_terms", "regex", "max_tokens").Immutable().
			Annotations(entgql.OrderField("KIND")),
		field.JSON("config", map[string]any{}).Default(map[string]any{}).
			Comment("the kind's settings, checked against its schema (GET /admin/guardrails/policies)").
			Annotations(entgql.Type("Map")),
		field.Enum("action").Values("block", "redact", "flag"),
		field.Enum("applies_to").Values("input", "output", "both").Default("both"),
		field.Bool("enabled").Default(true).
			Annotations(entgql.OrderField("ENABLED")),
		field.UUID("created_by", uuid.UUID{}).Optional().Nillable().Immutable(),
	}
}

// Indexes of the Guardrail.
func (Guardrail) Indexes() []ent.Index {
	return append(pageIndexes(tenantScope, "created_at", "updated_at", "name", "kind"),
		filterIndexes(tenantScope, "created_at", []string{"kind"}, []string{"enabled"})...)
}

// Annotations of the Guardrail.
func (Guardrail) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.RelayConnection()}
}
