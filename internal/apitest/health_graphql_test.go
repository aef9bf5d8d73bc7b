package apitest_test

import (
	"encoding/json"
	"testing"

	"github.com/credvault/credvault/internal/access"
	"github.com/credvault/credvault/internal/apitest"
	"github.com/credvault/credvault/internal/platform/config"
)

// GraphQL's health says where limits are counted as REST's detailed health
// does, to a principal holding tenant:read alone: it is null when limits are
// off, and an error (the rest of the report still there) for anyone else.
func TestGraphQLHealthRateLimitStore(t *testing.T) {
	t.Parallel()
	const query = `{ health { status rateLimitStore } }`
	type report struct {
		Health struct {
			Status         string  `json:"status"`
			RateLimitStore *string `json:"rateLimitStore"`
		} `json:"health"`
	}
	for name, tc := range map[string]struct {
		opts []func(*config.Config)
		want string
	}{
		"local":             {[]func(*config.Config){rlPlans("free=1000/h")}, "local"},
		"redis unreachable": {[]func(*config.Config){rlPlans("free=1000/h"), func(c *config.Config) { c.RedisURL = "redis://" + closedPort(t) + "/0" }}, "local (redis unreachable)"},
		"off":               {nil, ""},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
				tn := register(t, e, "Health")
				var got report
				gql(t, e, tn.AccessToken, query, nil, &got)
				store := ""
				if got.Health.RateLimitStore != nil {
					store = *got.Health.RateLimitStore
				}
				if store != tc.want || (tc.want == "") != (got.Health.RateLimitStore == nil) {
					t.Errorf("rateLimitStore %v, want %q", got.Health.RateLimitStore, tc.want)
				}
				if tc.want != "" {
					if rest := limitStore(t, e, tn.AccessToken); rest != store {
						t.Errorf("GraphQL says %q, REST rate_limit_store %q", store, rest)
					}
				}
				for who, cred := range map[string]string{"anonymous": "", "member without tenant:read": tn.key(t, access.APIKeysRead).Key} {
					g := gqlDo(e, cred, query, nil)
					var partial report
					_ = json.Unmarshal(g.Data, &partial)
					if len(g.Errors) == 0 || partial.Health.Status != "ok" || partial.Health.RateLimitStore != nil {
						t.Errorf("%s: %s; want the report with rateLimitStore null and an error", who, showGQL(g))
					}
				}
				// Not asking for it, anyone reads the rest of the report.
				if g := gqlDo(e, "", `{ health { status } }`, nil); len(g.Errors) > 0 {
					t.Errorf("anonymous health: %s", showGQL(g))
				}
			}, tc.opts...)
		})
	}
}
