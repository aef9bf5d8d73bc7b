package gateway

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/credvault/credvault/internal/guardrails"
)

// textAt locates a text of a message: its index, and the index of the part
// holding it, or -1 for a string content.
type textAt struct{ msg, part int }

// guardedRoles are the roles whose messages the input guardrails read: what
// the caller wrote, not the model's earlier answers.
var guardedRoles = map[string]bool{"system": true, "developer": true, "user": true}

// guardInput runs the input guardrails on the caller's messages: a block
// is a 400 guardrail_violation; redacted texts replace theirs in the body
// sent upstream, so nothing they held leaves CredVault.
func (s *Service) guardInput(ctx context.Context, body []byte, msgs []Message, x *exchange) ([]byte, error) {
	if s.Guardrails == nil {
		return body, nil
	}
	var texts []string
	var at []textAt
	for i, m := range msgs {
		if !guardedRoles[m.Role] || len(m.Content) == 0 {
			continue
		}
		var str string
		if json.Unmarshal(m.Content, &str) == nil {
			texts, at = append(texts, str), append(at, textAt{i, -1})
			continue
		}
		var parts []struct {
			Type string `json:"type"`
			Text string `json:"text"`
		}
		if json.Unmarshal(m.Content, &parts) == nil {
			for j, p := range parts {
				if p.Type == "text" {
					texts, at = append(texts, p.Text), append(at, textAt{i, j})
				}
			}
		}
	}
	if len(texts) == 0 {
		return body, nil
	}
	res, err := s.Guardrails.Check(ctx, guardrails.Input, texts)
	if err != nil {
		return nil, err
	}
	x.violations = append(x.violations, res.Violations...)
	if !res.Allowed {
		return nil, blocked(res, "request")
	}
	changed := map[textAt]string{}
	for i := range texts {
		if i < len(res.Texts) && res.Texts[i] != texts[i] {
			changed[at[i]] = res.Texts[i]
		}
	}
	if len(changed) == 0 {
		return body, nil
	}
	return rewriteMessages(body, changed)
}

func blocked(res guardrails.Result, what string) *gwError {
	msg := "The " + what + " was blocked by a guardrail."
	for _, v := range res.Violations {
		if v.Action == "block" {
			msg = "The " + what + " was blocked by guardrail " + v.Guardrail + " (" + v.Kind + ")."
			break
		}
	}
	return &gwError{status: http.StatusBadRequest, typ: "invalid_request_error", code: "guardrail_violation", message: msg, outcome: "blocked"}
}

// rewriteMessages sets the changed texts in the request body, leaving
// every other field as the caller sent it.
func rewriteMessages(body []byte, changed map[textAt]string) ([]byte, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(body, &top); err != nil {
		return nil, err
	}
	var msgs []map[string]json.RawMessage
	if err := json.Unmarshal(top["messages"], &msgs); err != nil {
		return nil, err
	}
	parts := map[int][]map[string]json.RawMessage{}
	for at, text := range changed {
		t, _ := json.Marshal(text)
		if at.part < 0 {
			msgs[at.msg]["content"] = t
			continue
		}
		ps, ok := parts[at.msg]
		if !ok {
			if err := json.Unmarshal(msgs[at.msg]["content"], &ps); err != nil {
				return nil, err
			}
			parts[at.msg] = ps
		}
		ps[at.part]["text"] = t
	}
	for i, ps := range parts {
		b, err := json.Marshal(ps)
		if err != nil {
			return nil, err
		}
		msgs[i]["content"] = b
	}
	b, err := json.Marshal(msgs)
	if err != nil {
		return nil, err
	}
	top["messages"] = b
	return json.Marshal(top)
}

// guardOutput runs the output guardrails on a completion's message
// contents: a block answers 400 guardrail_violation instead of it,
// redactions replace the contents.
func (s *Service) guardOutput(ctx context.Context, out []byte, x *exchange) ([]byte, *gwError) {
	if s.Guardrails == nil {
		return out, nil
	}
	var resp struct {
		Choices []struct {
			Message struct {
				Content *string `json:"content"`
			} `json:"message"`
		} `json:"choices"`
	}
	if json.Unmarshal(out, &resp) != nil {
		return out, nil
	}
	var texts []string
	var idx []int
	for i, c := range resp.Choices {
		if c.Message.Content != nil {
			texts, idx = append(texts, *c.Message.Content), append(idx, i)
		}
	}
	if len(texts) == 0 {
		return out, nil
	}
	res, err := s.Guardrails.Check(ctx, guardrails.Output, texts)
	if err != nil {
		return nil, &gwError{status: http.StatusServiceUnavailable, typ: "api_error", code: "guardrails_unavailable",
			message: "the guardrails could not be checked", outcome: "error"}
	}
	x.violations = append(x.violations, res.Violations...)
	if !res.Allowed {
		return nil, blocked(res, "completion")
	}
	changed := map[int]string{}
	for i := range texts {
		if i < len(res.Texts) && res.Texts[i] != texts[i] {
			changed[idx[i]] = res.Texts[i]
		}
	}
	if len(changed) == 0 {
		return out, nil
	}
	b, err := rewriteChoices(out, changed)
	if err != nil {
		return nil, &gwError{status: http.StatusBadGateway, typ: "api_error", code: "upstream_error", message: "the completion could not be read", outcome: "upstream_error"}
	}
	return b, nil
}

func rewriteChoices(out []byte, changed map[int]string) ([]byte, error) {
	var top map[string]json.RawMessage
	if err := json.Unmarshal(out, &top); err != nil {
		return nil, err
	}
	var choices []map[string]json.RawMessage
	if err := json.Unmarshal(top["choices"], &choices); err != nil {
		return nil, err
	}
	for i, text := range changed {
		var msg map[string]json.RawMessage
		if err := json.Unmarshal(choices[i]["message"], &msg); err != nil {
			return nil, err
		}
		msg["content"], _ = json.Marshal(text)
		b, err := json.Marshal(msg)
		if err != nil {
			return nil, err
		}
		choices[i]["message"] = b
	}
	b, err := json.Marshal(choices)
	if err != nil {
		return nil, err
	}
	top["choices"] = b
	return json.Marshal(top)
}
