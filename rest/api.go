package rest

import (
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"

	"github.com/credvault/credvault/graph"
	"github.com/credvault/credvault/internal/platform/apperr"
)

// API is the REST layer over the GraphQL resolvers.
type API struct {
	Resolver *graph.Resolver
}

// Routes is the route table: every /api/v1 endpoint, in the order of SPEC §5.
func (a *API) Routes() []Route {
	if a.Resolver == nil {
		// Read for its declarations only (the document, tests): no service
		// is called, but the table names their methods.
		a = &API{Resolver: &graph.Resolver{}}
	}
	var routes []Route
	routes = append(routes, a.authRoutes()...)
	routes = append(routes, a.apiKeyRoutes("/api-keys", true)...)
	routes = append(routes, a.apiKeyStreamRoute())
	routes = append(routes, a.apiKeyRoutes("/admin/api-keys", false)...)
	routes = append(routes, a.oauthClientRoutes()...)
	routes = append(routes, a.credentialRoutes()...)
	routes = append(routes, a.healthRoutes()...)
	routes = append(routes, a.auditLogRoutes()...)
	routes = append(routes, a.tenantRoutes()...)
	routes = append(routes, a.serviceAccountRoutes()...)
	routes = append(routes, a.userRoutes()...)
	routes = append(routes, a.jobRoutes()...)
	routes = append(routes, a.dashboardRoutes()...)
	routes = append(routes, a.webhookRoutes()...)
	routes = append(routes, a.guardrailRoutes()...)
	routes = append(routes, a.ssoRoutes()...)
	routes = append(routes, a.routerRoutes()...)
	return routes
}

// Router returns the /api/v1 handler. authenticate wraps every route that is
// not open, and limit every route not marked Unlimited, inside authenticate
// so that it knows the principal; unknown paths and methods answer in the
// envelope.
func (a *API) Router(authenticate, limit func(http.Handler) http.Handler) http.Handler {
	r := chi.NewRouter()
	r.NotFound(NotFound)
	r.MethodNotAllowed(Allowing(r))
	r.Get("/openapi.json", a.openAPIHandler())
	for _, rt := range a.Routes() {
		var h http.Handler = &rt
		if !rt.Unlimited {
			h = limit(h)
		}
		if !rt.Op.Open {
			h = authenticate(h)
		}
		if rt.OpenAI {
			h = openAIErrors(h)
		}
		r.Method(rt.Method, rt.Path, h)
	}
	return r
}

// NotFound answers an unknown path with 404 NOT_FOUND in the envelope.
func NotFound(w http.ResponseWriter, r *http.Request) {
	WriteError(w, r, apperr.New(apperr.NotFound, "no route for "+r.Method+" "+r.URL.Path))
}

// methods are the HTTP methods in the order an Allow header lists them.
var methods = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut,
	http.MethodPatch, http.MethodDelete, http.MethodOptions}

// Allowing returns the 405 handler of mux: MethodNotAllowed with the Allow
// header RFC 9110 §15.5.6 requires, listing the methods that mux (its route
// table) routes for the request's path.
func Allowing(mux chi.Routes) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		path := r.URL.Path
		if rctx := chi.RouteContext(r.Context()); rctx != nil && rctx.RoutePath != "" {
			// Under a mount, the path that mux routes is the rest of it.
			path = rctx.RoutePath
		}
		var allow []string
		for _, m := range methods {
			if mux.Match(chi.NewRouteContext(), m, path) {
				allow = append(allow, m)
			}
		}
		w.Header().Set("Allow", strings.Join(allow, ", "))
		MethodNotAllowed(w, r)
	}
}

// MethodNotAllowed answers a known path with the wrong method with 405.
func MethodNotAllowed(w http.ResponseWriter, r *http.Request) {
	WriteError(w, r, apperr.New(apperr.MethodNotAllowed, "method "+r.Method+" is not allowed on "+r.URL.Path))
}
