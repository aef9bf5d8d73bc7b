package rest

import (
	"context"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/internal/access"
	"github.com/credvault/credvault/internal/gateway"
)

// openAIKey marks a request to an OpenAI route, whose errors WriteError
// answers in OpenAI's shape.
type openAIKey struct{}

func openAIErrors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), openAIKey{}, true)))
	})
}

func speaksOpenAI(r *http.Request) bool {
	v, _ := r.Context().Value(openAIKey{}).(bool)
	return v
}

// routerProviderJSON is a provider in REST responses; its key stays in
// the vault.
type routerProviderJSON struct {
	ID                      uuid.UUID  `json:"id"`
	TenantID                uuid.UUID  `json:"tenant_id"`
	Name                    string     `json:"name"`
	BaseURL                 string     `json:"base_url"`
	CredentialIntegrationID string     `json:"credential_integration_id"`
	Models                  []string   `json:"models"`
	Enabled                 bool       `json:"enabled"`
	CreatedBy               *uuid.UUID `json:"created_by"`
	CreatedAt               time.Time  `json:"created_at"`
	UpdatedAt               time.Time  `json:"updated_at"`
}

func toRouterProviderJSON(p *ent.RouterProvider) *routerProviderJSON {
	return &routerProviderJSON{ID: p.ID, TenantID: p.TenantID, Name: p.Name, BaseURL: p.BaseURL,
		CredentialIntegrationID: p.CredentialIntegrationID, Models: orEmpty(p.Models), Enabled: p.Enabled,
		CreatedBy: p.CreatedBy, CreatedAt: p.CreatedAt, UpdatedAt: p.UpdatedAt}
}

type deletedRouterProvider struct {
	ID      uuid.UUID `json:"id"`
	Deleted bool      `json:"deleted"`
}

// chatCompletionBody documents OpenAI's chat completion request: the
// gateway reads these fields and passes every other one through.
type chatCompletionBody struct {
	Model    string            `json:"model"`
	Messages []chatMessageBody `json:"messages"`
	Stream   *bool             `json:"stream,omitempty"`
}

// chatMessageBody is a message: its content a string or a list of parts.
type chatMessageBody struct {
	Role    string `json:"role"`
	Content any    `json:"content"`
}

// chatCompletionJSON documents OpenAI's chat completion, passed through
// from the provider.
type chatCompletionJSON struct {
	ID      string           `json:"id"`
	Object  string           `json:"object"`
	Created int64            `json:"created"`
	Model   string           `json:"model"`
	Choices []map[string]any `json:"choices"`
	Usage   map[string]any   `json:"usage,omitempty"`
}

func (a *API) routerRoutes() []Route {
	gw := func() *gateway.Service { return a.Resolver.Gateway }
	return []Route{
		HandleRaw(Route{Method: http.MethodPost, Path: "/chat/completions", Op: access.ChatCompletion, OpenAI: true,
			Summary: "OpenAI-compatible chat completion through the router; stream: true answers Server-Sent Events; errors in OpenAI's shape",
			Status:  http.StatusOK, Message: "chat completion"}, chatCompletionBody{}, chatCompletionJSON{},
			func(w http.ResponseWriter, r *http.Request) { gw().ChatCompletions(w, r) }),
		HandleRaw(Route{Method: http.MethodGet, Path: "/models", Op: access.ListModels, OpenAI: true,
			Summary: "OpenAI-compatible list of the models the router serves", Status: http.StatusOK, Message: "models"},
			nil, gateway.ModelList{}, func(w http.ResponseWriter, r *http.Request) { gw().Models(w, r) }),
		Handle(Route{Method: http.MethodGet, Path: "/admin/router/config", Op: access.ReadRouterConfig,
			Summary: "The router's routes, fallback, timeout and attempt limit", Status: http.StatusOK, Message: "router config"},
			func(ctx context.Context, _ *Call) (*gateway.Config, error) {
				return a.Resolver.Query().RouterConfig(ctx)
			}),
		HandleBody(Route{Method: http.MethodPut, Path: "/admin/router/config", Op: access.UpdateRouterConfig,
			Summary: "Set the router's routes, fallback, timeout_ms and max_attempts (fields left out keep their value)",
			Status:  http.StatusOK, Message: "router config updated"},
			func(ctx context.Context, _ *Call, in *gateway.UpdateConfigInput) (*gateway.Config, error) {
				return a.Resolver.Mutation().UpdateRouterConfig(ctx, *in)
			}),
		Handle(Route{Method: http.MethodGet, Path: "/admin/router/providers", Op: access.ListRouterProviders,
			Summary: "The router's providers, oldest first", Status: http.StatusOK, Message: "router providers"},
			func(ctx context.Context, _ *Call) ([]*routerProviderJSON, error) {
				ps, err := a.Resolver.Query().RouterProviders(ctx)
				if err != nil {
					return nil, err
				}
				return mapSlice(ps, toRouterProviderJSON), nil
			}),
		HandleBody(Route{Method: http.MethodPost, Path: "/admin/router/providers", Op: access.CreateRouterProvider,
			Summary: "Add an OpenAI-compatible provider whose key is a vault credential (api_key or bearer_token)",
			Status:  http.StatusCreated, Message: "router provider created"},
			func(ctx context.Context, _ *Call, in *gateway.CreateProviderInput) (*routerProviderJSON, error) {
				p, err := a.Resolver.Mutation().CreateRouterProvider(ctx, *in)
				if err != nil {
					return nil, err
				}
				return toRouterProviderJSON(p), nil
			}),
		HandleBody(Route{Method: http.MethodPatch, Path: "/admin/router/providers/{providerId}", Op: access.UpdateRouterProvider,
			Summary: "Update a provider: name, base_url, credential_integration_id, models, enabled", Status: http.StatusOK, Message: "router provider updated"},
			func(ctx context.Context, c *Call, in *gateway.UpdateProviderInput) (*routerProviderJSON, error) {
				id, err := c.IDParam("providerId")
				if err != nil {
					return nil, err
				}
				p, err := a.Resolver.Mutation().UpdateRouterProvider(ctx, id, *in)
				if err != nil {
					return nil, err
				}
				return toRouterProviderJSON(p), nil
			}),
		Handle(Route{Method: http.MethodDelete, Path: "/admin/router/providers/{providerId}", Op: access.DeleteRouterProvider,
			Summary: "Delete a provider; routes naming it drop it", Status: http.StatusOK, Message: "router provider deleted"},
			func(ctx context.Context, c *Call) (*deletedRouterProvider, error) {
				id, err := c.IDParam("providerId")
				if err != nil {
					return nil, err
				}
				if id, err = a.Resolver.Mutation().DeleteRouterProvider(ctx, id); err != nil {
					return nil, err
				}
				return &deletedRouterProvider{ID: id, Deleted: true}, nil
			}),
		Handle(Route{Method: http.MethodGet, Path: "/admin/router/health", Op: access.ReadRouterHealth,
			Summary: "Each provider's status, circuit, success rate, p50/p95 latency and last error (this instance)", Status: http.StatusOK, Message: "router health"},
			func(ctx context.Context, _ *Call) ([]*gateway.ProviderHealth, error) {
				return a.Resolver.Query().RouterHealth(ctx)
			}),
	}
}
