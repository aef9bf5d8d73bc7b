// Package gateway is CredVault's AI gateway (SPEC §14): OpenAI-compatible
// chat completions sent to a tenant's providers through its router, with
// each provider's key taken from the vault for the call only, guardrails
// on the way in and out, fallback, a circuit breaker per provider, usage
// and an audit entry per request.
package gateway

import (
	"context"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/google/uuid"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/ent/routerprovider"
	"github.com/credvault/credvault/ent/schema/schematype"
	"github.com/credvault/credvault/internal/access"
	"github.com/credvault/credvault/internal/access/authz"
	"github.com/credvault/credvault/internal/audit"
	"github.com/credvault/credvault/internal/guardrails"
	"github.com/credvault/credvault/internal/platform/apperr"
	"github.com/credvault/credvault/internal/platform/invalidate"
	"github.com/credvault/credvault/internal/platform/metrics"
	"github.com/credvault/credvault/internal/platform/store"
	"github.com/credvault/credvault/internal/vault"
	"github.com/credvault/credvault/internal/webhooks"
)

// Guardrails checks a stage's texts; *guardrails.Service implements it.
type Guardrails interface {
	Check(ctx context.Context, stage guardrails.Stage, texts []string) (guardrails.Result, error)
}

// Service owns the router's configuration and providers and serves chat
// requests through them.
type Service struct {
	Client *ent.Client
	Guard  *authz.Guard
	Bus    *invalidate.Bus
	// Vault opens providers' keys.
	Vault *vault.Service
	// Targets is the SSRF guard applied to providers' base URLs.
	Targets webhooks.Targets
	Health  *Health
	Usage   *Usage
	// Audit takes each request's gateway.chat entry, off the request path.
	Audit   *audit.Batcher
	Metrics *metrics.Metrics
	// Guardrails may be nil: no checks.
	Guardrails Guardrails
	// HTTP calls the providers; its dialer carries the SSRF guard.
	HTTP *http.Client

	routing sync.Map // tenant uuid.UUID → *routing
	subOnce sync.Once
	// generation counts invalidations, so a load racing one is not cached.
	generation atomic.Uint64
}

// Config defaults, for a tenant that saved none.
const (
	DefaultTimeoutMS   = 30000
	DefaultMaxAttempts = 3
	maxTimeoutMS       = 600000
	maxAttempts        = 10
	maxModels          = 200
)

const invalidateKind = "router"

// changed is the invalidation topic of a tenant's router.
func changed(tenant uuid.UUID) invalidate.Topic {
	return invalidate.For(invalidateKind, tenant.String())
}

// NewHTTPClient is the providers' client: no overall timeout (the router's
// timeout_ms bounds each attempt, streams included), dialing through the
// SSRF guard.
func NewHTTPClient(t webhooks.Targets) *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.DialContext = t.Dialer(dialTimeout).DialContext
	tr.MaxIdleConnsPerHost = 64
	tr.Proxy = nil
	return &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
}

// Config is a tenant's routing: PUT /admin/router/config's body and
// answer.
type Config struct {
	Routes      []schematype.RouterRoute `json:"routes"`
	Fallback    bool                     `json:"fallback"`
	TimeoutMS   int                      `json:"timeout_ms"`
	MaxAttempts int                      `json:"max_attempts"`
}

// UpdateConfigInput replaces the fields it sets.
type UpdateConfigInput struct {
	Routes      []schematype.RouterRoute `json:"routes,omitempty"`
	Fallback    *bool                    `json:"fallback,omitempty"`
	TimeoutMS   *int                     `json:"timeout_ms,omitempty"`
	MaxAttempts *int                     `json:"max_attempts,omitempty"`
}

// CreateProviderInput is createRouterProvider's input and POST
// /admin/router/providers's body.
type CreateProviderInput struct {
	Name                    string   `json:"name"`
	BaseURL                 string   `json:"base_url"`
	CredentialIntegrationID string   `json:"credential_integration_id"`
	Models                  []string `json:"models"`
	Enabled                 *bool    `json:"enabled,omitempty"`
}

