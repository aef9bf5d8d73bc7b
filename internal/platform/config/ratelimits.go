package config

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/credvault/credvault/internal/access"
)

// RateLimits is CREDVAULT_RATE_LIMITS parsed: the request limit of each
// tenant plan, or Off.
type RateLimits struct {
	// Off disables every limit: the plans', keys' own, and the per-IP login
	// and token endpoint limits.
	Off bool
	// Plans maps a plan name to its limit.
	Plans map[string]access.RateLimit
}

// rateUnits are the windows a limit may be given in.
var rateUnits = map[string]time.Duration{"s": time.Second, "m": time.Minute, "h": time.Hour}

// ParseRateLimits reads CREDVAULT_RATE_LIMITS: "off", or comma-separated
// plan=N/unit entries with a unit of s, m or h, such as
// "free=100/h,pro=1000/h". Anything else is an error naming the entry, so a
// typo cannot silently leave a plan unlimited.
func ParseRateLimits(s string) (RateLimits, error) {
	s = strings.TrimSpace(s)
	if strings.EqualFold(s, "off") {
		return RateLimits{Off: true}, nil
	}
	out := RateLimits{Plans: map[string]access.RateLimit{}}
	for _, entry := range strings.Split(s, ",") {
		entry = strings.TrimSpace(entry)
		plan, rate, ok := strings.Cut(entry, "=")
		plan, rate = strings.TrimSpace(plan), strings.TrimSpace(rate)
		if !ok || plan == "" {
			return RateLimits{}, fmt.Errorf("%q is not plan=N/unit (or off)", entry)
		}
		if _, dup := out.Plans[plan]; dup {
			return RateLimits{}, fmt.Errorf("plan %q is given twice", plan)
		}
		n, unit, ok := strings.Cut(rate, "/")
		requests, err := strconv.Atoi(strings.TrimSpace(n))
		window, known := rateUnits[strings.TrimSpace(unit)]
		if !ok || err != nil || requests < 1 || !known {
			return RateLimits{}, fmt.Errorf("%q: the limit must be N/s, N/m or N/h with N at least 1", entry)
		}
		out.Plans[plan] = access.RateLimit{Requests: requests, Window: window}
	}
	return out, nil
}
