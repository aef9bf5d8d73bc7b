package rest

import (
	"context"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/ent/guardrail"
	"github.com/credvault/credvault/ent/migrate"
	"github.com/credvault/credvault/internal/access"
	"github.com/credvault/credvault/internal/guardrails"
)

// guardrailJSON is a guardrail in REST responses.
type guardrailJSON struct {
	ID        uuid.UUID      `json:"id"`
	TenantID  uuid.UUID      `json:"tenant_id"`
	Name      string         `json:"name"`
	Kind      string         `json:"kind"`
	Config    map[string]any `json:"config"`
	Action    string         `json:"action"`
	AppliesTo string         `json:"applies_to"`
	Enabled   bool           `json:"enabled"`
	CreatedBy *uuid.UUID     `json:"created_by"`
	CreatedAt time.Time      `json:"created_at"`
	UpdatedAt time.Time      `json:"updated_at"`
}

func toGuardrailJSON(g *ent.Guardrail) *guardrailJSON {
	config := g.Config
	if config == nil {
		config = map[string]any{}
	}
	return &guardrailJSON{ID: g.ID, TenantID: g.TenantID, Name: g.Name, Kind: g.Kind.String(), Config: config,
		Action: g.Action.String(), AppliesTo: g.AppliesTo.String(), Enabled: g.Enabled, CreatedBy: g.CreatedBy,
		CreatedAt: g.CreatedAt, UpdatedAt: g.UpdatedAt}
}

type deletedGuardrail struct {
	ID      uuid.UUID `json:"id"`
	Deleted bool      `json:"deleted"`
}

func (a *API) guardrailRoutes() []Route {
	rails := a.Resolver.Guardrails
	return []Route{
		HandleWhere(Route{Method: http.MethodGet, Path: "/admin/guardrails", Op: access.ListGuardrails,
			Summary: "List the AI gateway's guardrails; filters kind, enabled", Status: http.StatusOK, Message: "guardrails",
			Sort: []string{"created_at", "updated_at", "name", "kind"},
			Filters: []Filter{{Name: "kind", Field: "Kind", Enum: enumOf(migrate.GuardrailsTable, guardrail.FieldKind)},
				{Name: "enabled", Field: "Enabled", Enum: []string{"true", "false"}}}},
			rails.List, toGuardrailJSON),
		HandleBody(Route{Method: http.MethodPost, Path: "/admin/guardrails", Op: access.CreateGuardrail,
			Summary: "Create a guardrail; it applies after every existing one", Status: http.StatusCreated, Message: "guardrail created"},
			func(ctx context.Context, _ *Call, in *guardrails.CreateGuardrailInput) (*guardrailJSON, error) {
				g, err := a.Resolver.Mutation().CreateGuardrail(ctx, *in)
				if err != nil {
					return nil, err
				}
				return toGuardrailJSON(g), nil
			}),
		HandleBody(Route{Method: http.MethodPost, Path: "/admin/guardrails/test", Op: access.TestGuardrails,
			Summary: "Run the enabled guardrails on a text or messages; nothing is sent or stored", Status: http.StatusOK, Message: "guardrails tested"},
			func(ctx context.Context, _ *Call, in *guardrails.TestGuardrailsInput) (*guardrails.TestResult, error) {
				return a.Resolver.Query().TestGuardrails(ctx, *in)
			}),
		Handle(Route{Method: http.MethodGet, Path: "/admin/guardrails/policies", Op: access.ListGuardrailPolicies,
			Summary: "The guardrail kinds: description, config schema (JSON Schema), default action", Status: http.StatusOK, Message: "guardrail policies"},
			func(ctx context.Context, _ *Call) ([]*guardrails.Policy, error) {
				return a.Resolver.Query().GuardrailPolicies(ctx)
			}),
		HandleBody(Route{Method: http.MethodPatch, Path: "/admin/guardrails/{guardrailId}", Op: access.UpdateGuardrail,
			Summary: "Update a guardrail: name, config, action, applies_to, enabled", Status: http.StatusOK, Message: "guardrail updated"},
			func(ctx context.Context, c *Call, in *guardrails.UpdateGuardrailInput) (*guardrailJSON, error) {
				id, err := c.IDParam("guardrailId")
				if err != nil {
					return nil, err
				}
				g, err := a.Resolver.Mutation().UpdateGuardrail(ctx, id, *in)
				if err != nil {
					return nil, err
				}
				return toGuardrailJSON(g), nil
			}),
		Handle(Route{Method: http.MethodDelete, Path: "/admin/guardrails/{guardrailId}", Op: access.DeleteGuardrail,
			Summary: "Delete a guardrail; the gateway stops applying it at once", Status: http.StatusOK, Message: "guardrail deleted"},
			func(ctx context.Context, c *Call) (*deletedGuardrail, error) {
				id, err := c.IDParam("guardrailId")
				if err != nil {
					return nil, err
				}
				if id, err = a.Resolver.Mutation().DeleteGuardrail(ctx, id); err != nil {
					return nil, err
				}
				return &deletedGuardrail{ID: id, Deleted: true}, nil
			}),
	}
}