// UpdateProviderInput changes the fields it sets.
type UpdateProviderInput struct {
	Name                    *string  `json:"name,omitempty"`
	BaseURL                 *string  `json:"base_url,omitempty"`
	CredentialIntegrationID *string  `json:"credential_integration_id,omitempty"`
	Models                  []string `json:"models,omitempty"`
	Enabled                 *bool    `json:"enabled,omitempty"`
}

func defaultConfig() *Config {
	return &Config{Routes: []schematype.RouterRoute{}, Fallback: true, TimeoutMS: DefaultTimeoutMS, MaxAttempts: DefaultMaxAttempts}
}

func toConfig(c *ent.RouterConfig) *Config {
	if c == nil {
		return defaultConfig()
	}
	routes := c.Routes
	if routes == nil {
		routes = []schematype.RouterRoute{}
	}
	return &Config{Routes: routes, Fallback: c.Fallback, TimeoutMS: c.TimeoutMs, MaxAttempts: c.MaxAttempts}
}

// Config is the tenant's routing, the defaults if it saved none.
func (s *Service) Config(ctx context.Context) (*Config, error) {
	if _, err := s.Guard.Require(ctx, access.ReadRouterConfig); err != nil {
		return nil, err
	}
	c, err := s.Client.RouterConfig.Query().Only(ctx)
	if ent.IsNotFound(err) {
		return defaultConfig(), nil
	}
	if err != nil {
		return nil, err
	}
	return toConfig(c), nil
}

// UpdateConfig saves the fields in sets over the current routing. Every
// provider a route names must exist.
func (s *Service) UpdateConfig(ctx context.Context, in UpdateConfigInput) (*Config, error) {
	if _, err := s.Guard.Require(ctx, access.UpdateRouterConfig); err != nil {
		return nil, err
	}
	// Concurrent first saves of a tenant's config: the one that finds the
	// other's row taken runs again and updates it.
	var cfg *Config
	err := store.RetryTaken(2, func() error {
		return store.WithTx(ctx, s.Client, func(ctx context.Context, tx *ent.Client) (err error) {
			cfg, err = s.saveConfig(ctx, tx, in)
			return err
		})
	})
	if err != nil {
		return nil, err
	}
	return cfg, nil
}

// saveConfig applies in to the tenant's config in tx, audited.
func (s *Service) saveConfig(ctx context.Context, tx *ent.Client, in UpdateConfigInput) (*Config, error) {
	cur, err := tx.RouterConfig.Query().Where(store.ForUpdate).Only(ctx)
	if err != nil && !ent.IsNotFound(err) {
		return nil, err
	}
	cfg := toConfig(cur)
	if in.Routes != nil {
		names, err := tx.RouterProvider.Query().Select(routerprovider.FieldName).Strings(ctx)
		if err != nil {
			return nil, err
		}
		if cfg.Routes, err = checkRoutes(in.Routes, names); err != nil {
			return nil, err
		}
	}
	if in.Fallback != nil {
		cfg.Fallback = *in.Fallback
	}
	if in.TimeoutMS != nil {
		if *in.TimeoutMS < 1 || *in.TimeoutMS > maxTimeoutMS {
			return nil, apperr.Invalid("timeout_ms", "out of range").With("min", 1).With("max", maxTimeoutMS)
		}
		cfg.TimeoutMS = *in.TimeoutMS
	}
	if in.MaxAttempts != nil {
		if *in.MaxAttempts < 1 || *in.MaxAttempts > maxAttempts {
			return nil, apperr.Invalid("max_attempts", "out of range").With("min", 1).With("max", maxAttempts)
		}
		cfg.MaxAttempts = *in.MaxAttempts
	}
	p, _ := access.FromContext(ctx)
	if cur == nil {
		err = tx.RouterConfig.Create().SetTenantID(p.TenantID).SetRoutes(cfg.Routes).SetFallback(cfg.Fallback).
			SetTimeoutMs(cfg.TimeoutMS).SetMaxAttempts(cfg.MaxAttempts).Exec(ctx)
	} else {
		err = tx.RouterConfig.UpdateOne(cur).SetRoutes(cfg.Routes).SetFallback(cfg.Fallback).
			SetTimeoutMs(cfg.TimeoutMS).SetMaxAttempts(cfg.MaxAttempts).Exec(ctx)
	}
	if err != nil {
		return nil, err
	}
	if err := audit.Record(ctx, tx, audit.Entry{Action: "router.config_update", ResourceType: "router_config", ResourceID: p.TenantID.String(),
		Details: map[string]any{"routes": len(cfg.Routes), "fallback": cfg.Fallback, "timeout_ms": cfg.TimeoutMS, "max_attempts": cfg.MaxAttempts}}); err != nil {
		return nil, err
	}
	return cfg, s.Bus.Publish(ctx, tx, changed(p.TenantID))
}

