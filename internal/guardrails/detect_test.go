package guardrails

import (
	"strings"
	"testing"

	"github.com/credvault/credvault/ent/guardrail"
)

// found returns the labels of the PII of types in text, in order.
func found(text string, types ...string) []string {
	if len(types) == 0 {
		types = piiTypes
	}
	var out []string
	for _, s := range findPII(text, types) {
		out = append(out, s.label+"="+text[s.start:s.end])
	}
	return out
}

func TestDetectors(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		want       []string
	}{
		// e-mail
		{"email", "write to jane.doe+ai@example.co.uk today", []string{"EMAIL=jane.doe+ai@example.co.uk"}},
		{"email at sentence end", "mail a@b.io.", []string{"EMAIL=a@b.io"}},
		{"not an email", "user@localhost and @handle and a@b", nil},
		// cards: Luhn-valid and not
		{"visa plain", "card 4111111111111111 ok", []string{"CARD=4111111111111111"}},
		{"visa grouped", "4111 1111 1111 1111.", []string{"CARD=4111 1111 1111 1111"}},
		{"mastercard dashes", "5500-0000-0000-0004", []string{"CARD=5500-0000-0000-0004"}},
		{"amex", "3782 822463 10005", []string{"CARD=3782 822463 10005"}},
		{"card fails Luhn", "4111111111111112", nil},
		{"card grouped fails Luhn", "4111 1111 1111 1112", nil},
		{"Luhn-valid but no card scheme", "0000000000000000", nil},
		{"card with trailing group", "4111 1111 1111 1111 22", []string{"CARD=4111 1111 1111 1111"}},
		{"card inside longer digits", "94111111111111111", nil},
		// IBAN: mod-97 and length
		{"iban compact", "pay DE89370400440532013000 now", []string{"IBAN=DE89370400440532013000"}},
		{"iban grouped", "GB29 NWBK 6016 1331 9268 19", []string{"IBAN=GB29 NWBK 6016 1331 9268 19"}},
		{"iban bad check digits", "DE88370400440532013000", nil},
		{"iban wrong length", "DE8937040044053201300", nil},
		{"iban unknown country", "ZZ89370400440532013000", nil},
		// phones
		{"phone intl", "call +1 415 555 2671 now", []string{"PHONE=+1 415 555 2671"}},
		{"phone intl compact", "+14155552671", []string{"PHONE=+14155552671"}},
		{"phone uk", "+44 20 7946 0958.", []string{"PHONE=+44 20 7946 0958"}},
		{"phone parens", "(415) 555-2671", []string{"PHONE=(415) 555-2671"}},
		{"phone dashes", "at 415-555-2671.", []string{"PHONE=415-555-2671"}},
		{"phone dots", "415.555.2671", []string{"PHONE=415.555.2671"}},
		// API-key-like tokens
		{"openai key", "key sk-proj-abcdefghijklmnopqrstuvwx1234", []string{"API_KEY=sk-proj-abcdefghijklmnopqrstuvwx1234"}},
		{"credvault key", "cvk_0123456789abcdefABCDEFghij", []string{"API_KEY=cvk_0123456789abcdefABCDEFghij"}},
		{"github token", "ghp_" + strings.Repeat("a1", 18), []string{"API_KEY=ghp_" + strings.Repeat("a1", 18)}},
		{"aws key id", "AKIAIOSFODNN7EXAMPLE", []string{"API_KEY=AKIAIOSFODNN7EXAMPLE"}},
		{"short sk- is a word", "a sk-learn model", nil},
		// No false positives on ordinary numbers and dates.
		{"dates", "on 2024-01-15, 15/01/2024, 01.15.2024 at 10:30:45", nil},
		{"amounts and ids", "order 12345678 for $1,234,567.89, ref 4155552671, 3.14159265358979", nil},
		{"version and year", "v1.2.3 released in 2024; port 8080; 192.168.1.10", nil},
		{"sixteen digits failing Luhn", "tracking 1234567812345678", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := found(tc.text)
			if strings.Join(got, "|") != strings.Join(tc.want, "|") {
				t.Errorf("findPII(%q) = %q, want %q", tc.text, got, tc.want)
			}
		})
	}
}

