package gateway

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"

	"github.com/credvault/credvault/internal/platform/apperr"
	"github.com/credvault/credvault/internal/platform/reqinfo"
)

// OpenAIError is the error shape of OpenAI's API, which its SDKs parse.
type OpenAIError struct {
	Message string  `json:"message"`
	Type    string  `json:"type"`
	Code    *string `json:"code"`
	Param   *string `json:"param"`
}

// WriteOpenAIError answers err in OpenAI's shape with the status of its
// code: the gateway routes' errors, authentication and rate limits
// included.
func WriteOpenAIError(w http.ResponseWriter, r *http.Request, err error) {
	e := apperr.From(err)
	if e.Code == apperr.Internal {
		slog.ErrorContext(r.Context(), "internal error", "err", err, "request_id", reqinfo.FromContext(r.Context()).RequestID)
	}
	apperr.LogUnavailable(r.Context(), e)
	if e.Code == apperr.Unauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="credvault"`)
	}
	if retry, ok := e.Details["retry_after"]; ok {
		w.Header().Set("Retry-After", fmt.Sprint(retry))
	}
	code := openAICode(e)
	var param *string
	if f, ok := e.Details["field"].(string); ok {
		param = &f
	}
	if p, ok := e.Details["param"].(string); ok {
		param = &p
	}
	writeOpenAI(w, e.Code.Status(), OpenAIError{Message: e.Message, Type: openAIType(e.Code), Code: &code, Param: param})
}

func writeOpenAI(w http.ResponseWriter, status int, e OpenAIError) {
	body, _ := json.Marshal(map[string]OpenAIError{"error": e})
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}

// openAIType is OpenAI's error type for a CredVault error code.
func openAIType(c apperr.Code) string {
	switch c {
	case apperr.Unauthorized:
		return "authentication_error"
	case apperr.Forbidden, apperr.TenantMismatch:
		return "permission_error"
	case apperr.RateLimited:
		return "rate_limit_error"
	case apperr.Internal, apperr.Unavailable:
		return "api_error"
	}
	return "invalid_request_error"
}

// openAICode is the error's code: the gateway's own (details.openai_code,
// such as guardrail_violation or model_not_found) or CredVault's, lower
// case.
func openAICode(e *apperr.Error) string {
	if c, ok := e.Details["openai_code"].(string); ok {
		return c
	}
	switch e.Code {
	case apperr.Unauthorized:
		return "invalid_api_key"
	case apperr.Forbidden:
		return "insufficient_scope"
	case apperr.RateLimited:
		return "rate_limit_exceeded"
	}
	return strings.ToLower(string(e.Code))
}
