// Package server wires CredVault together: configuration, the database, the
// GraphQL and REST handlers behind one chi router and its middleware, and
// the lifecycle from start-up to a graceful shutdown.
package server

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"sync"
	"time"

	"github.com/credvault/credvault/internal/health"
	"github.com/credvault/credvault/internal/sso"
	"github.com/credvault/credvault/internal/tenancy"
	"github.com/credvault/credvault/internal/vault"
	"github.com/credvault/credvault/internal/webhooks"

	entdialect "entgo.io/ent/dialect"
	"github.com/go-chi/chi/v5"
	"github.com/go-chi/chi/v5/middleware"
	"github.com/go-chi/cors"

	"github.com/credvault/credvault/console"
	"github.com/credvault/credvault/graph"
	auth "github.com/credvault/credvault/internal/access/authn"
	"github.com/credvault/credvault/internal/access/authz"
	"github.com/credvault/credvault/internal/apikeys"
	"github.com/credvault/credvault/internal/audit"
	"github.com/credvault/credvault/internal/gateway"
	"github.com/credvault/credvault/internal/guardrails"
	"github.com/credvault/credvault/internal/identity"
	"github.com/credvault/credvault/internal/identity/tokens"
	"github.com/credvault/credvault/internal/jobs"
	"github.com/credvault/credvault/internal/oauth"
	"github.com/credvault/credvault/internal/platform/config"
	"github.com/credvault/credvault/internal/platform/invalidate"
	"github.com/credvault/credvault/internal/platform/metrics"
	"github.com/credvault/credvault/internal/platform/playground"
	"github.com/credvault/credvault/internal/platform/ratelimit"
	"github.com/credvault/credvault/internal/platform/store"
	"github.com/credvault/credvault/internal/tenancy/usage"
	"github.com/credvault/credvault/internal/vault/crypt"
	"github.com/credvault/credvault/internal/vault/dek"
	"github.com/credvault/credvault/rest"
)

// Timeouts of the HTTP server.
const (
	readHeaderTimeout = 10 * time.Second
	readTimeout       = 30 * time.Second
	writeTimeout      = 60 * time.Second
	idleTimeout       = 120 * time.Second
	requestTimeout    = 30 * time.Second
	shutdownTimeout   = 30 * time.Second
)

// Server is a running CredVault.
type Server struct {
	cfg     *config.Config
	store   *store.Store
	logger  *slog.Logger
	keys    Keys
	handler http.Handler
	bus     *invalidate.Bus
	metrics *metrics.Metrics
	// counters are the Redis rate limit counters, nil without Redis.
	counters *ratelimit.Counters
	// sink is the audit file, nil without CREDVAULT_AUDIT_FILE.
	sink *audit.FileSink
	// tasks run in the background while the server serves.
	tasks []func(ctx context.Context)
	flush func(ctx context.Context) error
}

// How often batched writes happen: API key last_used_at and credential
// last_accessed_at times, and audit entries of validations and refused keys.
const (
	usageFlushInterval = 5 * time.Second
	auditFlushInterval = time.Second
)

// Keys are the master keys loaded at start-up.
type Keys struct {
	Master   *crypt.MasterKey
	Previous *crypt.MasterKey
}

// Login limits: attempts per client address, failures per account; and
// token endpoint requests per client address.
const (
	loginAttemptsPerIP   = 30
	loginFailuresPerUser = 10
	loginLimitWindow     = 15 * time.Minute
	tokenRequestsPerIP   = 600
	tokenLimitWindow     = time.Minute
)