func TestPIITypesSubset(t *testing.T) {
	text := "a@b.io +1 415 555 2671 4111111111111111"
	if got := found(text, PIIEmail); len(got) != 1 || got[0] != "EMAIL=a@b.io" {
		t.Errorf("email only: %q", got)
	}
	if got := found(text, PIICard, PIIPhone); len(got) != 2 {
		t.Errorf("card and phone: %q", got)
	}
}

func TestLuhnAndIBAN(t *testing.T) {
	for d, want := range map[string]bool{"79927398713": true, "79927398710": false, "4012888888881881": true, "4012888888881882": false} {
		if luhn(d) != want {
			t.Errorf("luhn(%s) = %v", d, !want)
		}
	}
	for s, want := range map[string]bool{"FR1420041010050500013M02606": true, "FR1420041010050500013M02607": false,
		"NO9386011117947": true, "BE68539007547034": true, "BE68539007547035": false} {
		if validIBAN(s) != want {
			t.Errorf("validIBAN(%s) = %v", s, !want)
		}
	}
}

func TestBlockedTerms(t *testing.T) {
	re, err := compileTerms([]string{"secret project", "Foo", "c++"})
	if err != nil {
		t.Fatal(err)
	}
	for text, want := range map[string]int{
		"the SECRET   Project is":  1,
		"foo, foo. FOO":            3,
		"food and foobar and afoo": 0,
		"i like c++ a lot":         1,
		"secret projects":          0,
		"foo_bar":                  0,
		"":                         0,
	} {
		if got := len(findTerms(re, text)); got != want {
			t.Errorf("findTerms(%q) = %d matches, want %d", text, got, want)
		}
	}
}

func rules(t *testing.T, defs ...[4]any) []*rule {
	t.Helper()
	var out []*rule
	for i, d := range defs {
		r, _, err := compile(guardrail.Kind(d[0].(string)), guardrail.Action(d[1].(string)), d[2].(map[string]any))
		if err != nil {
			t.Fatalf("compile %v: %v", d, err)
		}
		r.name, r.appliesTo = "g"+string(rune('1'+i)), d[3].(string)
		out = append(out, r)
	}
	return out
}

func TestRedactionOutput(t *testing.T) {
	rs := rules(t,
		[4]any{"pii", "redact", map[string]any{}, "both"},
		[4]any{"regex", "redact", map[string]any{"patterns": []any{`order-\d+`}}, "input"},
		[4]any{"blocked_terms", "redact", map[string]any{"terms": []any{"project x"}}, "both"},
	)
	res := run(rs, Input, []string{
		"Mail jane@example.com or call +44 20 7946 0958 about order-42 and Project X; card 4111-1111-1111-1111.",
		"nothing here",
	})
	want := "Mail [REDACTED:EMAIL] or call [REDACTED:PHONE] about [REDACTED:REGEX] and [REDACTED:BLOCKED_TERM]; card [REDACTED:CARD]."
	if !res.Allowed || res.Texts[0] != want || res.Texts[1] != "nothing here" {
		t.Fatalf("run = %+v\nwant %q", res, want)
	}
	if len(res.Violations) != 3 || res.Violations[0] != (Violation{"g1", "pii", "redact"}) {
		t.Errorf("violations %+v", res.Violations)
	}
	// The regex guardrail applies to input only.
	out := run(rs, Output, []string{"order-42"})
	if out.Texts[0] != "order-42" || len(out.Violations) != 0 {
		t.Errorf("output stage ran an input guardrail: %+v", out)
	}
}

