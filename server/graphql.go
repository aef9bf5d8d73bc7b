package server

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"runtime/debug"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/validator/rules"

	"github.com/credvault/credvault/graph"
	"github.com/credvault/credvault/internal/platform/apperr"
	"github.com/credvault/credvault/internal/platform/reqinfo"
)

// newGraphQL builds the /graphql handler: POST and GET transports, a parsed
// query cache, persisted queries, the document limits (graphqlcost.go), and
// errors carrying the same codes as REST in extensions.code.
func newGraphQL(resolver *graph.Resolver, introspection bool) *handler.Server {
	srv := handler.New(graph.NewSchema(resolver))
	srv.AddTransport(transport.Options{})
	srv.AddTransport(transport.GET{})
	srv.AddTransport(transport.POST{})
	parsed := newDocumentCache(1000, func(query string, _ *ast.QueryDocument) string { return query })
	srv.SetQueryCache(parsed)
	if introspection {
		srv.Use(extension.Introspection{})
	} else {
		// "Did you mean …?" would spell out, name by name, the schema that
		// introspection hides.
		srv.SetDisableSuggestion(true)
		srv.SetValidationRulesFn(rulesWithoutSuggestions)
	}
	// Before persisted queries, so that only a document within the limits
	// is stored.
	srv.Use(documentLimits{parsed: parsed})
	srv.Use(extension.AutomaticPersistedQuery{Cache: newDocumentCache(1000, func(_, query string) string { return query })})
	srv.Use(extension.FixedComplexityLimit(maxComplexity))
	srv.Use(&inputCheck{})
	srv.AroundOperations(graph.TrackEdgeDenials)
	srv.Use(graph.FieldGuards{Resolver: resolver})
	srv.SetErrorPresenter(presentError)
	srv.SetRecoverFunc(recoverResolver)
	return srv
}

// rulesWithoutSuggestions are gqlparser's default rules with none that
// suggests names of arguments, types or input fields and enum values; the
// executor's own switch (SetDisableSuggestion) covers fields and leaves.
func rulesWithoutSuggestions() *rules.Rules {
	r := rules.NewDefaultRules()
	r.ReplaceRule(rules.KnownArgumentNamesRule.Name, rules.KnownArgumentNamesRuleWithoutSuggestions.RuleFunc)
	r.ReplaceRule(rules.KnownTypeNamesRule.Name, rules.KnownTypeNamesRuleWithoutSuggestions.RuleFunc)
	r.ReplaceRule(rules.ValuesOfCorrectTypeRule.Name, rules.ValuesOfCorrectTypeRuleWithoutSuggestions.RuleFunc)
	return r
}

// noStore marks every /graphql answer Cache-Control: no-store: any
// document may select a secret (a new key or client secret, a session's
// tokens, decrypted credential data).
func noStore(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}

// persistedQueryNotFound is the extensions.code of a persisted query hash
// that is not stored (any more): Apollo's name, which gqlgen sets.
const persistedQueryNotFound = "PERSISTED_QUERY_NOT_FOUND"

// presentError maps every error once into extensions.code (and
// extensions.details), with the codes REST uses. An unavailable database
// stays HTTP 200 (GraphQL over HTTP) with SERVICE_UNAVAILABLE and
// details.retry_after.
func presentError(ctx context.Context, err error) *gqlerror.Error {
	gerr := graphql.DefaultErrorPresenter(ctx, err)
	var ge *gqlerror.Error
	e, known := apperr.Known(err)
	switch {
	case known:
		apperr.LogUnavailable(ctx, e)
	case errors.As(err, &ge) && ge.Err == nil && ge.Extensions["code"] == persistedQueryNotFound:
		// gqlgen's own message and code, which Apollo clients answer by
		// sending the document with its hash.
		return gerr
	case errors.As(err, &ge) && ge.Err == nil:
		// Raised by gqlgen itself: the document did not parse or validate.
		e = protocolError(ge)
	case err.Error() == "introspection disabled":
		e = apperr.New(apperr.Forbidden, "introspection is disabled on this server")
	default:
		e = apperr.From(err)
		slog.ErrorContext(ctx, "graphql resolver error", "err", err,
			"request_id", reqinfo.FromContext(ctx).RequestID)
	}
	gerr.Message = e.Message
	gerr.Extensions = map[string]any{"code": e.Code}
	if len(e.Details) > 0 {
		gerr.Extensions["details"] = e.Details
	}
	return gerr
}

// protocolError names a gqlgen parse or validation error with a REST code.
// gqlgen's message for an undecodable body quotes the body, which may hold a
// secret, so that one is replaced.
func protocolError(ge *gqlerror.Error) *apperr.Error {
	switch {
	case strings.HasPrefix(ge.Message, "json request body could not be decoded"):
		return apperr.New(apperr.InvalidRequest, "request body is not valid JSON")
	case strings.Contains(ge.Message, "request body too large"):
		return apperr.New(apperr.PayloadTooLarge, "request body is larger than 1 MiB")
	}
	if ge.Extensions["code"] == errcode.ParseFailed {
		return apperr.New(apperr.InvalidRequest, ge.Message)
	}
	return apperr.New(apperr.Validation, ge.Message)
}

// graphqlTransport answers, in the GraphQL error format and with the REST
// codes, what gqlgen's transports would answer without a code: a method
// other than GET, POST or OPTIONS (405), a POST body that is not JSON (415),
// and a body over 1 MiB (413).
func graphqlTransport(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodGet, http.MethodOptions:
		case http.MethodPost:
			if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != "application/json" && mt != "application/graphql-response+json" {
				graphqlAuthError(w, r, apperr.New(apperr.UnsupportedMediaType, "POST /graphql takes application/json"))
				return
			}
			body, err := io.ReadAll(r.Body)
			if err != nil {
				graphqlAuthError(w, r, apperr.New(apperr.PayloadTooLarge, "request body is larger than 1 MiB"))
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
		default:
			w.Header().Set("Allow", "GET, POST, OPTIONS")
			graphqlAuthError(w, r, apperr.New(apperr.MethodNotAllowed, "use GET or POST on /graphql"))
			return
		}
		next.ServeHTTP(w, r)
	})
}

// recoverResolver logs a resolver panic with its stack and shows the client
// an INTERNAL_ERROR only.
func recoverResolver(ctx context.Context, v any) error {
	slog.ErrorContext(ctx, "panic in resolver", "panic", fmt.Sprint(v), "stack", string(debug.Stack()),
		"request_id", reqinfo.FromContext(ctx).RequestID)
	return apperr.New(apperr.Internal, "internal server error")
}

// graphqlAuthError answers a request refused before execution — bad
// credentials (401, or 403 for x-tenantid), a bad transport, or a database
// that cannot authenticate it (503 with Retry-After) — in the GraphQL
// response format with the error's status.
func graphqlAuthError(w http.ResponseWriter, r *http.Request, err error) {
	e := apperr.From(err)
	apperr.LogUnavailable(r.Context(), e)
	if e.Code == apperr.Unauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="credvault"`)
	}
	if retry, ok := e.Details["retry_after"]; ok {
		w.Header().Set("Retry-After", fmt.Sprint(retry))
	}
	ext := map[string]any{"code": e.Code}
	if len(e.Details) > 0 {
		ext["details"] = e.Details
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(e.Code.Status())
	_ = json.NewEncoder(w).Encode(map[string]any{
		"errors": []map[string]any{{"message": e.Message, "extensions": ext}},
		"data":   nil,
	})
}
