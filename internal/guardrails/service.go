// Package guardrails checks the messages of the AI gateway (SPEC §14): a
// tenant's guardrails (pii, blocked_terms, regex, max_tokens) block, redact
// or flag what a caller sends and what a provider answers. Service owns
// their rules, so GraphQL, REST and the gateway all call it.
package guardrails

import (
	"context"
	"fmt"
	"strings"

	"entgo.io/contrib/entgql"
	"github.com/google/uuid"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/ent/guardrail"
	"github.com/credvault/credvault/internal/access"
	"github.com/credvault/credvault/internal/access/authz"
	"github.com/credvault/credvault/internal/audit"
	"github.com/credvault/credvault/internal/platform/apperr"
	"github.com/credvault/credvault/internal/platform/invalidate"
	"github.com/credvault/credvault/internal/platform/paging"
	"github.com/credvault/credvault/internal/platform/store"
)

// Service creates, changes, lists and tests a tenant's guardrails, and
// runs them for the gateway (Check).
type Service struct {
	Client *ent.Client
	Guard  *authz.Guard
	Bus    *invalidate.Bus
	cache  *invalidate.TenantCache[[]*rule]
}

// New returns a service whose guardrail cache follows the bus.
func New(client *ent.Client, guard *authz.Guard, bus *invalidate.Bus) *Service {
	return &Service{Client: client, Guard: guard, Bus: bus,
		cache: invalidate.NewTenantCache[[]*rule](bus, invalidateKind, rulesTTL, maxCachedRules)}
}

// maxName bounds a guardrail's name.
const maxName = 200

// Create adds a guardrail to the caller's tenant, after every existing one.
func (s *Service) Create(ctx context.Context, in CreateGuardrailInput) (*ent.Guardrail, error) {
	p, err := s.Guard.Require(ctx, access.CreateGuardrail)
	if err != nil {
		return nil, err
	}
	name, err := checkName(in.Name)
	if err != nil {
		return nil, err
	}
	pol, ok := policyOf(in.Kind)
	if !ok {
		return nil, apperr.Invalid("kind", "unknown").With("allowed", kinds())
	}
	action := pol.DefaultAction
	if in.Action != nil {
		action = *in.Action
	}
	applies, err := checkAppliesTo(in.AppliesTo)
	if err != nil {
		return nil, err
	}
	_, config, err := compile(in.Kind, action, orEmpty(in.Config))
	if err != nil {
		return nil, err
	}
	enabled := in.Enabled == nil || *in.Enabled
	return store.Write(ctx, s.Client, func(ctx context.Context, tx *ent.Client) (*ent.Guardrail, error) {
		g, err := tx.Guardrail.Create().SetName(name).SetKind(in.Kind).SetConfig(config).
			SetAction(action).SetAppliesTo(guardrail.AppliesTo(applies)).SetEnabled(enabled).
			SetCreatedBy(p.ID).Save(ctx)
		if err != nil {
			return nil, err
		}
		if err := audit.Record(ctx, tx, audit.Entry{Action: "guardrail.create", ResourceType: "guardrail", ResourceID: g.ID.String(),
			Details: summary(g)}); err != nil {
			return nil, err
		}
		return g, s.Bus.Publish(ctx, tx, Changed(g.TenantID))
	})
}

// Update changes the fields in sets; the kind stays. A new action or
// config is checked against the kind with the other as it will be.
func (s *Service) Update(ctx context.Context, id uuid.UUID, in UpdateGuardrailInput) (*ent.Guardrail, error) {
	if _, err := s.Guard.Require(ctx, access.UpdateGuardrail); err != nil {
		return nil, err
	}
	var name, applies string
	var err error
	if in.Name != nil {
		if name, err = checkName(*in.Name); err != nil {
			return nil, err
		}
	}
	if in.AppliesTo != nil {
		if applies, err = checkAppliesTo(in.AppliesTo); err != nil {
			return nil, err
		}
	}
	return store.Write(ctx, s.Client, func(ctx context.Context, tx *ent.Client) (*ent.Guardrail, error) {
		g, err := tx.Guardrail.Query().Where(guardrail.ID(id), store.ForUpdate).Only(ctx)
		if err != nil {
			return nil, err
		}
		upd := tx.Guardrail.UpdateOne(g)
		var changed []string
		if in.Name != nil {
			upd.SetName(name)
			changed = append(changed, "name")
		}
		if in.Action != nil || in.Config != nil {
			action, config := g.Action, g.Config
			if in.Action != nil {
				action = *in.Action
				changed = append(changed, "action")
			}
			if in.Config != nil {
				config = in.Config
				changed = append(changed, "config")
			}
			_, config, err := compile(g.Kind, action, config)
			if err != nil {
				return nil, err
			}
			upd.SetAction(action).SetConfig(config)
		}
		if in.AppliesTo != nil {
			upd.SetAppliesTo(guardrail.AppliesTo(applies))
			changed = append(changed, "applies_to")
		}
		if in.Enabled != nil {
			upd.SetEnabled(*in.Enabled)
			changed = append(changed, "enabled")
		}
		if g, err = upd.Save(ctx); err != nil {
			return nil, err
		}
		details := summary(g)
		details["fields"] = orEmptyList(changed)
		if err := audit.Record(ctx, tx, audit.Entry{Action: "guardrail.update", ResourceType: "guardrail", ResourceID: g.ID.String(),
			Details: details}); err != nil {
			return nil, err
		}
		return g, s.Bus.Publish(ctx, tx, Changed(g.TenantID))
	})
}