// New builds the server over an open, migrated store. It fails when the
// master key does not open the stored signing keys.
func New(ctx context.Context, cfg *config.Config, st *store.Store, keys Keys, logger *slog.Logger) (*Server, error) {
	s := &Server{cfg: cfg, store: st, logger: logger, keys: keys, metrics: metrics.New()}
	if cfg.AuditFile != "" {
		sink, err := audit.OpenFileSink(cfg.AuditFile, logger)
		if err != nil {
			return nil, fmt.Errorf("server: CREDVAULT_AUDIT_FILE: %w", err)
		}
		st.Client.AuditLog.Use(sink.Hook())
		s.sink = sink
	}
	var previous []*crypt.MasterKey
	if keys.Previous != nil {
		previous = append(previous, keys.Previous)
	}
	keyring, err := tokens.NewKeyring(ctx, st.Client, keys.Master, cfg.PublicURL, previous...)
	if err != nil {
		return nil, err
	}
	rateLimits, err := config.ParseRateLimits(cfg.RateLimits)
	if err != nil {
		return nil, fmt.Errorf("server: CREDVAULT_RATE_LIMITS: %w", err)
	}
	limits := !rateLimits.Off
	var guard *identity.LoginGuard
	var tokenLimit *ratelimit.Limiter
	var plans *ratelimit.Plans
	var counters *ratelimit.Counters
	var limitStore func() string
	if limits {
		if cfg.RedisURL != "" {
			if counters, err = ratelimit.NewRedisCounters(cfg.RedisURL, cfg.RedisPrefix, logger); err != nil {
				return nil, err
			}
			s.counters = counters
		}
		limitStore = counters.Store
		guard = identity.NewLoginGuard(loginAttemptsPerIP, loginFailuresPerUser, loginLimitWindow, counters)
		tokenLimit = ratelimit.NewLimiter("token-ip", tokenRequestsPerIP, tokenLimitWindow, counters)
		plans = ratelimit.NewPlans(rateLimits.Plans, cfg.DefaultPlan, counters)
	}
	ids, err := identity.New(st.Client, keyring, cfg.AllowSignup, cfg.DefaultPlan, guard, cfg.Argon2)
	if err != nil {
		return nil, err
	}
	if s.bus, err = invalidate.New(st.Dialect, st.URL, logger); err != nil {
		return nil, err
	}
	keyUsage := apikeys.NewUsage(st.Client, logger)
	batch := audit.NewBatcher(st.Client, logger)
	requests := usage.New(st.Client, logger)
	decrypts := audit.NewCommitter(st.Client, st.Dialect, logger)
	accessed := vault.NewAccessed(st.Client, logger)
	tokens := gateway.NewUsage(st.Client, logger)
	for _, b := range []interface{ Instrument(*metrics.Metrics) }{keyUsage, batch, requests, decrypts, accessed, tokens} {
		b.Instrument(s.metrics)
	}
	s.flush = func(ctx context.Context) error {
		return errors.Join(batch.Flush(ctx), keyUsage.Flush(ctx), requests.Flush(ctx), accessed.Flush(ctx), tokens.Flush(ctx))
	}
	verifier := apikeys.NewVerifier(st.Client, s.bus, keyUsage, batch, s.metrics)
	s.tasks = append(s.tasks,
		func(ctx context.Context) { keyUsage.Run(ctx, usageFlushInterval) },
		func(ctx context.Context) { accessed.Run(ctx, usageFlushInterval) },
		func(ctx context.Context) { tokens.Run(ctx, usageFlushInterval) },
		func(ctx context.Context) { batch.Run(ctx, auditFlushInterval) })
	authn := &auth.Authenticator{Client: st.Client, Metrics: s.metrics, Usage: requests,
		Sessions: auth.VerifierFunc(ids.VerifySession), APIKeys: verifier}
	as, err := oauth.New(ctx, oauth.Config{DB: st.Client, Keys: keyring, Bus: s.bus, Metrics: s.metrics, Audit: batch,
		Authenticate: authn.Authenticate, PerIP: tokenLimit})
	if err != nil {
		return nil, err
	}
	authn.AccessTokens = auth.VerifierFunc(as.VerifyAccessToken)
	deks := dek.New(st.Client, keys.Master, keys.Previous).Listen(s.bus)
	if st.Dialect == entdialect.Postgres {
		deks.LockRows()
	}
	queue := jobs.New(st.Client, st.Dialect, jobs.Options{}, logger)
	targets := webhooks.Targets{HTTPSOnly: cfg.Production(), AllowPrivate: cfg.WebhookAllowPrivate}
	dispatcher := webhooks.NewDispatcher(st.Client, st.Dialect, deks, s.bus, s.metrics, logger,
		webhooks.DispatchOptions{Timeout: cfg.WebhookTimeout, Schedule: cfg.WebhookRetrySchedule, Targets: targets})
	events := webhooks.NewOutbox(s.bus, rest.EventData)
	events.Kick = dispatcher.Kick
	s.tasks = append(s.tasks, dispatcher.Run)
	registerJobs(queue, st.Client, deks, events, s.bus)
	s.tasks = append(s.tasks, queue.Run, func(ctx context.Context) { requests.Run(ctx, usageFlushInterval) })
	s.metrics.WatchDB(st.DB)
	s.metrics.WatchStatements(st.Statements)
	s.metrics.WatchRateLimitStore(counters.FallingBack)
	s.metrics.WatchQueue(queue.Depth)
	build := BuildInfo()
	s.metrics.SetBuildInfo(build.Version, build.Commit, build.GoVersion)
	authorize := &authz.Guard{Client: st.Client, Batch: batch, LockRows: st.Dialect == entdialect.Postgres}
	features := tenancy.FeatureStatus{Signup: cfg.AllowSignup, RateLimits: limits, TLS: cfg.TLSCert != "",
		Introspection: cfg.GraphQLIntrospection, Environment: cfg.Env, CorsOrigins: cfg.CORSOrigins}
	apiKeys := &apikeys.Service{Client: st.Client, Guard: authorize, Bus: s.bus, Batch: batch, Keys: verifier, Plans: plans, Events: events,
		Stream: apikeys.NewStream(st.Client, s.bus)}
	s.tasks = append(s.tasks, apiKeys.Stream.Run)
	signOn := &sso.Service{Client: st.Client, Guard: authorize, DEKs: deks, Identity: ids, Events: events, Targets: targets,
		PublicURL: cfg.PublicURL, RedirectOrigins: cfg.SSORedirectOrigins}
	resolver := &graph.Resolver{
		APIKeys:      apiKeys,
		OAuthClients: &oauth.Clients{Client: st.Client, Guard: authorize, Bus: s.bus, Events: events},
		Users:        &identity.Users{Client: st.Client, Guard: authorize, Bus: s.bus, Keys: apiKeys, Tenants: tenancy.NewCache(st.Client, s.bus), Events: events, Argon2: cfg.Argon2},
		Vault:        &vault.Service{Client: st.Client, Guard: authorize, DEKs: deks, Jobs: queue, Cache: vault.NewCache(s.bus), Metrics: s.metrics, Audit: decrypts, Accessed: accessed, Events: events},
		Tenants:      &tenancy.Service{Client: st.Client, Guard: authorize, Bus: s.bus, Jobs: queue, Features: features, Events: events},
		Webhooks:     &webhooks.Service{Client: st.Client, Guard: authorize, Bus: s.bus, DEKs: deks, Outbox: events, Targets: targets},
		Guardrails:   guardrails.New(st.Client, authorize, s.bus),
		SSO:          signOn,
		Audit:        &audit.Trail{Client: st.Client, Guard: authorize},
		JobRuns:      &jobs.Service{Client: st.Client, Guard: authorize, Queue: queue},
		Health:       &health.Service{Client: st.Client, Guard: authorize, Store: st, Queue: queue, Version: build.Version, Commit: build.Commit, Started: time.Now(), RateLimitStore: limitStore},
		Guard:        authorize,
		Identity:     ids,
		Store:        st,
		Version:      build.Version,
	}
	resolver.Gateway = &gateway.Service{Client: st.Client, Guard: authorize, Bus: s.bus, Vault: resolver.Vault, Targets: targets,
		Health: gateway.NewHealth(), Usage: tokens, Audit: batch, Metrics: s.metrics, Guardrails: resolver.Guardrails,
		HTTP: gateway.NewHTTPClient(targets)}
	api := &rest.API{Resolver: resolver}

	r := chi.NewRouter()
	r.Use(clientIP(cfg.TrustedProxies), requestInfo, accessLog(logger, s.metrics), recoverPanics)
	if len(cfg.CORSOrigins) > 0 {
		r.Use(cors.Handler(cors.Options{
			AllowedOrigins: cfg.CORSOrigins,
			AllowedMethods: []string{http.MethodGet, http.MethodPost, http.MethodPatch, http.MethodPut, http.MethodDelete, http.MethodOptions},
			AllowedHeaders: []string{"Authorization", "X-API-Key", "x-tenantid", "realmname", "X-Request-ID", "Content-Type"},
			ExposedHeaders: []string{"X-Request-ID", "X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset", "Retry-After"},
			MaxAge:         600,
		}))
	}
	r.Use(limitBody, timeout(requestTimeout, api.Streaming("/api/v1")))
	r.NotFound(rest.NotFound)
	r.MethodNotAllowed(rest.Allowing(r))

	r.Get("/health", s.liveness)
	r.Handle("/metrics", s.metrics.Handler())
	r.Get("/.well-known/jwks.json", jwks(keyring))
	r.Get("/.well-known/oauth-authorization-server", as.Metadata)
	r.Post("/oauth/token", as.Token)
	r.Post("/oauth/introspect", as.Introspect)
	r.Post("/oauth/revoke", as.Revoke)
	r.Mount("/api/v1", api.Router(authn.Middleware(false, rest.WriteError), plans.Middleware(rest.WriteError)))
	r.With(noStore, graphqlTransport, authn.Middleware(true, graphqlAuthError), plans.Middleware(graphqlAuthError)).
		Handle("/graphql", newGraphQL(resolver, cfg.GraphQLIntrospection))
	r.Mount("/playground", playground.Handler("CredVault", "/graphql"))
	r.Mount("/api-docs", apiDocs())
	r.Mount("/console", console.Handler())
	s.handler = r
	return s, nil
}

