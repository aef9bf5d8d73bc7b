package rest

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/credvault/credvault/internal/gateway"
	"github.com/credvault/credvault/internal/platform/apperr"
	"github.com/credvault/credvault/internal/platform/reqinfo"
)

// timestampLayout is RFC 3339 in UTC with milliseconds, as the seeds show it.
const timestampLayout = "2006-01-02T15:04:05.000Z07:00"

// Meta is the envelope's meta object.
type Meta struct {
	RequestID  string      `json:"request_id"`
	Pagination *Pagination `json:"pagination,omitempty"`
}

// Envelope is every /api/v1 response body.
type Envelope struct {
	Success   bool       `json:"success"`
	Message   string     `json:"message,omitempty"`
	Data      any        `json:"data,omitempty"`
	Error     *ErrorBody `json:"error,omitempty"`
	Meta      Meta       `json:"meta"`
	Timestamp string     `json:"timestamp"`
}

// ErrorBody is the envelope's error object.
type ErrorBody struct {
	Code    apperr.Code    `json:"code"`
	Message string         `json:"message"`
	Details map[string]any `json:"details,omitempty"`
}

// WriteSuccess writes data in the success envelope with status.
func WriteSuccess(w http.ResponseWriter, r *http.Request, status int, message string, data any, page *Pagination) {
	writeEnvelope(w, status, &Envelope{
		Success: true, Message: message, Data: data,
		Meta:      Meta{RequestID: reqinfo.FromContext(r.Context()).RequestID, Pagination: page},
		Timestamp: time.Now().UTC().Format(timestampLayout),
	})
}

// WriteError writes err in the error envelope with the status of its code.
// An internal error is logged with its cause; the client sees a generic
// message. An unavailable database is a WARN line, and a 503 with
// Retry-After.
func WriteError(w http.ResponseWriter, r *http.Request, err error) {
	if speaksOpenAI(r) {
		gateway.WriteOpenAIError(w, r, err)
		return
	}
	e := apperr.From(err)
	if e.Code == apperr.Internal {
		slog.ErrorContext(r.Context(), "internal error", "err", err,
			"request_id", reqinfo.FromContext(r.Context()).RequestID)
	}
	apperr.LogUnavailable(r.Context(), e)
	if e.Code == apperr.Unauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="credvault"`)
	}
	if retry, ok := e.Details["retry_after"]; ok {
		w.Header().Set("Retry-After", fmt.Sprint(retry))
	}
	writeEnvelope(w, e.Code.Status(), &Envelope{
		Error:     &ErrorBody{Code: e.Code, Message: e.Message, Details: e.Details},
		Meta:      Meta{RequestID: reqinfo.FromContext(r.Context()).RequestID},
		Timestamp: time.Now().UTC().Format(timestampLayout),
	})
}

func writeEnvelope(w http.ResponseWriter, status int, env *Envelope) {
	body, err := json.Marshal(env)
	if err != nil {
		status = http.StatusInternalServerError
		body = []byte(`{"success":false,"error":{"code":"INTERNAL_ERROR","message":"internal server error"}}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write(append(body, '\n'))
}
