package schema

import (
	"time"

	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema/edge"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/mixin"
	"github.com/credvault/credvault/internal/platform/ids"
	"github.com/google/uuid"
	"github.com/vektah/gqlparser/v2/ast"
)

// now is the clock of every stored time: UTC in microseconds, as PostgreSQL
// keeps it, so SQLite and PostgreSQL return the same values.
func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// IDMixin gives a schema a time-ordered UUID primary key, the same id on REST and GraphQL.
type IDMixin struct{ mixin.Schema }

// Fields of the IDMixin.
func (IDMixin) Fields() []ent.Field {
	return []ent.Field{field.UUID("id", uuid.UUID{}).Default(ids.New).Immutable()}
}

// TimeMixin records when a row was created and last updated.
type TimeMixin struct{ mixin.Schema }

// Fields of the TimeMixin.
func (TimeMixin) Fields() []ent.Field {
	return []ent.Field{
		field.Time("created_at").Default(now).Immutable().
			Annotations(entgql.OrderField("CREATED_AT")),
		field.Time("updated_at").Default(now).UpdateDefault(now).
			Annotations(entgql.OrderField("UPDATED_AT")),
	}
}

// TenantMixin marks a schema as tenant-owned: every row carries its tenant.
// Isolation is enforced by the policy and hook in tenancy.go. Ref names the
// Tenant's edge to the schema's rows when the graph shows it (SPEC §10);
// the row's own tenant edge is then in the graph too.
type TenantMixin struct {
	mixin.Schema
	Ref string
}

// Fields of the TenantMixin.
func (TenantMixin) Fields() []ent.Field {
	return []ent.Field{field.UUID("tenant_id", uuid.UUID{}).Immutable()}
}

// Edges of the TenantMixin.
func (m TenantMixin) Edges() []ent.Edge {
	if m.Ref != "" {
		return []ent.Edge{
			edge.From("tenant", Tenant.Type).Ref(m.Ref).Field("tenant_id").Unique().Required().Immutable(),
		}
	}
	return []ent.Edge{
		edge.To("tenant", Tenant.Type).Field("tenant_id").Unique().Required().Immutable().
			Annotations(entgql.Skip()),
	}
}

// forceResolver makes gqlgen resolve a field with a resolver method rather
// than read the struct field.
func forceResolver() entgql.Directive {
	return entgql.NewDirective("goField", &ast.Argument{Name: "forceResolver",
		Value: &ast.Value{Raw: "true", Kind: ast.BooleanValue}})
}

// stringList is a JSON list of strings that is never null.
func stringList(name string) ent.Field {
	return field.Strings(name).Default([]string{})
}