// Flush writes what waits in memory: batched audit entries and key usage.
// Shutdown does it too; tests call it to read the database at once.
func (s *Server) Flush(ctx context.Context) error { return s.flush(ctx) }

// Handler returns the root HTTP handler.
func (s *Server) Handler() http.Handler { return s.handler }

// liveness answers 200 while the process serves requests; readiness, with
// the database, is /api/v1/health.
func (s *Server) liveness(w http.ResponseWriter, r *http.Request) {
	rest.WriteSuccess(w, r, http.StatusOK, "service is alive", map[string]string{"status": "ok", "version": BuildInfo().Version, "commit": BuildInfo().Commit}, nil)
}

// clientIP sets the client address: the TCP peer, or the X-Forwarded-For
// entry left of the trusted proxies when the peer is one of them.
func clientIP(trusted []netip.Prefix) func(http.Handler) http.Handler {
	if len(trusted) == 0 {
		return middleware.ClientIPFromRemoteAddr
	}
	cidrs := make([]string, len(trusted))
	for i, p := range trusted {
		cidrs[i] = p.String()
	}
	return middleware.ClientIPFromXFF(cidrs...)
}

// Listen opens the listener of cfg.Addr and tells cfg its address, so that
// a public URL derived from it names the port (one chosen for port 0 too).
func Listen(cfg *config.Config) (net.Listener, error) {
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("server: listen on %s: %w", cfg.Addr, err)
	}
	cfg.Listening(ln.Addr())
	return ln, nil
}

