package schema

import (
	"entgo.io/contrib/entgql"
	"entgo.io/ent"
	"entgo.io/ent/schema"
	"entgo.io/ent/schema/field"
	"entgo.io/ent/schema/index"
)

// Job is one run of a background job in the durable queue. Workers claim
// due jobs with FOR UPDATE SKIP LOCKED on PostgreSQL; a claimed job holds a
// lease, so a job whose worker died is claimed again (at-least-once).
type Job struct{ ent.Schema }

// Mixin of the Job.
func (Job) Mixin() []ent.Mixin { return []ent.Mixin{IDMixin{}, TimeMixin{}} }

// Fields of the Job.
func (Job) Fields() []ent.Field {
	return []ent.Field{
		field.String("name").NotEmpty().Immutable(),
		field.JSON("args", map[string]any{}).Default(map[string]any{}).Immutable(),
		field.Enum("status").Values("pending", "running", "completed", "failed", "retrying").Default("pending"),
		field.Int("attempts").Default(0),
		field.Int("max_attempts").Default(5).Positive(),
		field.Time("run_at").Default(now),
		field.String("locked_by").Default(""),
		field.Time("locked_until").Optional().Nillable(),
		field.String("last_error").Default("").MaxLen(2000),
		field.Time("started_at").Optional().Nillable(),
		field.Time("finished_at").Optional().Nillable(),
		field.String("dedupe_key").Optional().Nillable().Unique().
			Comment("set on periodic runs, so several instances enqueue one run per period"),
	}
}

// Indexes of the Job: workers look for due jobs, stats count by name.
func (Job) Indexes() []ent.Index {
	return []ent.Index{index.Fields("status", "run_at"), index.Fields("name", "status")}
}

// Annotations of the Job.
func (Job) Annotations() []schema.Annotation {
	return []schema.Annotation{entgql.Skip()}
}
