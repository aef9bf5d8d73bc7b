// Package apperr is CredVault's one error type: a stable code, a message safe
// to show a client, and optional details. GraphQL and REST each map it once.
package apperr

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Code is a machine-readable error code shared by REST and GraphQL.
type Code string

// The codes of SPEC §5.
const (
	InvalidRequest       Code = "INVALID_REQUEST"
	Unauthorized         Code = "UNAUTHORIZED"
	Forbidden            Code = "FORBIDDEN"
	TenantMismatch       Code = "TENANT_MISMATCH"
	NotFound             Code = "NOT_FOUND"
	MethodNotAllowed     Code = "METHOD_NOT_ALLOWED"
	Conflict             Code = "CONFLICT"
	PayloadTooLarge      Code = "PAYLOAD_TOO_LARGE"
	UnsupportedMediaType Code = "UNSUPPORTED_MEDIA_TYPE"
	Validation           Code = "VALIDATION_ERROR"
	RateLimited          Code = "RATE_LIMIT_EXCEEDED"
	Internal             Code = "INTERNAL_ERROR"
	Unavailable          Code = "SERVICE_UNAVAILABLE"
)

var statuses = map[Code]int{
	InvalidRequest:       http.StatusBadRequest,
	Unauthorized:         http.StatusUnauthorized,
	Forbidden:            http.StatusForbidden,
	TenantMismatch:       http.StatusForbidden,
	NotFound:             http.StatusNotFound,
	MethodNotAllowed:     http.StatusMethodNotAllowed,
	Conflict:             http.StatusConflict,
	PayloadTooLarge:      http.StatusRequestEntityTooLarge,
	UnsupportedMediaType: http.StatusUnsupportedMediaType,
	Validation:           http.StatusUnprocessableEntity,
	RateLimited:          http.StatusTooManyRequests,
	Internal:             http.StatusInternalServerError,
	Unavailable:          http.StatusServiceUnavailable,
}

// Status returns the HTTP status of a code.
func (c Code) Status() int {
	if s, ok := statuses[c]; ok {
		return s
	}
	return http.StatusInternalServerError
}

// Error is an error a client may see. Message and Details never hold secrets.
type Error struct {
	Code    Code
	Message string
	Details map[string]any
	// cause is kept for logs only; it never reaches a client.
	cause error
}

func (e *Error) Error() string {
	if e.cause != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.cause)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

// Unwrap returns the internal cause.
func (e *Error) Unwrap() error { return e.cause }

// New returns an error with code and message.
func New(code Code, message string) *Error { return &Error{Code: code, Message: message} }

// With returns a copy of e with one more detail.
func (e *Error) With(key string, value any) *Error {
	c := *e
	c.Details = make(map[string]any, len(e.Details)+1)
	for k, v := range e.Details {
		c.Details[k] = v
	}
	c.Details[key] = value
	return &c
}

// Wrap returns an INTERNAL_ERROR that keeps err for logs and shows a generic
// message — or SERVICE_UNAVAILABLE when err says the database is
// unavailable: an outage is no bug, and the client should retry.
func Wrap(err error) *Error {
	if unavailable(err) {
		return databaseDown(err)
	}
	return &Error{Code: Internal, Message: "internal server error", cause: err}
}

// From returns the client's view of err: an *Error as it is, a data-layer
// error by its kind (not found, conflict, invalid field, denied, database
// unavailable: SERVICE_UNAVAILABLE with details.retry_after), anything
// else as an INTERNAL_ERROR that shows nothing of the cause. Both the GraphQL
// error presenter and the REST envelope call it, so codes never diverge.
func From(err error) *Error {
	if e, ok := Known(err); ok {
		return e
	}
	return Wrap(err)
}

// Known returns err as an *Error when it is one or a data-layer error of a
// known kind; ok is false for anything that From would call internal.
func Known(err error) (*Error, bool) {
	var e *Error
	if errors.As(err, &e) {
		return e, true
	}
	return classify(err)
}

// Is reports whether err is an *Error with code.
func Is(err error, code Code) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == code
}

// NotFoundf returns a NOT_FOUND error for a resource kind, such as "api key".
func NotFoundf(kind string) *Error { return New(NotFound, kind+" not found") }

// Invalid returns a VALIDATION_ERROR naming the field and the reason.
func Invalid(field, reason string) *Error {
	return &Error{Code: Validation, Message: invalidMessage(field, reason),
		Details: map[string]any{"field": field, "reason": reason}}
}

// invalidMessage puts a reason into a sentence about field: a reason that
// starts with a verb follows the field ("limit must be an integer"), any
// other follows "is" ("name is required", "name is too long").
func invalidMessage(field, reason string) string {
	phrase := strings.ReplaceAll(reason, "_", " ")
	switch first, _, _ := strings.Cut(phrase, " "); first {
	case "must", "has", "exceeds", "host":
		return field + " " + phrase
	}
	return field + " is " + phrase
}

// Denied returns a FORBIDDEN error naming the scope that was required.
func Denied(requiredScope string) *Error {
	return &Error{Code: Forbidden, Message: "missing required scope " + requiredScope,
		Details: map[string]any{"required_scope": requiredScope}}
}

// Unauthenticated returns an UNAUTHORIZED error with details.reason.
func Unauthenticated(reason string) *Error {
	return &Error{Code: Unauthorized, Message: "authentication required",
		Details: map[string]any{"reason": reason}}
}
