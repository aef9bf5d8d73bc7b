package rest

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"

	"github.com/credvault/credvault/internal/platform/apperr"
)

// FuzzDecodeBody feeds any bytes, as the body of any route of the table
// that takes one, to the strict decoder: it either decodes a JSON object
// that can be written back, or refuses it with a client error (4xx), never
// a panic or an internal error.
func FuzzDecodeBody(f *testing.F) {
	var bodies []reflect.Type
	for _, rt := range (&API{}).Routes() {
		if rt.Body != nil {
			bodies = append(bodies, reflect.TypeOf(rt.Body))
		}
	}
	for i := range bodies {
		f.Add(uint(i), "application/json", []byte(`{}`))
	}
	seeds := []string{
		`{"name":"ci","scopes":["api_keys:read"],"expires_at":"2030-01-01T00:00:00Z"}`,
		`{"name":"ci","rate_limit":{"requests":100,"window_seconds":3600},"ip_allowlist":["127.0.0.1/32"]}`,
		`{"integration_id":"stripe","auth_type":"bearer_token","data":{"token":"t"},"metadata":{"env":["prod",1,null]}}`,
		`{"name":"far","expires_at":"9999-12-31T23:59:59-23:59"}`,
		`{"name":"k\u0000"}`,
		`{"\u0000":1}`,
		`{"name":"x","unknown":true}`,
		`{"name":1e400}`,
		`{"rate_limit":{"requests":9223372036854775808,"window_seconds":-1}}`,
		`{"grace_period_seconds":1e308}`,
		`{"name":"a"} {"name":"b"}`,
		`[{"name":"a"}]`,
		`null`,
		`{"expires_at":"0000-00-00T00:00:00Z"}`,
		`{"metadata":{"a":{"b":{"c":[[[["\u0000"]]]]}}}}`,
	}
	for i, s := range seeds {
		f.Add(uint(i), "application/json", []byte(s))
	}
	f.Add(uint(0), "", []byte(""))
	f.Add(uint(0), "text/plain", []byte(`{}`))
	f.Add(uint(0), "application/merge-patch+json; charset=utf-8", []byte(`{"name":"x"}`))
	f.Fuzz(func(t *testing.T, index uint, contentType string, body []byte) {
		typ := bodies[index%uint(len(bodies))]
		req := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader(body))
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		dst := reflect.New(typ).Interface()
		err := decodeBody(req, dst)
		if err != nil {
			if e, ok := apperr.Known(err); !ok || e.Code.Status() >= 500 {
				t.Fatalf("%v: %q refused with %v, want a client error", typ, body, err)
			}
			return
		}
		if _, err := json.Marshal(dst); err != nil {
			t.Fatalf("%v: %q decoded into a value that cannot be written back: %v", typ, body, err)
		}
	})
}