// Start runs the background tasks (flushing key usage, listening for
// invalidations) until the returned stop is called; stop waits for them.
func (s *Server) Start() (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var tasks sync.WaitGroup
	for _, task := range s.tasks {
		tasks.Go(func() { task(ctx) })
	}
	return func() {
		cancel()
		tasks.Wait()
		if err := s.bus.Close(); err != nil {
			s.logger.Warn("closing the invalidation listener", "err", err)
		}
		if err := s.counters.Close(); err != nil {
			s.logger.Warn("closing the rate limit counters", "err", err)
		}
		if s.sink != nil {
			if err := s.sink.Close(); err != nil {
				s.logger.Warn("closing the audit file", "err", err)
			}
		}
	}
}

// Serve serves on ln until ctx is cancelled, then stops accepting
// connections and drains in-flight requests for up to 30 seconds.
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.handler,
		ReadHeaderTimeout: readHeaderTimeout,
		ReadTimeout:       readTimeout,
		WriteTimeout:      writeTimeout,
		IdleTimeout:       idleTimeout,
		ErrorLog:          slog.NewLogLogger(s.logger.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	defer s.Start()()
	errc := make(chan error, 1)
	go func() {
		if s.cfg.TLSCert != "" {
			errc <- srv.ServeTLS(ln, s.cfg.TLSCert, s.cfg.TLSKey)
		} else {
			errc <- srv.Serve(ln)
		}
	}()
	s.logger.Info("listening", "addr", ln.Addr().String(), "tls", s.cfg.TLSCert != "", "env", s.cfg.Env)
	select {
	case err := <-errc:
		return fmt.Errorf("server: %w", err)
	case <-ctx.Done():
	}
	s.logger.Info("shutting down: draining in-flight requests")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("server: shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("server: %w", err)
	}
	return nil
}