// checkRoutes accepts routes with a model each, once, naming known
// providers.
func checkRoutes(routes []schematype.RouterRoute, names []string) ([]schematype.RouterRoute, error) {
	out := make([]schematype.RouterRoute, 0, len(routes))
	seen := map[string]bool{}
	for _, r := range routes {
		r.Model = strings.TrimSpace(r.Model)
		switch {
		case r.Model == "":
			return nil, apperr.Invalid("routes.model", "required")
		case seen[r.Model]:
			return nil, apperr.Invalid("routes.model", "duplicate").With("model", r.Model)
		case len(r.Providers) == 0:
			return nil, apperr.Invalid("routes.providers", "required").With("model", r.Model)
		}
		seen[r.Model] = true
		for _, n := range r.Providers {
			if !slices.Contains(names, n) {
				return nil, apperr.Invalid("routes.providers", "unknown provider").With("model", r.Model).With("provider", n)
			}
		}
		out = append(out, schematype.RouterRoute{Model: r.Model, Providers: slices.Compact(slices.Clone(r.Providers))})
	}
	return out, nil
}

// Providers is the tenant's providers, oldest first.
func (s *Service) Providers(ctx context.Context) ([]*ent.RouterProvider, error) {
	if _, err := s.Guard.Require(ctx, access.ListRouterProviders); err != nil {
		return nil, err
	}
	return s.Client.RouterProvider.Query().Order(ent.Asc(routerprovider.FieldCreatedAt), ent.Asc(routerprovider.FieldID)).All(ctx)
}

// CreateProvider adds an upstream whose key is the tenant's credential of
// credential_integration_id.
func (s *Service) CreateProvider(ctx context.Context, in CreateProviderInput) (*ent.RouterProvider, error) {
	p, err := s.Guard.Require(ctx, access.CreateRouterProvider)
	if err != nil {
		return nil, err
	}
	name, err := checkName(in.Name)
	if err != nil {
		return nil, err
	}
	base, err := s.checkBaseURL(ctx, in.BaseURL)
	if err != nil {
		return nil, err
	}
	integ := strings.TrimSpace(in.CredentialIntegrationID)
	if integ == "" {
		return nil, apperr.Invalid("credential_integration_id", "required")
	}
	if err := s.Vault.CheckProviderCredential(ctx, integ); err != nil {
		return nil, err
	}
	models, err := checkModels(in.Models)
	if err != nil {
		return nil, err
	}
	enabled := in.Enabled == nil || *in.Enabled
	return store.Write(ctx, s.Client, func(ctx context.Context, tx *ent.Client) (*ent.RouterProvider, error) {
		if n, err := tx.RouterProvider.Query().Where(routerprovider.Name(name)).Count(ctx); err != nil || n > 0 {
			if err == nil {
				err = apperr.New(apperr.Conflict, "a provider with this name exists").With("name", name)
			}
			return nil, err
		}
		rp, err := tx.RouterProvider.Create().SetTenantID(p.TenantID).SetName(name).SetBaseURL(base).SetCredentialIntegrationID(integ).
			SetModels(models).SetEnabled(enabled).SetCreatedBy(p.ID).Save(ctx)
		if err != nil {
			return nil, err
		}
		if err := audit.Record(ctx, tx, audit.Entry{Action: "router.provider_create", ResourceType: "router_provider", ResourceID: rp.ID.String(),
			Details: map[string]any{"name": name, "base_url": base, "credential_integration_id": integ, "models": models, "enabled": enabled}}); err != nil {
			return nil, err
		}
		return rp, s.Bus.Publish(ctx, tx, changed(p.TenantID))
	})
}

