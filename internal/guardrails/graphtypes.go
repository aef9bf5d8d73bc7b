package guardrails

import "github.com/credvault/credvault/ent/guardrail"

// CreateGuardrailInput is createGuardrail's input and POST
// /admin/guardrails's body. Action defaults to the kind's default action,
// AppliesTo to both, Enabled to true.
type CreateGuardrailInput struct {
	Name      string               `json:"name"`
	Kind      guardrail.Kind       `json:"kind"`
	Config    map[string]any       `json:"config,omitempty"`
	Action    *guardrail.Action    `json:"action,omitempty"`
	AppliesTo *guardrail.AppliesTo `json:"applies_to,omitempty"`
	Enabled   *bool                `json:"enabled,omitempty"`
}

// UpdateGuardrailInput changes the fields it sets; a guardrail's kind
// never changes.
type UpdateGuardrailInput struct {
	Name      *string              `json:"name,omitempty"`
	Config    map[string]any       `json:"config,omitempty"`
	Action    *guardrail.Action    `json:"action,omitempty"`
	AppliesTo *guardrail.AppliesTo `json:"applies_to,omitempty"`
	Enabled   *bool                `json:"enabled,omitempty"`
}

// Message is a chat message, as the test takes and returns it.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// TestGuardrailsInput is a text or chat messages to check, at a stage.
type TestGuardrailsInput struct {
	Text     *string    `json:"text,omitempty"`
	Messages []*Message `json:"messages,omitempty"`
	Stage    *string    `json:"stage,omitempty"`
}

// TestResult is what the guardrails decided: Redacted is the text after
// redaction, or Messages the messages, whichever was given.
type TestResult struct {
	Allowed    bool        `json:"allowed"`
	Violations []Violation `json:"violations"`
	Redacted   *string     `json:"redacted"`
	Messages   []*Message  `json:"messages,omitempty"`
}
