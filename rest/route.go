// Package rest is CredVault's REST API under /api/v1: a compatibility layer
// that maps each documented endpoint onto the resolver of its GraphQL field.
// One route table drives routing, the envelope, error mapping and the
// OpenAPI document.
package rest

import (
	"context"
	"fmt"
	"io"
	"net/http"

	"github.com/credvault/credvault/internal/platform/paging"

	"github.com/go-chi/chi/v5"
	"github.com/google/uuid"

	"github.com/credvault/credvault/internal/access"
	"github.com/credvault/credvault/internal/platform/apperr"
	"github.com/credvault/credvault/internal/platform/inputs"
)

// Route is one REST endpoint.
type Route struct {
	Method string
	// Path is a chi pattern under /api/v1, such as "/api-keys/{keyId}".
	Path string
	// Op is the operation the route performs, declared once in package
	// access: its scope and openness are documented from it, and the service
	// behind the resolver enforces it.
	Op access.Operation
	// Unlimited routes are not rate limited: health checks, which load
	// balancers poll from one address.
	Unlimited bool
	// Secret routes answer a secret (a key, client secret, session token,
	// decrypted credential or a whole audit trail): their answers carry
	// Cache-Control: no-store, so no browser or proxy keeps a copy.
	Secret bool
	// Conflicts routes may answer 409 beyond creates and patches: a
	// rotation that finds the secret rotated meanwhile.
	Conflicts bool
	// Redirects routes may answer 302 Found, sending the browser on to the
	// Location their handler names with Call.RedirectTo, instead of their
	// envelope: the browser's legs of a single sign-on.
	Redirects bool
	Summary   string
	// Status and Message are the success status and envelope message.
	Status  int
	Message string
	// Body and Result are zero values of the request body and response data types.
	Body   any
	Result any
	// Sort lists the sort fields of a list route, the default first.
	Sort []string
	// Filters are the query parameters a list or streaming route filters by.
	Filters []Filter
	// Streams are the media types a streaming route (HandleStream) answers
	// in, the default first; Accept picks one.
	Streams []string
	// OpenAI routes speak OpenAI's wire format (the AI gateway, SPEC §14):
	// their handler (HandleRaw) writes its own answer, and every error on
	// the way to it, authentication and rate limits included, is in
	// OpenAI's shape, which its SDKs parse.
	OpenAI bool

	// list is set by HandleList: the route answers a page of items.
	list  bool
	serve func(ctx context.Context, c *Call) (any, *Pagination, error)
	// stream is set by HandleStream: the route streams its answer.
	stream func(ctx context.Context, c *Call, w io.Writer) error
	// raw is set by HandleRaw: the handler writes the answer itself.
	raw http.HandlerFunc
}

// List reports whether the route is a list, with paging, sorting and
// meta.pagination.
func (r Route) List() bool { return r.list }

// Call is one request to a route.
type Call struct {
	Request *http.Request
	route   *Route
	// Paging is set on list routes.
	Paging Paging
	// redirect is where a Redirects route sends the browser, if anywhere.
	redirect string
	// MediaType is set on streaming routes: the one of Streams to answer in.
	MediaType string
}

// Param returns the path parameter name.
func (c *Call) Param(name string) string { return chi.URLParam(c.Request, name) }

// IDParam returns the path parameter name as a UUID; a malformed id is 404
// NOT_FOUND, exactly as an id that does not exist.
func (c *Call) IDParam(name string) (uuid.UUID, error) {
	id, err := uuid.Parse(c.Param(name))
	if err != nil {
		return uuid.Nil, apperr.NotFoundf("resource")
	}
	return id, nil
}

// RedirectTo makes a Redirects route answer 302 Found with Location url
// instead of its envelope.
func (c *Call) RedirectTo(url string) { c.redirect = url }

// Query returns the query parameter name.
func (c *Call) Query(name string) string { return c.Request.URL.Query().Get(name) }

