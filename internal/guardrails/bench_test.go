package guardrails

import (
	"fmt"
	"strings"
	"testing"
)

// BenchmarkRun is what the guardrails add to a chat request: one of each
// kind (fifty blocked terms, three patterns) over a system prompt and a
// user message of about 2 KB together, with an e-mail address to redact.
func BenchmarkRun(b *testing.B) {
	terms := make([]any, 50)
	for i := range terms {
		terms[i] = fmt.Sprintf("codename %d", i)
	}
	rs, err := compiled(
		[]any{"pii", "redact", map[string]any{}},
		[]any{"blocked_terms", "block", map[string]any{"terms": terms}},
		[]any{"regex", "flag", map[string]any{"patterns": []any{`TICKET-\d+`, `(?i)internal only`, `\b[A-Z]{3}-\d{4}\b`}}},
		[]any{"max_tokens", "block", map[string]any{"max_tokens": 4000}},
	)
	if err != nil {
		b.Fatal(err)
	}
	texts := []string{
		"You are a helpful assistant for Acme Inc. Answer briefly and politely.",
		strings.Repeat("Please summarise the quarterly report for the board, with figures for 2024-01-15 and order 12345678. ", 18) +
			"Send it to jane.doe@example.com.",
	}
	b.SetBytes(int64(len(texts[0]) + len(texts[1])))
	b.ReportAllocs()
	for b.Loop() {
		if res := run(rs, Input, texts); len(res.Violations) != 1 {
			b.Fatalf("violations %+v", res.Violations)
		}
	}
}
