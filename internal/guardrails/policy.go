package guardrails

import (
	"encoding/json"
	"fmt"
	"github.com/credvault/credvault/ent/guardrail"
	"math"
	"regexp"
	"slices"
	"strings"

	"github.com/credvault/credvault/internal/platform/apperr"
)

// The kinds, actions and stages of SPEC §14.
const (
	KindPII          = guardrail.KindPii
	KindBlockedTerms = guardrail.KindBlockedTerms
	KindRegex        = guardrail.KindRegex
	KindMaxTokens    = guardrail.KindMaxTokens

	ActionBlock  = guardrail.ActionBlock
	ActionRedact = guardrail.ActionRedact
	ActionFlag   = guardrail.ActionFlag

	AppliesInput  = "input"
	AppliesOutput = "output"
	AppliesBoth   = "both"
)

// Bounds of a guardrail's config: they keep a check's cost per message
// small whatever a tenant configures.
const (
	maxTerms      = 500
	maxTermLen    = 200
	maxPatterns   = 20
	maxPatternLen = 500
	maxTokenLimit = 10_000_000
)

// Policy describes a kind, as GET /admin/guardrails/policies shows it.
type Policy struct {
	Kind          guardrail.Kind     `json:"kind"`
	Description   string             `json:"description"`
	ConfigSchema  map[string]any     `json:"config_schema"`
	DefaultAction guardrail.Action   `json:"default_action"`
	Actions       []guardrail.Action `json:"actions"`
}

// Policies lists the kinds; their config schemas are JSON Schema.
var Policies = []Policy{
	{KindPII, "Personal data and secrets: e-mail addresses, phone numbers (international +… or (415) 555-2671 style; " +
		"bare digit runs are not taken for one), card numbers passing the Luhn check, IBANs passing the mod-97 check, " +
		"and API-key-like tokens (sk-…, cvk_…, ghp_…, AKIA…, xox…-, AIza…). Redaction writes [REDACTED:EMAIL], " +
		"[REDACTED:PHONE], [REDACTED:CARD], [REDACTED:IBAN] or [REDACTED:API_KEY].",
		object(map[string]any{"types": map[string]any{"type": "array", "minItems": 1, "uniqueItems": true,
			"items":       map[string]any{"type": "string", "enum": piiTypes},
			"description": "the types to detect; all of them when omitted"}}),
		ActionRedact, allActions},
	{KindBlockedTerms, "Words and phrases, matched case-insensitively as whole words (a phrase's words separated by " +
		"any spaces). Redaction writes [REDACTED:BLOCKED_TERM].",
		object(map[string]any{"terms": map[string]any{"type": "array", "minItems": 1, "maxItems": maxTerms,
			"items": map[string]any{"type": "string", "minLength": 1, "maxLength": maxTermLen}}}, "terms"),
		ActionBlock, allActions},
	{KindRegex, "Regular expressions in RE2 syntax (linear time, no backreferences). Redaction writes [REDACTED:REGEX].",
		object(map[string]any{"patterns": map[string]any{"type": "array", "minItems": 1, "maxItems": maxPatterns,
			"items": map[string]any{"type": "string", "minLength": 1, "maxLength": maxPatternLen}}}, "patterns"),
		ActionFlag, allActions},
	{KindMaxTokens, fmt.Sprintf("The approximate token count of a request's messages together, or of an answer: "+
		"characters divided by %d, rounded up. Over max_tokens, it blocks or flags; it has nothing to redact.", charsPerToken),
		object(map[string]any{"max_tokens": map[string]any{"type": "integer", "minimum": 1, "maximum": maxTokenLimit}}, "max_tokens"),
		ActionBlock, []guardrail.Action{ActionBlock, ActionFlag}},
}

var allActions = []guardrail.Action{ActionBlock, ActionRedact, ActionFlag}

func object(props map[string]any, required ...string) map[string]any {
	s := map[string]any{"type": "object", "properties": props, "additionalProperties": false}
	if len(required) > 0 {
		s["required"] = required
	}
	return s
}

func policyOf(kind guardrail.Kind) (*Policy, bool) {
	for i := range Policies {
		if Policies[i].Kind == kind {
			return &Policies[i], true
		}
	}
	return nil, false
}

func kinds() []string {
	out := make([]string, len(Policies))
	for i, p := range Policies {
		out[i] = p.Kind.String()
	}
	return out
}

// rule is a guardrail ready to run: its config checked and compiled.
type rule struct {
	name, appliesTo string
	kind            guardrail.Kind
	action          guardrail.Action
	pii             []string
	terms           *termSet
	patterns        []*regexp.Regexp
	maxTokens       int
}