// UpdateProvider changes the fields in sets. A renamed provider keeps its
// place in the routes that name it.
func (s *Service) UpdateProvider(ctx context.Context, id uuid.UUID, in UpdateProviderInput) (*ent.RouterProvider, error) {
	if _, err := s.Guard.Require(ctx, access.UpdateRouterProvider); err != nil {
		return nil, err
	}
	var sets []func(*ent.RouterProviderUpdateOne)
	var fields []string
	var name string
	if in.Name != nil {
		n, err := checkName(*in.Name)
		if err != nil {
			return nil, err
		}
		name = n
		sets, fields = append(sets, func(u *ent.RouterProviderUpdateOne) { u.SetName(n) }), append(fields, "name")
	}
	if in.BaseURL != nil {
		base, err := s.checkBaseURL(ctx, *in.BaseURL)
		if err != nil {
			return nil, err
		}
		sets, fields = append(sets, func(u *ent.RouterProviderUpdateOne) { u.SetBaseURL(base) }), append(fields, "base_url")
	}
	if in.CredentialIntegrationID != nil {
		integ := strings.TrimSpace(*in.CredentialIntegrationID)
		if integ == "" {
			return nil, apperr.Invalid("credential_integration_id", "required")
		}
		if err := s.Vault.CheckProviderCredential(ctx, integ); err != nil {
			return nil, err
		}
		sets, fields = append(sets, func(u *ent.RouterProviderUpdateOne) { u.SetCredentialIntegrationID(integ) }), append(fields, "credential_integration_id")
	}
	if in.Models != nil {
		models, err := checkModels(in.Models)
		if err != nil {
			return nil, err
		}
		sets, fields = append(sets, func(u *ent.RouterProviderUpdateOne) { u.SetModels(models) }), append(fields, "models")
	}
	if in.Enabled != nil {
		e := *in.Enabled
		sets, fields = append(sets, func(u *ent.RouterProviderUpdateOne) { u.SetEnabled(e) }), append(fields, "enabled")
	}
	return store.Write(ctx, s.Client, func(ctx context.Context, tx *ent.Client) (*ent.RouterProvider, error) {
		rp, err := tx.RouterProvider.Get(ctx, id)
		if err != nil {
			return nil, err
		}
		old := rp.Name
		if name != "" && name != old {
			if n, err := tx.RouterProvider.Query().Where(routerprovider.Name(name)).Count(ctx); err != nil || n > 0 {
				if err == nil {
					err = apperr.New(apperr.Conflict, "a provider with this name exists").With("name", name)
				}
				return nil, err
			}
			if err := renameInRoutes(ctx, tx, old, name); err != nil {
				return nil, err
			}
		}
		upd := tx.RouterProvider.UpdateOne(rp)
		for _, set := range sets {
			set(upd)
		}
		if rp, err = upd.Save(ctx); err != nil {
			return nil, err
		}
		if err := audit.Record(ctx, tx, audit.Entry{Action: "router.provider_update", ResourceType: "router_provider", ResourceID: rp.ID.String(),
			Details: map[string]any{"fields": fields}}); err != nil {
			return nil, err
		}
		return rp, s.Bus.Publish(ctx, tx, changed(rp.TenantID))
	})
}

