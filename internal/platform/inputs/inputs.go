// Package inputs holds the value rules every way in applies at decoding,
// before a value reaches a service: what decodes but could not be stored or
// read back. REST bodies and query parameters (rest/) and GraphQL arguments
// (server/) check each value with these.
package inputs

import (
	"strings"
	"time"
	"unicode/utf8"

	"github.com/credvault/credvault/internal/platform/apperr"
)

// Time refuses a time outside years 1–9999 in UTC: RFC 3339 (and so both
// APIs' JSON) cannot write it back, so a stored row would break every read
// of its list. The zero time (an omitted value) passes.
func Time(field string, t time.Time) error {
	if t.IsZero() {
		return nil
	}
	if y := t.UTC().Year(); y < 1 || y > 9999 {
		return apperr.Invalid(field, "must be within the years 1 to 9999 in UTC")
	}
	return nil
}

// String refuses what PostgreSQL cannot store in text or compare with it:
// a NUL character, or bytes that are not UTF-8 (a JSON body cannot carry
// them, a percent-encoded path or query parameter can).
func String(field, s string) error {
	if strings.IndexByte(s, 0) >= 0 {
		return apperr.Invalid(field, "must not contain a NUL character")
	}
	if !utf8.ValidString(s) {
		return apperr.Invalid(field, "must be UTF-8")
	}
	return nil
}