// Handle makes a route without a request body.
func Handle[Out any](r Route, fn func(ctx context.Context, c *Call) (Out, error)) Route {
	var out Out
	r.Result = out
	r.serve = func(ctx context.Context, c *Call) (any, *Pagination, error) {
		v, err := fn(ctx, c)
		return v, nil, err
	}
	return r
}

// HandleBody makes a route whose JSON body is decoded into In first.
func HandleBody[In, Out any](r Route, fn func(ctx context.Context, c *Call, in *In) (Out, error)) Route {
	var (
		in  In
		out Out
	)
	r.Body, r.Result = in, out
	r.serve = func(ctx context.Context, c *Call) (any, *Pagination, error) {
		body := new(In)
		if err := decodeBody(c.Request, body); err != nil {
			return nil, nil, err
		}
		v, err := fn(ctx, c, body)
		return v, nil, err
	}
	return r
}

// HandleList makes a list route: fn gets the parsed paging and its window
// and returns the window's rows and the total as paging.Fetch counts it;
// toJSON shapes each row, and data is always an array. Every field of
// r.Sort must be a column of T (see paging.ColumnOf): the next page's
// cursor holds the last row's value of it.
func HandleList[T, Item any](r Route, fn func(ctx context.Context, c *Call, w paging.Window) ([]T, int, error), toJSON func(T) Item) Route {
	columns := make(map[string]paging.Column, len(r.Sort))
	for _, s := range r.Sort {
		col, ok := paging.ColumnOf[T](s)
		if !ok {
			panic(fmt.Sprintf("rest: sort %s of %s %s: %T has no such column, or no id", s, r.Method, r.Path, *new(T)))
		}
		columns[s] = col
	}
	r.Result, r.list = []Item{}, true
	r.serve = func(ctx context.Context, c *Call) (any, *Pagination, error) {
		p, err := ParsePaging(c.Request.URL.Query(), r.Method+" "+r.Path, r.Sort)
		if err != nil {
			return nil, nil, err
		}
		c.Paging = p
		col := columns[p.Sort]
		w, err := p.Window(col)
		if err != nil {
			return nil, nil, err
		}
		rows, total, err := fn(ctx, c, w)
		if err != nil {
			return nil, nil, err
		}
		var last *paging.Position
		if len(rows) > 0 {
			at := col.Position(rows[len(rows)-1])
			last = &at
		}
		return mapSlice(rows, toJSON), p.Pagination(total, w.TotalIsLowerBound(total), last), nil
	}
	return r
}

// HandleRaw makes a route whose handler writes its own answer, outside the
// envelope: the OpenAI-compatible routes. Body and Result document it.
func HandleRaw(r Route, body, result any, h http.HandlerFunc) Route {
	r.Body, r.Result, r.raw = body, result, h
	return r
}

// ServeHTTP runs the route and writes its envelope.
func (r *Route) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	if r.Secret {
		w.Header().Set("Cache-Control", "no-store")
	}
	if err := checkParams(req); err != nil {
		WriteError(w, req, err)
		return
	}
	if r.stream != nil {
		r.serveStream(w, req)
		return
	}
	if r.raw != nil {
		r.raw(w, req)
		return
	}
	call := &Call{Request: req, route: r}
	data, page, err := r.serve(req.Context(), call)
	if err != nil {
		WriteError(w, req, err)
		return
	}
	if r.Redirects && call.redirect != "" {
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("Location", call.redirect)
		w.WriteHeader(http.StatusFound)
		return
	}
	WriteSuccess(w, req, r.Status, r.Message, data, page)
}

// checkParams refuses a path or query parameter whose name or value the
// inputs rules refuse, before any route reads it.
func checkParams(req *http.Request) error {
	if rc := chi.RouteContext(req.Context()); rc != nil {
		for i, name := range rc.URLParams.Keys {
			if err := inputs.String(name, rc.URLParams.Values[i]); err != nil {
				return err
			}
		}
	}
	for name, values := range req.URL.Query() {
		if err := inputs.String("query parameter", name); err != nil {
			return err
		}
		for _, v := range values {
			if err := inputs.String(name, v); err != nil {
				return err
			}
		}
	}
	return nil
}