func TestOrderAndPrecedence(t *testing.T) {
	rs := rules(t,
		[4]any{"pii", "redact", map[string]any{"types": []any{"email"}}, "both"},
		// Runs after the redaction: the address is gone, so it never matches.
		[4]any{"regex", "block", map[string]any{"patterns": []any{`@example\.com`}}, "both"},
		[4]any{"blocked_terms", "flag", map[string]any{"terms": []any{"hello"}}, "both"},
		[4]any{"blocked_terms", "block", map[string]any{"terms": []any{"forbidden"}}, "both"},
		[4]any{"pii", "flag", map[string]any{}, "both"},
		[4]any{"max_tokens", "flag", map[string]any{"max_tokens": 5}, "output"},
	)
	res := run(rs, Input, []string{"hello a@example.com, this is forbidden"})
	if res.Allowed {
		t.Fatal("a block must win over the redactions and flags around it")
	}
	var names []string
	for _, v := range res.Violations {
		names = append(names, v.Guardrail+":"+v.Action)
	}
	if got := strings.Join(names, ","); got != "g1:redact,g3:flag,g4:block" {
		t.Errorf("violations in order = %s", got)
	}
	if res.Texts[0] != "hello [REDACTED:EMAIL], this is forbidden" {
		t.Errorf("texts %q", res.Texts)
	}
	// max_tokens counts the texts together: 24 characters are 6 tokens.
	out := run(rs, Output, []string{strings.Repeat("x", 12), strings.Repeat("y", 12)})
	if !out.Allowed || len(out.Violations) != 1 || out.Violations[0].Kind != "max_tokens" {
		t.Errorf("max_tokens: %+v", out)
	}
	if approxTokens([]string{"abcd", "é"}) != 2 {
		t.Error("approxTokens counts characters, rounding up")
	}
}

func TestCompileValidation(t *testing.T) {
	for _, tc := range []struct {
		kind, action string
		config       map[string]any
		field        string
	}{
		{"nope", "block", nil, "kind"},
		{"max_tokens", "redact", map[string]any{"max_tokens": 10}, "action"},
		{"pii", "block", map[string]any{"types": []any{"email", "ssn"}}, "config.types[1]"},
		{"pii", "block", map[string]any{"types": []any{}}, "config.types"},
		{"pii", "block", map[string]any{"other": 1}, "config.other"},
		{"blocked_terms", "block", map[string]any{}, "config.terms"},
		{"blocked_terms", "block", map[string]any{"terms": []any{"ok", " "}}, "config.terms[1]"},
		{"blocked_terms", "block", map[string]any{"terms": []any{strings.Repeat("a", maxTermLen+1)}}, "config.terms[0]"},
		{"regex", "flag", map[string]any{"patterns": []any{"(a"}}, "config.patterns[0]"},
		{"regex", "flag", map[string]any{"patterns": []any{`(\w)\1`}}, "config.patterns[0]"},
		{"regex", "flag", map[string]any{"patterns": []any{strings.Repeat("a", maxPatternLen+1)}}, "config.patterns[0]"},
		{"regex", "flag", map[string]any{"patterns": "a"}, "config.patterns"},
		{"max_tokens", "block", map[string]any{"max_tokens": 1.5}, "config.max_tokens"},
		{"max_tokens", "block", map[string]any{"max_tokens": 0.0}, "config.max_tokens"},
		{"max_tokens", "block", map[string]any{}, "config.max_tokens"},
	} {
		_, _, err := compile(guardrail.Kind(tc.kind), guardrail.Action(tc.action), tc.config)
		if err == nil || !strings.Contains(err.Error(), tc.field+" is") {
			t.Errorf("compile(%s, %s, %v) = %v, want an error naming %s", tc.kind, tc.action, tc.config, err, tc.field)
		}
	}
	_, cfg, err := compile(KindBlockedTerms, ActionBlock, map[string]any{"terms": []any{" a ", "a", "b"}})
	if err != nil || strings.Join(cfg["terms"].([]string), ",") != "a,b" {
		t.Errorf("terms are trimmed and deduplicated: %v %v", cfg, err)
	}
}
