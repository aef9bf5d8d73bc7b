package apitest_test

// Contract cases of the key stream (GET /api-keys/stream), whose answer is
// Server-Sent Events: once=true ends it after the snapshot.

import (
	"io"
	"net/http"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"

	"github.com/credvault/credvault/internal/apitest"
)

func init() {
	stream := func(f *ctFixture, query, accept string) apitest.Request {
		r := f.as("GET", "/api-keys/stream"+query, nil)
		if accept != "" {
			r.Header = map[string]string{"Accept": accept}
		}
		return r
	}
	ctCases["GET /api-keys/stream"] = []ctCase{
		ok("snapshot, once", 200, func(f *ctFixture) apitest.Request { return stream(f, "?once=true", "text/event-stream") }),
		bad("no Accept for a stream", 422, func(f *ctFixture) apitest.Request { return stream(f, "?once=true", "") }),
		bad("bad once", 422, func(f *ctFixture) apitest.Request { return stream(f, "?once=maybe", "text/event-stream") }),
	}
	openapi3filter.RegisterBodyDecoder("text/event-stream", eventStreamDecoder)
}

// eventStreamDecoder reads a Server-Sent Events body as the string the
// document describes it as.
func eventStreamDecoder(body io.Reader, _ http.Header, _ *openapi3.SchemaRef, _ openapi3filter.EncodingFn) (any, error) {
	raw, err := io.ReadAll(body)
	return string(raw), err
}
