package apperr

import (
	"context"
	"errors"
	"strings"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/ent/privacy"
)

// classify turns a data-layer error into the client's view of it.
func classify(err error) (*Error, bool) {
	var (
		nf *ent.NotFoundError
		ce *ent.ConstraintError
		ve *ent.ValidationError
	)
	switch {
	case unavailable(err):
		return databaseDown(err), true
	case errors.As(err, &nf):
		return &Error{Code: NotFound, Message: "resource not found", cause: err}, true
	case errors.As(err, &ce):
		return &Error{Code: Conflict, Message: "resource conflicts with an existing one", cause: err}, true
	case errors.As(err, &ve):
		field := ve.Name
		if i := strings.LastIndexByte(field, '.'); i >= 0 {
			field = field[i+1:]
		}
		e := Invalid(field, validatorReason(ve))
		e.cause = err
		return e, true
	case errors.Is(err, privacy.Deny):
		return &Error{Code: Forbidden, Message: "access denied", cause: err}, true
	case errors.Is(err, context.DeadlineExceeded):
		e := ServiceUnavailable("the request timed out")
		e.cause = err
		return e, true
	}
	return nil, false
}

// validatorReason names the rule of an ent field validator that refused a
// value, as the services name theirs: a string longer than its column
// (MaxLen counts bytes) is too_long, an empty or missing one required.
func validatorReason(ve *ent.ValidationError) string {
	switch msg := ve.Error(); {
	case strings.HasSuffix(msg, "value is greater than the required length"):
		return "too_long"
	case strings.HasSuffix(msg, "value is less than the required length"), strings.Contains(msg, "missing required field"):
		return "required"
	}
	return "invalid"
}
