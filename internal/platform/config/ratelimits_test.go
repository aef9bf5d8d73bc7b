package config_test

import (
	"strings"
	"testing"
	"time"

	"github.com/credvault/credvault/internal/access"
	"github.com/credvault/credvault/internal/platform/config"
)

func TestParseRateLimits(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		in   string
		want map[string]access.RateLimit
	}{
		{"free=100/h,pro=1000/h,enterprise=10000/h", map[string]access.RateLimit{
			"free": {Requests: 100, Window: time.Hour}, "pro": {Requests: 1000, Window: time.Hour},
			"enterprise": {Requests: 10000, Window: time.Hour}}},
		{" free = 5/m , burst=20/s ", map[string]access.RateLimit{
			"free": {Requests: 5, Window: time.Minute}, "burst": {Requests: 20, Window: time.Second}}},
	} {
		got, err := config.ParseRateLimits(tc.in)
		if err != nil {
			t.Fatalf("ParseRateLimits(%q): %v", tc.in, err)
		}
		if got.Off || len(got.Plans) != len(tc.want) {
			t.Fatalf("ParseRateLimits(%q) = %+v, want %v", tc.in, got, tc.want)
		}
		for plan, rate := range tc.want {
			if got.Plans[plan] != rate {
				t.Errorf("ParseRateLimits(%q)[%s] = %+v, want %+v", tc.in, plan, got.Plans[plan], rate)
			}
		}
	}
	for _, off := range []string{"off", "OFF", " off "} {
		if got, err := config.ParseRateLimits(off); err != nil || !got.Off || got.Plans != nil {
			t.Errorf("ParseRateLimits(%q) = %+v, %v; want Off", off, got, err)
		}
	}
}

func TestParseRateLimitsErrors(t *testing.T) {
	t.Parallel()
	for _, in := range []string{"", "free", "free=", "=10/h", "free=10", "free=10/d", "free=0/h", "free=-1/m",
		"free=ten/h", "free=10/h,", "free=10/h,free=20/h", "free=10/h;pro=20/h", "on"} {
		if got, err := config.ParseRateLimits(in); err == nil {
			t.Errorf("ParseRateLimits(%q) = %+v, want an error", in, got)
		}
	}
}

func TestLoadRejectsBadRateLimits(t *testing.T) {
	t.Parallel()
	_, err := config.Load(nil, envOf(map[string]string{"CREDVAULT_RATE_LIMITS": "free=100/day"}))
	if err == nil || !strings.Contains(err.Error(), "CREDVAULT_RATE_LIMITS") || !strings.Contains(err.Error(), "free=100/day") {
		t.Fatalf("Load with a bad CREDVAULT_RATE_LIMITS: %v", err)
	}
	_, err = config.Load([]string{"--rate-limits", "pro=1/x"}, envOf(nil))
	if err == nil || !strings.Contains(err.Error(), "CREDVAULT_RATE_LIMITS") {
		t.Fatalf("Load with a bad --rate-limits: %v", err)
	}
}
