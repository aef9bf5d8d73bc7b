package rest

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/credvault/credvault/internal/platform/reqinfo"
)

// streamWriteTimeout is how long a streaming answer waits for the client to
// take each write: the server's write timeout bounds a whole answer, which
// an export outlasts, so each write extends the deadline instead.
const streamWriteTimeout = 60 * time.Second

// HandleStream makes a streaming route: fn writes the answer to w, in
// c.MediaType (the one of r.Streams that Accept prefers), as it reads it;
// Item is the type of what it streams, for the document. Nothing is sent
// before fn's first write, so an error until then (a refusal, a bad
// filter, the database down) is answered in the envelope; an error after
// it cuts the answer short, which the client sees as a body ending
// without its last chunk, never as a complete one.
func HandleStream[Item any](r Route, fn func(ctx context.Context, c *Call, w io.Writer) error) Route {
	if len(r.Streams) == 0 {
		panic("rest: streaming route " + r.Method + " " + r.Path + " declares no media type")
	}
	var item Item
	r.Result, r.stream = item, fn
	return r
}

// serveStream runs a streaming route.
func (r *Route) serveStream(w http.ResponseWriter, req *http.Request) {
	c := &Call{Request: req, route: r, MediaType: negotiate(req.Header.Get("Accept"), r.Streams)}
	out := &streamWriter{w: w, rc: http.NewResponseController(w), mediaType: c.MediaType}
	err := r.stream(req.Context(), c, out)
	switch {
	case err == nil:
		out.start() // an empty answer is a 200 all the same
	case !out.started:
		WriteError(w, req, err)
	default:
		if req.Context().Err() == nil {
			slog.ErrorContext(req.Context(), "streaming answer cut short", "err", err,
				"request_id", reqinfo.FromContext(req.Context()).RequestID)
		}
		panic(http.ErrAbortHandler)
	}
}

// negotiate picks the media type of offered that accept (an Accept header)
// prefers: the highest quality, the earlier on a tie; offered[0] when
// accept names none of them (or is absent, or */*).
func negotiate(accept string, offered []string) string {
	best, bestQ := offered[0], 0.0
	for _, part := range strings.Split(accept, ",") {
		t, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		q := 1.0
		if v, ok := params["q"]; ok {
			if q, err = strconv.ParseFloat(v, 64); err != nil {
				continue
			}
		}
		for _, o := range offered {
			if o == t && q > bestQ {
				best, bestQ = o, q
			}
		}
	}
	return best
}

// streamWriter sends a streaming route's answer: the status and headers on
// the first write, each write under a fresh write deadline, and what has
// been written when flushed.
type streamWriter struct {
	w         http.ResponseWriter
	rc        *http.ResponseController
	mediaType string
	started   bool
}

func (s *streamWriter) start() {
	if s.started {
		return
	}
	s.started = true
	h := s.w.Header()
	ct := s.mediaType
	if strings.HasPrefix(ct, "text/") || strings.HasSuffix(ct, "json") {
		ct += "; charset=utf-8"
	}
	h.Set("Content-Type", ct)
	h.Set("X-Content-Type-Options", "nosniff")
	s.w.WriteHeader(http.StatusOK)
}

func (s *streamWriter) Write(p []byte) (int, error) {
	s.start()
	if err := s.rc.SetWriteDeadline(time.Now().Add(streamWriteTimeout)); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return 0, err
	}
	return s.w.Write(p)
}

// Flush sends what was written to the client.
func (s *streamWriter) Flush() error {
	if err := s.rc.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
		return err
	}
	return nil
}

// Streaming returns whether a request is for one of the streaming routes,
// under prefix (where the API is mounted): their answers outlast the
// request timeout, which must not cut them. The OpenAI routes are among
// them: chat streams last, and the router's timeout_ms bounds each call.
func (a *API) Streaming(prefix string) func(*http.Request) bool {
	mux := chi.NewRouter()
	for _, rt := range a.Routes() {
		if rt.stream != nil || rt.raw != nil {
			mux.Method(rt.Method, prefix+rt.Path, http.NotFoundHandler())
		}
	}
	return func(r *http.Request) bool { return mux.Match(chi.NewRouteContext(), r.Method, r.URL.Path) }
}
