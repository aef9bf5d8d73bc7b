package guardrails

import (
	"strings"
	"testing"

	"github.com/credvault/credvault/ent/guardrail"
)

// FuzzCheck runs every kind over arbitrary texts: it never panics, each
// PII found is redacted, the redacted output has none left, and max_tokens
// decides alone whether the text passes.
func FuzzCheck(f *testing.F) {
	for _, s := range []string{
		"", "jane@example.com", "+1 415 555 2671", "4111 1111 1111 1111", "DE89 3704 0044 0532 0130 00",
		"sk-abcdefghijklmnopqrstuvwxyz", "(415) 555-2671 and a@b.io, 2024-01-15", "é\x00\xff@x.io",
		"4111111111111111@example.com", "cvk_aaaaaaaaaaaaaaaaaaaaaaaa+1 415 555 2671",
	} {
		f.Add(s)
	}
	rs, err := compiled(
		[]any{"pii", "redact", map[string]any{}},
		[]any{"blocked_terms", "flag", map[string]any{"terms": []any{"secret", "a b"}}},
		[]any{"regex", "flag", map[string]any{"patterns": []any{`x*`, `\d{3}`}}},
		[]any{"max_tokens", "block", map[string]any{"max_tokens": 50}},
	)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, text string) {
		res := run(rs, Input, []string{text, text})
		if len(res.Texts) != 2 || res.Texts[0] != res.Texts[1] {
			t.Fatalf("texts %q", res.Texts)
		}
		for _, s := range findPII(text, piiTypes) {
			if !strings.Contains(res.Texts[0], "[REDACTED:"+s.label+"]") {
				t.Fatalf("redacted %q lacks the %s found in %q", res.Texts[0], s.label, text)
			}
		}
		if again := findPII(res.Texts[0], piiTypes); len(again) > 0 {
			t.Fatalf("redacted %q still has PII %+v", res.Texts[0], again)
		}
		if res.Allowed != (approxTokens(res.Texts) <= 50) {
			t.Fatalf("allowed %v with %d tokens", res.Allowed, approxTokens(res.Texts))
		}
	})
}

func compiled(defs ...[]any) ([]*rule, error) {
	var out []*rule
	for _, d := range defs {
		r, _, err := compile(guardrail.Kind(d[0].(string)), guardrail.Action(d[1].(string)), d[2].(map[string]any))
		if err != nil {
			return nil, err
		}
		r.name, r.appliesTo = d[0].(string), AppliesBoth
		out = append(out, r)
	}
	return out, nil
}
