package credvault

import (
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Error codes the server answers (SPEC §5).
const (
	CodeInvalidRequest       = "INVALID_REQUEST"
	CodeUnauthorized         = "UNAUTHORIZED"
	CodeForbidden            = "FORBIDDEN"
	CodeTenantMismatch       = "TENANT_MISMATCH"
	CodeNotFound             = "NOT_FOUND"
	CodeMethodNotAllowed     = "METHOD_NOT_ALLOWED"
	CodeConflict             = "CONFLICT"
	CodePayloadTooLarge      = "PAYLOAD_TOO_LARGE"
	CodeUnsupportedMediaType = "UNSUPPORTED_MEDIA_TYPE"
	CodeValidation           = "VALIDATION_ERROR"
	CodeRateLimited          = "RATE_LIMIT_EXCEEDED"
	CodeInternal             = "INTERNAL_ERROR"
	CodeUnavailable          = "SERVICE_UNAVAILABLE"
)

// Error is an error the server answered, from its error envelope
// {success:false, error:{code, message, details}, meta:{request_id}}.
type Error struct {
	// Status is the HTTP status.
	Status int
	// Code is the error code, such as CodeNotFound.
	Code string
	// Message is the server's message.
	Message string
	// Details are the error's details, such as the field of a validation error.
	Details map[string]any
	// RequestID is the request's id (meta.request_id, X-Request-ID): quote it
	// to the server's operators.
	RequestID string
	// RetryAfter is the server's Retry-After, when it sent one.
	RetryAfter time.Duration
}

func (e *Error) Error() string {
	msg := fmt.Sprintf("credvault: %d %s: %s", e.Status, e.Code, e.Message)
	if e.RequestID != "" {
		msg += " (request " + e.RequestID + ")"
	}
	return msg
}

// Is makes errors.Is(err, &credvault.Error{Code: credvault.CodeNotFound})
// match any error of that code (and status, when set).
func (e *Error) Is(target error) bool {
	t, ok := target.(*Error)
	if !ok {
		return false
	}
	return (t.Code == "" || t.Code == e.Code) && (t.Status == 0 || t.Status == e.Status)
}

// IsNotFound reports whether err is an *Error with code NOT_FOUND.
func IsNotFound(err error) bool { return HasCode(err, CodeNotFound) }

// HasCode reports whether err is an *Error with code.
func HasCode(err error, code string) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == code
}

// codeOfStatus is the code of an answer that carried no envelope.
func codeOfStatus(status int) string {
	switch status {
	case http.StatusBadRequest:
		return CodeInvalidRequest
	case http.StatusUnauthorized:
		return CodeUnauthorized
	case http.StatusForbidden:
		return CodeForbidden
	case http.StatusNotFound:
		return CodeNotFound
	case http.StatusMethodNotAllowed:
		return CodeMethodNotAllowed
	case http.StatusConflict:
		return CodeConflict
	case http.StatusRequestEntityTooLarge:
		return CodePayloadTooLarge
	case http.StatusUnsupportedMediaType:
		return CodeUnsupportedMediaType
	case http.StatusUnprocessableEntity:
		return CodeValidation
	case http.StatusTooManyRequests:
		return CodeRateLimited
	case http.StatusServiceUnavailable:
		return CodeUnavailable
	}
	return CodeInternal
}
