package rest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/credvault/credvault/internal/access"
	"github.com/credvault/credvault/internal/apikeys"
	"github.com/credvault/credvault/internal/platform/apperr"
)

// EventStream is the media type of Server-Sent Events.
const EventStream = "text/event-stream"

// StreamHeartbeat is how often a quiet key stream sends a comment line, so
// that proxies keep it open and clients see it alive.
var StreamHeartbeat = 15 * time.Second

// apiKeyStreamRoute is GET /api-keys/stream: the tenant's usable keys as
// Server-Sent Events, for SDKs that verify keys locally (SPEC §13).
func (a *API) apiKeyStreamRoute() Route {
	return HandleStream[apikeys.StreamKey](Route{Method: http.MethodGet, Path: "/api-keys/stream", Op: access.StreamAPIKeys,
		Status: http.StatusOK, Message: "API key stream", Streams: []string{EventStream}, Filters: []Filter{streamOnce},
		Summary: "Stream the tenant's usable keys (Server-Sent Events; Accept must allow text/event-stream) for local " +
			"verification: a snapshot event {keys:[{id, hash (hex SHA-256 of the key), scopes, expires_at, ip_allowlist}]}, " +
			"then upsert (a key) and remove ({id}) events as keys change; every event has an id, and Last-Event-ID " +
			"resumes after it, without a snapshot while this server remembers it; a comment line every 15 s"},
		a.streamAPIKeys)
}

// streamOnce is the stream's one query parameter.
var streamOnce = Filter{Name: "once", Enum: []string{"true", "false"},
	Doc: "true ends the stream after the snapshot (or the events since Last-Event-ID), for a client that polls."}

// acceptsEventStream reports whether an Accept header allows
// text/event-stream: a client that cannot read a stream (one sending no
// Accept at all) is refused rather than left waiting on an endless answer.
func acceptsEventStream(accept string) bool {
	for _, part := range strings.Split(accept, ",") {
		t, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil || params["q"] == "0" || params["q"] == "0.0" {
			continue
		}
		if t == EventStream || t == "text/*" || t == "*/*" {
			return true
		}
	}
	return false
}

// streamAPIKeys writes the key stream until the client goes away.
func (a *API) streamAPIKeys(ctx context.Context, c *Call, w io.Writer) error {
	svc := a.Resolver.APIKeys
	sub, replay, err := svc.Subscribe(ctx, c.Request.Header.Get("Last-Event-ID"))
	if err != nil {
		return err
	}
	defer sub.Close()
	if !acceptsEventStream(c.Request.Header.Get("Accept")) {
		return apperr.Invalid("Accept", "missing "+EventStream)
	}
	once := c.Query("once")
	if once != "" {
		if err := streamOnce.check(once); err != nil {
			return err
		}
	}
	var first []apikeys.StreamEvent
	if replay == nil {
		snap, err := sub.Snapshot(ctx)
		if err != nil {
			return err // nothing sent yet: answered in the envelope
		}
		first = []apikeys.StreamEvent{*snap}
	} else {
		first = replay
	}
	if sw, ok := w.(*streamWriter); ok {
		// The stream outlasts the server's read timeout, whose expiry would
		// cancel the request; writes get their own deadlines.
		_ = sw.rc.SetReadDeadline(time.Time{})
		h := sw.w.Header()
		h.Set("Cache-Control", "no-store") // key hashes, for no cache to keep
		h.Set("X-Accel-Buffering", "no")
	}
	out := &sseWriter{w: w}
	out.raw("retry: 1000\n\n")
	for _, ev := range first {
		out.event(&ev)
	}
	if err := out.flush(); err != nil || once == "true" {
		return nil // the client went away, or polls
	}
	tick := time.NewTicker(StreamHeartbeat)
	defer tick.Stop()
	for {
		ev, err := sub.Next(ctx, tick.C)
		switch {
		case ctx.Err() != nil:
			return nil
		case err != nil:
			return err // cuts the stream: the client reconnects
		case ev == nil:
			out.raw(": heartbeat\n\n")
		default:
			out.event(ev)
		}
		if err := out.flush(); err != nil {
			return nil
		}
	}
}

// sseWriter writes Server-Sent Events, buffered until flush.
type sseWriter struct {
	w   io.Writer
	buf bytes.Buffer
}

func (s *sseWriter) raw(text string) { s.buf.WriteString(text) }

func (s *sseWriter) event(ev *apikeys.StreamEvent) {
	data, err := json.Marshal(ev.Data())
	if err != nil {
		data = []byte("null")
	}
	s.buf.WriteString("id: " + ev.ID + "\nevent: " + ev.Type + "\ndata: ")
	s.buf.Write(data) // JSON has no raw line breaks
	s.buf.WriteString("\n\n")
}

func (s *sseWriter) flush() error {
	if _, err := s.w.Write(s.buf.Bytes()); err != nil {
		return err
	}
	s.buf.Reset()
	if f, ok := s.w.(interface{ Flush() error }); ok {
		if err := f.Flush(); err != nil && !errors.Is(err, http.ErrNotSupported) {
			return err
		}
	}
	return nil
}
