package server

import (
	"fmt"
	"log/slog"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/google/uuid"

	"github.com/credvault/credvault/internal/platform/apperr"
	"github.com/credvault/credvault/internal/platform/metrics"
	"github.com/credvault/credvault/internal/platform/reqinfo"
	"github.com/credvault/credvault/rest"
)

// maxBodyBytes is the largest request body accepted anywhere.
const maxBodyBytes = 1 << 20

// requestInfo puts the request id (X-Request-ID when the client sent a sane
// one, a new UUID otherwise), client address and user agent in the context,
// and echoes the id in the response header. Client IP middleware runs first.
func requestInfo(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get("X-Request-ID")
		if !validRequestID(id) {
			id = uuid.NewString()
		}
		w.Header().Set("X-Request-ID", id)
		info := &reqinfo.Info{RequestID: id, IP: middleware.GetClientIP(r.Context()), UserAgent: r.UserAgent(),
			Realm: r.Header.Get("realmname")}
		next.ServeHTTP(w, r.WithContext(reqinfo.NewContext(r.Context(), info)))
	})
}

// validRequestID accepts ids of 1 to 128 visible ASCII characters, so a
// client cannot inject line breaks or megabytes into logs.
func validRequestID(id string) bool {
	if id == "" || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if id[i] < 0x21 || id[i] > 0x7e {
			return false
		}
	}
	return true
}

// recoverPanics turns a panic into a 500 INTERNAL_ERROR envelope; the stack
// goes to the log, never to the client.
func recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
			slog.ErrorContext(r.Context(), "panic serving request",
				"request_id", reqinfo.FromContext(r.Context()).RequestID,
				"panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			rest.WriteError(w, r, apperr.New(apperr.Internal, "internal server error"))
		}()
		next.ServeHTTP(w, r)
	})
}

// limitBody refuses bodies over maxBodyBytes: at once when the length is
// declared, and while reading when it is not.
func limitBody(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength > maxBodyBytes {
			rest.WriteError(w, r, apperr.New(apperr.PayloadTooLarge, "request body is larger than 1 MiB"))
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
		next.ServeHTTP(w, r)
	})
}

// timeout bounds each request's context by d, except a streaming route's
// (an export), which runs as long as it streams: its every query and write
// is bounded on its own.
func timeout(d time.Duration, streaming func(*http.Request) bool) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		bounded := middleware.Timeout(d)(next)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if streaming(r) {
				next.ServeHTTP(w, r)
				return
			}
			bounded.ServeHTTP(w, r)
		})
	}
}

// accessLog writes one line per request: id, method, route, status, size,
// duration, client and principal. The path is logged without its query
// string, which could carry a secret.
func accessLog(logger *slog.Logger, m *metrics.Metrics) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			ww := middleware.NewWrapResponseWriter(w, r.ProtoMajor)
			next.ServeHTTP(ww, r)
			elapsed := time.Since(start)
			// The route template, never the raw path: ids would explode the series.
			route := chi.RouteContext(r.Context()).RoutePattern()
			if route == "" {
				route = "unmatched"
			}
			m.ObserveRequest(route, r.Method, ww.Status(), elapsed.Seconds())
			info := reqinfo.FromContext(r.Context())
			attrs := []slog.Attr{
				slog.String("request_id", info.RequestID),
				slog.String("method", r.Method),
				slog.String("route", route),
				slog.String("path", r.URL.Path),
				slog.Int("status", ww.Status()),
				slog.Int("bytes", ww.BytesWritten()),
				slog.Duration("duration", elapsed),
				slog.String("ip", info.IP),
			}
			if who := info.Principal; who != "" {
				attrs = append(attrs, slog.String("principal", who))
			}
			logger.LogAttrs(r.Context(), slog.LevelInfo, "request", attrs...)
		})
	}
}
