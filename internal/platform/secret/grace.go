package secret

import "github.com/credvault/credvault/internal/platform/apperr"

// MaxGraceSeconds bounds how long a rotated-out secret keeps working: 30 days.
const MaxGraceSeconds = 30 * 24 * 3600

// GraceSeconds checks a rotation's grace period (nil or 0: the old secret
// stops at once) for key and client secret rotations alike.
func GraceSeconds(seconds *int) (int, error) {
	if seconds == nil {
		return 0, nil
	}
	if g := *seconds; g < 0 || g > MaxGraceSeconds {
		return 0, apperr.Invalid("grace_period_seconds", "out of range").With("max", MaxGraceSeconds)
	}
	return *seconds, nil
}