// DeleteProvider removes a provider and drops it from the routes.
func (s *Service) DeleteProvider(ctx context.Context, id uuid.UUID) (uuid.UUID, error) {
	if _, err := s.Guard.Require(ctx, access.DeleteRouterProvider); err != nil {
		return uuid.Nil, err
	}
	_, err := store.Write(ctx, s.Client, func(ctx context.Context, tx *ent.Client) (*ent.RouterProvider, error) {
		rp, err := tx.RouterProvider.Get(ctx, id)
		if err != nil {
			return nil, err
		}
		if err := renameInRoutes(ctx, tx, rp.Name, ""); err != nil {
			return nil, err
		}
		if err := tx.RouterProvider.DeleteOne(rp).Exec(ctx); err != nil {
			return nil, err
		}
		if err := audit.Record(ctx, tx, audit.Entry{Action: "router.provider_delete", ResourceType: "router_provider", ResourceID: rp.ID.String(),
			Details: map[string]any{"name": rp.Name}}); err != nil {
			return nil, err
		}
		return rp, s.Bus.Publish(ctx, tx, changed(rp.TenantID))
	})
	if err != nil {
		return uuid.Nil, err
	}
	s.Health.Forget(id)
	return id, nil
}

// renameInRoutes replaces provider old by name in the saved routes, or
// removes it when name is "" (and a route left without providers).
func renameInRoutes(ctx context.Context, tx *ent.Client, old, name string) error {
	cur, err := tx.RouterConfig.Query().Where(store.ForUpdate).Only(ctx)
	if ent.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	routes := make([]schematype.RouterRoute, 0, len(cur.Routes))
	for _, r := range cur.Routes {
		var ps []string
		for _, p := range r.Providers {
			switch {
			case p != old:
				ps = append(ps, p)
			case name != "":
				ps = append(ps, name)
			}
		}
		if len(ps) > 0 {
			routes = append(routes, schematype.RouterRoute{Model: r.Model, Providers: ps})
		}
	}
	return tx.RouterConfig.UpdateOne(cur).SetRoutes(routes).Exec(ctx)
}

// HealthReport is every provider of the tenant with its health.
func (s *Service) HealthReport(ctx context.Context) ([]*ProviderHealth, error) {
	if _, err := s.Guard.Require(ctx, access.ReadRouterHealth); err != nil {
		return nil, err
	}
	ps, err := s.Client.RouterProvider.Query().Order(ent.Asc(routerprovider.FieldCreatedAt), ent.Asc(routerprovider.FieldID)).All(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]*ProviderHealth, len(ps))
	for i, p := range ps {
		out[i] = s.Health.Snapshot(p.ID, p.Name)
	}
	return out, nil
}

func checkName(n string) (string, error) {
	n = strings.TrimSpace(n)
	if n == "" {
		return "", apperr.Invalid("name", "required")
	}
	if len(n) > 100 {
		return "", apperr.Invalid("name", "too long").With("max", 100)
	}
	return n, nil
}

// checkBaseURL applies the SSRF guard of webhooks to a base URL, naming
// base_url in a refusal.
func (s *Service) checkBaseURL(ctx context.Context, raw string) (string, error) {
	u, err := s.Targets.Check(ctx, raw)
	if err != nil {
		e := apperr.From(err)
		if e.Code == apperr.Validation {
			reason, _ := e.Details["reason"].(string)
			out := apperr.Invalid("base_url", reason)
			if h, ok := e.Details["host"]; ok {
				out = out.With("host", h)
			}
			return "", out
		}
		return "", err
	}
	return strings.TrimRight(u, "/"), nil
}

func checkModels(models []string) ([]string, error) {
	if len(models) > maxModels {
		return nil, apperr.Invalid("models", "too many").With("max", maxModels)
	}
	out := []string{}
	for _, m := range models {
		m = strings.TrimSpace(m)
		if m == "" {
			return nil, apperr.Invalid("models", "has an empty model name")
		}
		if !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	return out, nil
}