// compile checks a kind's config, as the API received it, and returns the
// rule and the config to store (normalised: trimmed terms, no duplicates).
// Errors name the field, such as config.patterns[2].
func compile(kind guardrail.Kind, action guardrail.Action, config map[string]any) (*rule, map[string]any, error) {
	p, ok := policyOf(kind)
	if !ok {
		return nil, nil, apperr.Invalid("kind", "unknown").With("allowed", kinds())
	}
	if !slices.Contains(p.Actions, action) {
		return nil, nil, apperr.Invalid("action", "not one the kind takes").With("allowed", p.Actions)
	}
	props := p.ConfigSchema["properties"].(map[string]any)
	for k := range config {
		if _, ok := props[k]; !ok {
			return nil, nil, apperr.Invalid("config."+k, "unknown").With("kind", kind.String())
		}
	}
	r := &rule{kind: kind, action: action}
	switch kind {
	case KindPII:
		r.pii = slices.Clone(piiTypes)
		if v, ok := config["types"]; ok {
			types, err := stringList(v, "config.types", len(piiTypes), 20)
			if err != nil {
				return nil, nil, err
			}
			for i, t := range types {
				if !slices.Contains(piiTypes, t) {
					return nil, nil, apperr.Invalid(fmt.Sprintf("config.types[%d]", i), "unknown").With("allowed", piiTypes)
				}
			}
			r.pii = nil
			for _, t := range piiTypes {
				if slices.Contains(types, t) {
					r.pii = append(r.pii, t)
				}
			}
		}
		return r, map[string]any{"types": r.pii}, nil
	case KindBlockedTerms:
		terms, err := stringList(config["terms"], "config.terms", maxTerms, maxTermLen)
		if err != nil {
			return nil, nil, err
		}
		// Terms match whatever their case, so "Zeus" and "zeus" are one.
		var folded []string
		for _, t := range terms {
			if !slices.ContainsFunc(folded, func(f string) bool { return strings.EqualFold(f, t) }) {
				folded = append(folded, t)
			}
		}
		terms = folded
		if r.terms, err = compileTerms(terms); err != nil {
			return nil, nil, apperr.Invalid("config.terms", "not usable")
		}
		return r, map[string]any{"terms": terms}, nil
	case KindRegex:
		patterns, err := stringList(config["patterns"], "config.patterns", maxPatterns, maxPatternLen)
		if err != nil {
			return nil, nil, err
		}
		for i, src := range patterns {
			re, err := regexp.Compile(src)
			if err != nil {
				return nil, nil, apperr.Invalid(fmt.Sprintf("config.patterns[%d]", i), "not a valid RE2 pattern")
			}
			r.patterns = append(r.patterns, re)
		}
		return r, map[string]any{"patterns": patterns}, nil
	default: // KindMaxTokens
		n, ok := integer(config["max_tokens"])
		if !ok || n < 1 || n > maxTokenLimit {
			return nil, nil, apperr.Invalid("config.max_tokens", "required, an integer from 1 to 10000000")
		}
		r.maxTokens = n
		return r, map[string]any{"max_tokens": n}, nil
	}
}

// stringList reads a required non-empty list of at most max non-empty
// strings of at most maxLen characters, trimmed and without duplicates.
func stringList(v any, field string, max, maxLen int) ([]string, error) {
	list, ok := v.([]any)
	if !ok {
		if ss, isStrings := v.([]string); isStrings {
			list = make([]any, len(ss))
			for i, s := range ss {
				list[i] = s
			}
		} else {
			return nil, apperr.Invalid(field, "required, a list of strings")
		}
	}
	if len(list) == 0 || len(list) > max {
		return nil, apperr.Invalid(field, fmt.Sprintf("a list of 1 to %d strings", max))
	}
	out := make([]string, 0, len(list))
	for i, item := range list {
		s, ok := item.(string)
		s = strings.TrimSpace(s)
		if !ok || s == "" || len([]rune(s)) > maxLen || strings.ContainsRune(s, 0) {
			return nil, apperr.Invalid(fmt.Sprintf("%s[%d]", field, i), fmt.Sprintf("a non-empty string of at most %d characters", maxLen))
		}
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	return out, nil
}

// integer reads a whole number as JSON or GraphQL decoding gives it.
func integer(v any) (int, bool) {
	switch n := v.(type) {
	case int:
		return n, true
	case int64:
		return int(n), n >= math.MinInt32 && n <= math.MaxInt32
	case float64:
		return int(n), n == math.Trunc(n) && math.Abs(n) <= math.MaxInt32
	case json.Number:
		i, err := n.Int64()
		return int(i), err == nil && i >= math.MinInt32 && i <= math.MaxInt32
	}
	return 0, false
}

// applies reports whether the rule runs at stage.
func (r *rule) applies(stage Stage) bool {
	return r.appliesTo == AppliesBoth || r.appliesTo == string(stage)
}

// matches returns the rule's matches in text; max_tokens has none (it
// looks at the texts together).
func (r *rule) matches(text string) []span {
	switch r.kind {
	case KindPII:
		return findPII(text, r.pii)
	case KindBlockedTerms:
		return findTerms(r.terms, text)
	case KindRegex:
		return findRegex(r.patterns, text)
	}
	return nil
}
