package guardrails

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/ent/guardrail"
	"github.com/credvault/credvault/internal/access"
	"github.com/credvault/credvault/internal/platform/apperr"
	"github.com/credvault/credvault/internal/platform/invalidate"
	"github.com/credvault/credvault/internal/platform/store"
)

// Stage is where in a chat request guardrails run.
type Stage string

// The stages: the caller's messages before they leave CredVault, and the
// provider's answer before it reaches the caller.
const (
	Input  Stage = AppliesInput
	Output Stage = AppliesOutput
)

// Result is what the guardrails of a stage decided: Texts are the texts
// after redaction, in the order given; Allowed is false when a guardrail
// whose action is block matched.
type Result struct {
	Allowed    bool
	Texts      []string
	Violations []Violation
}

// Violation names a guardrail that matched. It never holds the matched
// text: it is audited and returned to callers.
type Violation struct {
	Guardrail string `json:"guardrail"`
	Kind      string `json:"kind"`
	Action    string `json:"action"`
}

// Check runs the enabled guardrails of the tenant in ctx that apply at
// stage over texts, in the order they were created. Redactions of one
// guardrail are what the next one sees; a block wins over everything, yet
// every guardrail still runs so that all violations are reported. The
// caller (the gateway) has already authorised the request.
func (s *Service) Check(ctx context.Context, stage Stage, texts []string) (Result, error) {
	tenant, ok := access.TenantFromContext(ctx)
	if !ok {
		return Result{}, apperr.Unauthenticated("no tenant")
	}
	rules, err := s.rules(ctx, tenant)
	if err != nil {
		return Result{}, err
	}
	return run(rules, stage, texts), nil
}

// run applies rules at stage to texts.
func run(rules []*rule, stage Stage, texts []string) Result {
	res := Result{Allowed: true, Texts: append([]string{}, texts...), Violations: []Violation{}}
	for _, r := range rules {
		if !r.applies(stage) {
			continue
		}
		matched := false
		if r.kind == KindMaxTokens {
			matched = approxTokens(res.Texts) > r.maxTokens
		} else {
			for i, t := range res.Texts {
				spans := r.matches(t)
				if len(spans) == 0 {
					continue
				}
				matched = true
				if r.action == ActionRedact {
					// A redaction changes what surrounds a match, which can
					// make a whole token of what was part of one: redact
					// again until nothing is found.
					for pass := 0; len(spans) > 0 && pass < maxRedactPasses; pass++ {
						t = redact(t, spans)
						spans = r.matches(t)
					}
					res.Texts[i] = t
				}
			}
		}
		if !matched {
			continue
		}
		res.Violations = append(res.Violations, Violation{Guardrail: r.name, Kind: r.kind.String(), Action: r.action.String()})
		if r.action == ActionBlock {
			res.Allowed = false
		}
	}
	return res
}

// maxRedactPasses bounds the redactions of one guardrail over one text.
const maxRedactPasses = 4

// Cache bounds: every change of a guardrail drops its tenant on every
// instance through the bus; the TTL bounds staleness should one be lost.
const (
	rulesTTL       = time.Minute
	maxCachedRules = 10_000
	invalidateKind = "guardrail"
)

// Changed is the topic announcing that tenant's guardrails changed.
func Changed(tenant uuid.UUID) invalidate.Topic {
	return invalidate.For(invalidateKind, tenant.String())
}

// rules returns the tenant's enabled guardrails, compiled, in order: from
// the cache, so a chat request costs no statement and no regexp
// compilation.
func (s *Service) rules(ctx context.Context, tenant uuid.UUID) ([]*rule, error) {
	return s.cache.Get(tenant, func() ([]*rule, error) {
		rows, err := s.Client.Guardrail.Query().Where(guardrail.TenantID(tenant), guardrail.Enabled(true)).
			Order(ent.Asc(guardrail.FieldCreatedAt), ent.Asc(guardrail.FieldID)).All(store.Unrestricted(ctx))
		if err != nil {
			return nil, err
		}
		list := make([]*rule, 0, len(rows))
		for _, g := range rows {
			r, err := ruleOf(g)
			if err != nil {
				return nil, err
			}
			list = append(list, r)
		}
		return list, nil
	})
}

// ruleOf compiles a stored guardrail, whose config was checked when saved.
func ruleOf(g *ent.Guardrail) (*rule, error) {
	r, _, err := compile(g.Kind, g.Action, g.Config)
	if err != nil {
		return nil, err
	}
	r.name, r.appliesTo = g.Name, g.AppliesTo.String()
	return r, nil
}