// Delete removes a guardrail; the gateway stops applying it at once.
func (s *Service) Delete(ctx context.Context, id uuid.UUID) (uuid.UUID, error) {
	if _, err := s.Guard.Require(ctx, access.DeleteGuardrail); err != nil {
		return uuid.Nil, err
	}
	_, err := store.Write(ctx, s.Client, func(ctx context.Context, tx *ent.Client) (*ent.Guardrail, error) {
		g, err := tx.Guardrail.Get(ctx, id)
		if err != nil {
			return nil, err
		}
		if err := tx.Guardrail.DeleteOne(g).Exec(ctx); err != nil {
			return nil, err
		}
		if err := audit.Record(ctx, tx, audit.Entry{Action: "guardrail.delete", ResourceType: "guardrail", ResourceID: g.ID.String(),
			Details: summary(g)}); err != nil {
			return nil, err
		}
		return g, s.Bus.Publish(ctx, tx, Changed(g.TenantID))
	})
	if err != nil {
		return uuid.Nil, err
	}
	return id, nil
}

// Policies describes the kinds.
func (s *Service) Policies(ctx context.Context) ([]*Policy, error) {
	if _, err := s.Guard.Require(ctx, access.ListGuardrailPolicies); err != nil {
		return nil, err
	}
	out := make([]*Policy, len(Policies))
	for i := range Policies {
		out[i] = &Policies[i]
	}
	return out, nil
}

// Test runs the tenant's enabled guardrails of a stage (input unless
// given) on a text or on messages, as the gateway would; nothing is sent
// anywhere and nothing is stored.
func (s *Service) Test(ctx context.Context, in TestGuardrailsInput) (*TestResult, error) {
	if _, err := s.Guard.Require(ctx, access.TestGuardrails); err != nil {
		return nil, err
	}
	stage := Input
	if in.Stage != nil {
		if *in.Stage != string(Input) && *in.Stage != string(Output) {
			return nil, apperr.Invalid("stage", "input or output")
		}
		stage = Stage(*in.Stage)
	}
	var texts []string
	switch {
	case in.Text != nil && in.Messages != nil:
		return nil, apperr.Invalid("text", "exclusive with messages")
	case in.Text != nil:
		texts = []string{*in.Text}
	case len(in.Messages) > 0:
		for i, m := range in.Messages {
			if m == nil {
				return nil, apperr.Invalid(fmt.Sprintf("messages[%d]", i), "required")
			}
			texts = append(texts, m.Content)
		}
	default:
		return nil, apperr.Invalid("text", "required, or messages")
	}
	res, err := s.Check(ctx, stage, texts)
	if err != nil {
		return nil, err
	}
	out := &TestResult{Allowed: res.Allowed, Violations: res.Violations}
	if in.Text != nil {
		out.Redacted = &res.Texts[0]
		return out, nil
	}
	out.Messages = make([]*Message, len(in.Messages))
	for i, m := range in.Messages {
		out.Messages[i] = &Message{Role: m.Role, Content: res.Texts[i]}
	}
	return out, nil
}

// Page is a page of the tenant's guardrails as a GraphQL connection.
func (s *Service) Page(ctx context.Context, after *entgql.Cursor[uuid.UUID], first *int, before *entgql.Cursor[uuid.UUID], last *int,
	orderBy *ent.GuardrailOrder, where *ent.GuardrailWhereInput) (*ent.GuardrailConnection, error) {
	if _, err := s.Guard.Require(ctx, access.ListGuardrails); err != nil {
		return nil, err
	}
	return paging.Connection(ctx, s.Client.Guardrail.Query(), where.Filter, first, last, paging.Cursors{After: after, Before: before, Order: orderBy},
		func(ctx context.Context, q *ent.GuardrailQuery, first, last *int) (*ent.GuardrailConnection, error) {
			return q.Paginate(ctx, after, first, before, last, ent.WithGuardrailOrder(orderBy))
		}, func(c *ent.GuardrailConnection) (*int, ent.PageInfo) { return &c.TotalCount, c.PageInfo })
}

// List is one offset page of the tenant's guardrails matching where, and
// how many match: the REST list.
func (s *Service) List(ctx context.Context, where *ent.GuardrailWhereInput, w paging.Window) ([]*ent.Guardrail, int, error) {
	_, err := s.Guard.Require(ctx, access.ListGuardrails)
	return paging.List(ctx, s.Client.Guardrail.Query(), err, where, w,
		func(q *ent.GuardrailQuery) *ent.GuardrailQuery { return q.Order(w.Term(), w.Tie()) })
}

func checkName(n string) (string, error) {
	name := strings.TrimSpace(n)
	switch {
	case name == "":
		return "", apperr.Invalid("name", "required")
	case len([]rune(name)) > maxName:
		return "", apperr.Invalid("name", "too long").With("max", maxName)
	}
	return name, nil
}

func checkAppliesTo(a *guardrail.AppliesTo) (string, error) {
	if a == nil {
		return AppliesBoth, nil
	}
	if err := guardrail.AppliesToValidator(*a); err != nil {
		return "", apperr.Invalid("applies_to", "input, output or both")
	}
	return a.String(), nil
}

// summary is a guardrail as the audit trail records it: its config, which
// may list sensitive terms, is left out.
func summary(g *ent.Guardrail) map[string]any {
	return map[string]any{"name": g.Name, "kind": g.Kind.String(), "action": g.Action.String(),
		"applies_to": g.AppliesTo.String(), "enabled": g.Enabled}
}

func orEmpty(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

func orEmptyList(l []string) []string {
	if l == nil {
		return []string{}
	}
	return l
}
