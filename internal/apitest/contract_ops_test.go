package apitest_test

// Contract cases of the operations routes (tenants, audit trail and its
// export, jobs, admin health, dashboards).

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"

	"github.com/credvault/credvault/internal/apitest"
	"github.com/credvault/credvault/internal/audit"
)

func init() {
	tenant := func(f *ctFixture) string { return "/admin/tenants/" + f.tenantID }
	cases := map[string][]ctCase{
		"GET /admin/health": {
			ok("report", 200, func(f *ctFixture) apitest.Request { return f.as("GET", "/admin/health", nil) }),
		},
		"GET /admin/audit-logs": {
			ok("all", 200, func(f *ctFixture) apitest.Request { return f.as("GET", "/admin/audit-logs", nil) }),
			ok("filtered", 200, func(f *ctFixture) apitest.Request {
				return f.as("GET", "/admin/audit-logs?action=api_key.create&outcome=success&sort=action&order=asc", nil)
			}),
		},
		"GET /admin/audit-logs/export": {
			ok("ndjson", 200, func(f *ctFixture) apitest.Request { return f.as("GET", "/admin/audit-logs/export", nil) }),
			ok("csv, filtered", 200, func(f *ctFixture) apitest.Request {
				r := f.as("GET", "/admin/audit-logs/export?action=api_key.create&outcome=success&since=2020-01-01T00:00:00Z", nil)
				r.Header = map[string]string{"Accept": "text/csv"}
				return r
			}),
			bad("bad since", 422, func(f *ctFixture) apitest.Request {
				return f.as("GET", "/admin/audit-logs/export?since=yesterday", nil)
			}),
		},
		"GET /admin/tenants": {
			ok("platform admin", 200, func(f *ctFixture) apitest.Request {
				return apitest.Request{Method: "GET", Path: "/api/v1/admin/tenants", Bearer: f.admin}
			}),
			bad("a tenant's owner", 403, func(f *ctFixture) apitest.Request { return f.as("GET", "/admin/tenants", nil) }),
		},
		"GET /admin/tenants/{tenantId}": {
			ok("own", 200, func(f *ctFixture) apitest.Request { return f.as("GET", tenant(f), nil) }),
			bad("unknown", 404, func(f *ctFixture) apitest.Request { return f.as("GET", "/admin/tenants/"+randomID, nil) }),
		},
		"PATCH /admin/tenants/{tenantId}": {
			ok("rename", 200, func(f *ctFixture) apitest.Request {
				return f.as("PATCH", tenant(f), map[string]any{"name": fmt.Sprintf("Contract Corp %d", f.uniq()),
					"settings": map[string]any{"audit_retention_days": 30}})
			}),
			bad("bad status", 422, func(f *ctFixture) apitest.Request {
				return f.as("PATCH", tenant(f), map[string]any{"status": "asleep"})
			}),
		},
		"DELETE /admin/tenants/{tenantId}": {
			ok("its own, by its owner", 200, func(f *ctFixture) apitest.Request {
				s := register(f.t, f.e, fmt.Sprintf("Doomed %d", f.uniq()), ownedBy(fmt.Sprintf("d%d@contract.test", f.uniq())))
				return apitest.Request{Method: "DELETE", Path: "/api/v1/admin/tenants/" + s.Tenant.ID, Bearer: s.AccessToken}
			}),
			bad("unknown", 404, func(f *ctFixture) apitest.Request { return f.as("DELETE", "/admin/tenants/"+randomID, nil) }),
		},
		"GET /admin/tenants/{tenantId}/stats": {
			ok("own", 200, func(f *ctFixture) apitest.Request { return f.as("GET", tenant(f)+"/stats", nil) }),
			bad("unknown", 404, func(f *ctFixture) apitest.Request { return f.as("GET", "/admin/tenants/"+randomID+"/stats", nil) }),
		},
		"POST /admin/jobs/trigger": {
			ok("expire_api_keys", 202, func(f *ctFixture) apitest.Request {
				return f.as("POST", "/admin/jobs/trigger", map[string]any{"job_name": "expire_api_keys"})
			}),
			bad("unknown job", 422, func(f *ctFixture) apitest.Request {
				return f.as("POST", "/admin/jobs/trigger", map[string]any{"job_name": "no_such_job"})
			}),
		},
		"GET /admin/jobs/{jobName}/stats": {
			ok("expire_api_keys", 200, func(f *ctFixture) apitest.Request { return f.as("GET", "/admin/jobs/expire_api_keys/stats", nil) }),
			bad("unknown job", 422, func(f *ctFixture) apitest.Request { return f.as("GET", "/admin/jobs/no_such_job/stats", nil) }),
		},
		"GET /admin/dashboard/stats": {
			ok("stats", 200, func(f *ctFixture) apitest.Request { return f.as("GET", "/admin/dashboard/stats", nil) }),
		},
		"GET /admin/usage/summary": {
			ok("default days", 200, func(f *ctFixture) apitest.Request { return f.as("GET", "/admin/usage/summary", nil) }),
			ok("7 days", 200, func(f *ctFixture) apitest.Request { return f.as("GET", "/admin/usage/summary?days=7", nil) }),
		},
		"GET /admin/features/status": {
			ok("features", 200, func(f *ctFixture) apitest.Request { return f.as("GET", "/admin/features/status", nil) }),
		},
	}
	for name, c := range cases {
		ctCases[name] = c
	}
	openapi3filter.RegisterBodyDecoder(audit.NDJSONType, ndjsonDecoder)
}

// ndjsonDecoder reads an NDJSON body as the array the document describes
// it as, each line an item, so that kin-openapi validates every line.
func ndjsonDecoder(body io.Reader, _ http.Header, _ *openapi3.SchemaRef, _ openapi3filter.EncodingFn) (any, error) {
	items := []any{}
	dec := json.NewDecoder(body)
	for {
		var item any
		if err := dec.Decode(&item); err == io.EOF {
			return items, nil
		} else if err != nil {
			return nil, err
		}
		items = append(items, item)
	}
}
