package credvault

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"iter"
	"net/url"
	"strconv"
	"time"
)

func setIf(q url.Values, name, value string) {
	if value != "" {
		q.Set(name, value)
	}
}

// APIKeysService manages API keys.
type APIKeysService struct{ c *Client }

func (o *APIKeyListOptions) query() url.Values {
	if o == nil {
		return url.Values{}
	}
	q := o.ListOptions.values(nil)
	setIf(q, "status", o.Status)
	setIf(q, "service_account_id", o.ServiceAccountID)
	return q
}

// Create issues a key; its secret is in the answer's Key, and nowhere else ever again.
func (s *APIKeysService) Create(ctx context.Context, req *CreateAPIKeyRequest) (*APIKey, error) {
	out := new(APIKey)
	_, err := s.c.do(ctx, &request{method: "POST", path: "/api-keys", body: req}, out)
	return done(out, err)
}

// List iterates the tenant's keys, every page, newest first by default.
func (s *APIKeysService) List(ctx context.Context, opts *APIKeyListOptions) iter.Seq2[*APIKey, error] {
	return all[*APIKey](ctx, s.c, "/api-keys", opts.query())
}

// ListPage fetches one page of the tenant's keys.
func (s *APIKeysService) ListPage(ctx context.Context, opts *APIKeyListOptions) (*Page[*APIKey], error) {
	return page[*APIKey](ctx, s.c, "/api-keys", opts.query())
}

// Get reads a key.
func (s *APIKeysService) Get(ctx context.Context, id string) (*APIKey, error) {
	out := new(APIKey)
	_, err := s.c.do(ctx, &request{method: "GET", path: "/api-keys/" + pathEscape(id)}, out)
	return done(out, err)
}

// Rotate gives the key a new secret (in the answer's Key); the old one works
// through the grace period.
func (s *APIKeysService) Rotate(ctx context.Context, id string, req *RotateRequest) (*APIKey, error) {
	if req == nil {
		req = &RotateRequest{}
	}
	out := new(APIKey)
	_, err := s.c.do(ctx, &request{method: "POST", path: "/api-keys/" + pathEscape(id) + "/rotate", body: req}, out)
	return done(out, err)
}

// Revoke stops the key at once, on every instance.
func (s *APIKeysService) Revoke(ctx context.Context, id string) (*APIKey, error) {
	out := new(APIKey)
	_, err := s.c.do(ctx, &request{method: "DELETE", path: "/api-keys/" + pathEscape(id)}, out)
	return done(out, err)
}

// Validate checks a key's secret against the key id: a bad secret is
// Valid false with a Reason, not an error.
func (s *APIKeysService) Validate(ctx context.Context, id, key string) (*KeyValidation, error) {
	out := new(KeyValidation)
	_, err := s.c.do(ctx, &request{method: "POST", path: "/api-keys/" + pathEscape(id) + "/validate",
		body: map[string]string{"key": key}}, out)
	return done(out, err)
}

// OAuthClientsService manages OAuth clients.
type OAuthClientsService struct{ c *Client }

// Create creates a client; ClientSecret is in the answer, once.
func (s *OAuthClientsService) Create(ctx context.Context, req *CreateOAuthClientRequest) (*OAuthClient, error) {
	out := new(OAuthClient)
	_, err := s.c.do(ctx, &request{method: "POST", path: "/oauth-clients", body: req}, out)
	return done(out, err)
}

func (o *OAuthClientListOptions) query() url.Values {
	if o == nil {
		return url.Values{}
	}
	q := o.ListOptions.values(nil)
	setIf(q, "status", o.Status)
	return q
}

// List iterates the tenant's OAuth clients.
func (s *OAuthClientsService) List(ctx context.Context, opts *OAuthClientListOptions) iter.Seq2[*OAuthClient, error] {
	return all[*OAuthClient](ctx, s.c, "/oauth-clients", opts.query())
}

// ListPage fetches one page of OAuth clients.
func (s *OAuthClientsService) ListPage(ctx context.Context, opts *OAuthClientListOptions) (*Page[*OAuthClient], error) {
	return page[*OAuthClient](ctx, s.c, "/oauth-clients", opts.query())
}

// Get reads a client by its client_id.
func (s *OAuthClientsService) Get(ctx context.Context, clientID string) (*OAuthClient, error) {
	out := new(OAuthClient)
	_, err := s.c.do(ctx, &request{method: "GET", path: "/oauth-clients/" + pathEscape(clientID)}, out)
	return done(out, err)
}

// Update changes a client; status disabled stops its tokens at once.
func (s *OAuthClientsService) Update(ctx context.Context, clientID string, req *UpdateOAuthClientRequest) (*OAuthClient, error) {
	out := new(OAuthClient)
	_, err := s.c.do(ctx, &request{method: "PATCH", path: "/oauth-clients/" + pathEscape(clientID), body: req}, out)
	return done(out, err)
}

// RotateSecret issues a new client secret, shown once.
func (s *OAuthClientsService) RotateSecret(ctx context.Context, clientID string, req *RotateRequest) (*OAuthClient, error) {
	if req == nil {
		req = &RotateRequest{}
	}
	out := new(OAuthClient)
	_, err := s.c.do(ctx, &request{method: "POST", path: "/oauth-clients/" + pathEscape(clientID) + "/rotate-secret", body: req}, out)
	return done(out, err)
}

// Delete deletes a client; its tokens stop working at once.
func (s *OAuthClientsService) Delete(ctx context.Context, clientID string) (*DeletedClient, error) {
	out := new(DeletedClient)
	_, err := s.c.do(ctx, &request{method: "DELETE", path: "/oauth-clients/" + pathEscape(clientID)}, out)
	return done(out, err)
}

// CredentialsService stores and reads credentials.
type CredentialsService struct{ c *Client }

// Store stores an integration's secret, encrypted; the answer is metadata only.
func (s *CredentialsService) Store(ctx context.Context, req *StoreCredentialRequest) (*Credential, error) {
	out := new(Credential)
	_, err := s.c.do(ctx, &request{method: "POST", path: "/credentials", body: req}, out)
	return done(out, err)
}

func (o *CredentialListOptions) query() url.Values {
	if o == nil {
		return url.Values{}
	}
	q := o.ListOptions.values(nil)
	setIf(q, "integration_id", o.IntegrationID)
	setIf(q, "auth_type", o.AuthType)
	setIf(q, "status", o.Status)
	return q
}

// List iterates credential metadata.
func (s *CredentialsService) List(ctx context.Context, opts *CredentialListOptions) iter.Seq2[*Credential, error] {
	return all[*Credential](ctx, s.c, "/credentials", opts.query())
}

// ListPage fetches one page of credential metadata.
func (s *CredentialsService) ListPage(ctx context.Context, opts *CredentialListOptions) (*Page[*Credential], error) {
	return page[*Credential](ctx, s.c, "/credentials", opts.query())
}

// Get reads the integration's credentials with their decrypted Data (the
// read is audited; it needs credentials:decrypt).
func (s *CredentialsService) Get(ctx context.Context, integrationID string) (*Integration, error) {
	out := new(Integration)
	_, err := s.c.do(ctx, &request{method: "GET", path: "/credentials/" + pathEscape(integrationID)}, out)
	return done(out, err)
}

// Details reads the integration's credentials, metadata only.
func (s *CredentialsService) Details(ctx context.Context, integrationID string) (*Integration, error) {
	out := new(Integration)
	_, err := s.c.do(ctx, &request{method: "GET", path: "/credentials/" + pathEscape(integrationID) + "/details"}, out)
	return done(out, err)
}

// Update changes a credential; Data replaces its secret.
func (s *CredentialsService) Update(ctx context.Context, integrationID, credentialID string, req *UpdateCredentialRequest) (*Credential, error) {
	out := new(Credential)
	_, err := s.c.do(ctx, &request{method: "PATCH", path: "/credentials/" + pathEscape(integrationID) + "/" + pathEscape(credentialID), body: req}, out)
	return done(out, err)
}

// Delete deletes a credential; its ciphertext is destroyed.
func (s *CredentialsService) Delete(ctx context.Context, integrationID, credentialID string) (*Deleted, error) {
	out := new(Deleted)
	_, err := s.c.do(ctx, &request{method: "DELETE", path: "/credentials/" + pathEscape(integrationID) + "/" + pathEscape(credentialID)}, out)
	return done(out, err)
}

// UsersService manages the tenant's users.
type UsersService struct{ c *Client }

func (o *UserListOptions) query() url.Values {
	if o == nil {
		return url.Values{}
	}
	q := o.ListOptions.values(nil)
	setIf(q, "role", o.Role)
	setIf(q, "status", o.Status)
	setIf(q, "email", o.Email)
	return q
}

// List iterates the tenant's users.
func (s *UsersService) List(ctx context.Context, opts *UserListOptions) iter.Seq2[*User, error] {
	return all[*User](ctx, s.c, "/admin/users", opts.query())
}

// ListPage fetches one page of users.
func (s *UsersService) ListPage(ctx context.Context, opts *UserListOptions) (*Page[*User], error) {
	return page[*User](ctx, s.c, "/admin/users", opts.query())
}

// Create creates a user in the tenant.
func (s *UsersService) Create(ctx context.Context, req *CreateUserRequest) (*User, error) {
	out := new(User)
	_, err := s.c.do(ctx, &request{method: "POST", path: "/admin/users", body: req}, out)
	return done(out, err)
}

// Update changes a user.
func (s *UsersService) Update(ctx context.Context, id string, req *UpdateUserRequest) (*User, error) {
	out := new(User)
	_, err := s.c.do(ctx, &request{method: "PATCH", path: "/admin/users/" + pathEscape(id), body: req}, out)
	return done(out, err)
}

// Delete deletes a user; its sessions and keys stop at once.
func (s *UsersService) Delete(ctx context.Context, id string) (*Deleted, error) {
	out := new(Deleted)
	_, err := s.c.do(ctx, &request{method: "DELETE", path: "/admin/users/" + pathEscape(id)}, out)
	return done(out, err)
}

// ServiceAccountsService creates service accounts.
type ServiceAccountsService struct{ c *Client }

// Create creates a service account, optionally with its first key.
func (s *ServiceAccountsService) Create(ctx context.Context, req *CreateServiceAccountRequest) (*CreatedServiceAccount, error) {
	out := new(CreatedServiceAccount)
	_, err := s.c.do(ctx, &request{method: "POST", path: "/admin/service-account/create", body: req}, out)
	return done(out, err)
}

// WebhooksService manages webhook endpoints.
type WebhooksService struct{ c *Client }

// Create creates an endpoint; its signing Secret is in the answer, once.
func (s *WebhooksService) Create(ctx context.Context, req *CreateWebhookRequest) (*Webhook, error) {
	out := new(Webhook)
	_, err := s.c.do(ctx, &request{method: "POST", path: "/webhooks", body: req}, out)
	return done(out, err)
}

func (o *WebhookListOptions) query() url.Values {
	if o == nil {
		return url.Values{}
	}
	q := o.ListOptions.values(nil)
	setIf(q, "enabled", o.Enabled)
	setIf(q, "event", o.Event)
	return q
}

// List iterates the tenant's endpoints.
func (s *WebhooksService) List(ctx context.Context, opts *WebhookListOptions) iter.Seq2[*Webhook, error] {
	return all[*Webhook](ctx, s.c, "/webhooks", opts.query())
}

// ListPage fetches one page of endpoints.
func (s *WebhooksService) ListPage(ctx context.Context, opts *WebhookListOptions) (*Page[*Webhook], error) {
	return page[*Webhook](ctx, s.c, "/webhooks", opts.query())
}

// EventTypes lists the event types an endpoint may subscribe to.
func (s *WebhooksService) EventTypes(ctx context.Context) ([]EventType, error) {
	var out []EventType
	_, err := s.c.do(ctx, &request{method: "GET", path: "/webhooks/event-types"}, &out)
	return out, err
}

// Get reads an endpoint.
func (s *WebhooksService) Get(ctx context.Context, id string) (*Webhook, error) {
	out := new(Webhook)
	_, err := s.c.do(ctx, &request{method: "GET", path: "/webhooks/" + pathEscape(id)}, out)
	return done(out, err)
}

// Update changes an endpoint.
func (s *WebhooksService) Update(ctx context.Context, id string, req *UpdateWebhookRequest) (*Webhook, error) {
	out := new(Webhook)
	_, err := s.c.do(ctx, &request{method: "PATCH", path: "/webhooks/" + pathEscape(id), body: req}, out)
	return done(out, err)
}

// Delete deletes an endpoint; its pending deliveries are dropped.
func (s *WebhooksService) Delete(ctx context.Context, id string) (*DeletedWebhook, error) {
	out := new(DeletedWebhook)
	_, err := s.c.do(ctx, &request{method: "DELETE", path: "/webhooks/" + pathEscape(id)}, out)
	return done(out, err)
}

// RotateSecret issues a new signing secret, shown once; within the grace
// period both secrets sign.
func (s *WebhooksService) RotateSecret(ctx context.Context, id string, req *RotateRequest) (*Webhook, error) {
	if req == nil {
		req = &RotateRequest{}
	}
	out := new(Webhook)
	_, err := s.c.do(ctx, &request{method: "POST", path: "/webhooks/" + pathEscape(id) + "/rotate-secret", body: req}, out)
	return done(out, err)
}

// Test sends a webhook.test event to the endpoint.
func (s *WebhooksService) Test(ctx context.Context, id string) (*WebhookTest, error) {
	out := new(WebhookTest)
	_, err := s.c.do(ctx, &request{method: "POST", path: "/webhooks/" + pathEscape(id) + "/test"}, out)
	return done(out, err)
}

func (o *DeliveryListOptions) query() url.Values {
	if o == nil {
		return url.Values{}
	}
	q := o.ListOptions.values(nil)
	setIf(q, "status", o.Status)
	setIf(q, "event_type", o.EventType)
	return q
}

// Deliveries iterates the endpoint's delivery log, newest first.
func (s *WebhooksService) Deliveries(ctx context.Context, id string, opts *DeliveryListOptions) iter.Seq2[*WebhookDelivery, error] {
	return all[*WebhookDelivery](ctx, s.c, "/webhooks/"+pathEscape(id)+"/deliveries", opts.query())
}

// RetryDelivery attempts a delivery again, now.
func (s *WebhooksService) RetryDelivery(ctx context.Context, webhookID, deliveryID string) (*WebhookDelivery, error) {
	out := new(WebhookDelivery)
	_, err := s.c.do(ctx, &request{method: "POST", path: "/webhooks/" + pathEscape(webhookID) + "/deliveries/" + pathEscape(deliveryID) + "/retry"}, out)
	return done(out, err)
}

// AuditService reads the audit trail.
type AuditService struct{ c *Client }

func (o *AuditListOptions) query() url.Values {
	if o == nil {
		return url.Values{}
	}
	q := o.ListOptions.values(nil)
	setIf(q, "actor_id", o.ActorID)
	setIf(q, "actor_type", o.ActorType)
	setIf(q, "action", o.Action)
	setIf(q, "resource_type", o.ResourceType)
	setIf(q, "resource_id", o.ResourceID)
	setIf(q, "outcome", o.Outcome)
	if o.Since != nil {
		q.Set("since", o.Since.UTC().Format(time.RFC3339Nano))
	}
	if o.Until != nil {
		q.Set("until", o.Until.UTC().Format(time.RFC3339Nano))
	}
	return q
}

// List iterates the audit trail, newest first.
func (s *AuditService) List(ctx context.Context, opts *AuditListOptions) iter.Seq2[*AuditLog, error] {
	return all[*AuditLog](ctx, s.c, "/admin/audit-logs", opts.query())
}

// ListPage fetches one page of the audit trail.
func (s *AuditService) ListPage(ctx context.Context, opts *AuditListOptions) (*Page[*AuditLog], error) {
	return page[*AuditLog](ctx, s.c, "/admin/audit-logs", opts.query())
}

// TenantsService reads and manages tenants.
type TenantsService struct{ c *Client }

func (o *TenantListOptions) query() url.Values {
	if o == nil {
		return url.Values{}
	}
	q := o.ListOptions.values(nil)
	setIf(q, "status", o.Status)
	setIf(q, "plan", o.Plan)
	return q
}

// List iterates every tenant (platform admins only).
func (s *TenantsService) List(ctx context.Context, opts *TenantListOptions) iter.Seq2[*Tenant, error] {
	return all[*Tenant](ctx, s.c, "/admin/tenants", opts.query())
}

// Get reads a tenant: the caller's own, or any for a platform admin.
func (s *TenantsService) Get(ctx context.Context, id string) (*Tenant, error) {
	out := new(Tenant)
	_, err := s.c.do(ctx, &request{method: "GET", path: "/admin/tenants/" + pathEscape(id)}, out)
	return done(out, err)
}

// Update changes a tenant's name, plan, status or settings.
func (s *TenantsService) Update(ctx context.Context, id string, req *UpdateTenantRequest) (*Tenant, error) {
	out := new(Tenant)
	_, err := s.c.do(ctx, &request{method: "PATCH", path: "/admin/tenants/" + pathEscape(id), body: req}, out)
	return done(out, err)
}

// Delete deletes a tenant: its sessions, keys and tokens stop at once.
func (s *TenantsService) Delete(ctx context.Context, id string) (*Deleted, error) {
	out := new(Deleted)
	_, err := s.c.do(ctx, &request{method: "DELETE", path: "/admin/tenants/" + pathEscape(id)}, out)
	return done(out, err)
}

// Stats counts a tenant's things and activity.
func (s *TenantsService) Stats(ctx context.Context, id string) (*Stats, error) {
	out := new(Stats)
	_, err := s.c.do(ctx, &request{method: "GET", path: "/admin/tenants/" + pathEscape(id) + "/stats"}, out)
	return done(out, err)
}

// AdminService has the operational endpoints.
type AdminService struct{ c *Client }

// Health is readiness, open to anyone: the server answers and its database too.
func (s *AdminService) Health(ctx context.Context) (*Health, error) {
	out := new(Health)
	_, err := s.c.do(ctx, &request{method: "GET", path: "/health"}, out)
	return done(out, err)
}

// DetailedHealth is the detailed health (tenant:read).
func (s *AdminService) DetailedHealth(ctx context.Context) (*Health, error) {
	out := new(Health)
	_, err := s.c.do(ctx, &request{method: "GET", path: "/admin/health"}, out)
	return done(out, err)
}

// DashboardStats counts the tenant's things and recent activity.
func (s *AdminService) DashboardStats(ctx context.Context) (*Stats, error) {
	out := new(Stats)
	_, err := s.c.do(ctx, &request{method: "GET", path: "/admin/dashboard/stats"}, out)
	return done(out, err)
}

// Features tells what the server has enabled.
func (s *AdminService) Features(ctx context.Context) (*Features, error) {
	out := new(Features)
	_, err := s.c.do(ctx, &request{method: "GET", path: "/admin/features/status"}, out)
	return done(out, err)
}

// UsageSummary is requests per day per key and client over days (0: the
// server's default, 30).
func (s *AdminService) UsageSummary(ctx context.Context, days int) (*UsageSummary, error) {
	q := url.Values{}
	if days > 0 {
		q.Set("days", strconv.Itoa(days))
	}
	out := new(UsageSummary)
	_, err := s.c.do(ctx, &request{method: "GET", path: "/admin/usage/summary", query: q}, out)
	return done(out, err)
}

// TriggerJob runs a background job now.
func (s *AdminService) TriggerJob(ctx context.Context, req *TriggerJobRequest) (*TriggeredJob, error) {
	out := new(TriggeredJob)
	_, err := s.c.do(ctx, &request{method: "POST", path: "/admin/jobs/trigger", body: req}, out)
	return done(out, err)
}

// JobStats counts a job's runs by status.
func (s *AdminService) JobStats(ctx context.Context, jobName string) (*JobStats, error) {
	out := new(JobStats)
	_, err := s.c.do(ctx, &request{method: "GET", path: "/admin/jobs/" + pathEscape(jobName) + "/stats"}, out)
	return done(out, err)
}

// RotateDEK rotates a tenant's data encryption key ("" is the caller's
// tenant); a job re-encrypts the rest.
func (s *AdminService) RotateDEK(ctx context.Context, tenantID string) (*DEKRotation, error) {
	body := map[string]any{}
	if tenantID != "" {
		body["tenant_id"] = tenantID
	}
	out := new(DEKRotation)
	_, err := s.c.do(ctx, &request{method: "POST", path: "/admin/dek/rotate", body: body}, out)
	return done(out, err)
}

// AuthService signs up, signs in and tells who the client is.
type AuthService struct{ c *Client }

// Me is the authenticated principal, its tenant and scopes.
func (s *AuthService) Me(ctx context.Context) (*Me, error) {
	out := new(Me)
	_, err := s.c.do(ctx, &request{method: "GET", path: "/auth/me"}, out)
	return done(out, err)
}

// Register creates a tenant and its owner, and signs the owner in.
func (s *AuthService) Register(ctx context.Context, req *RegisterRequest) (*Session, error) {
	out := new(Session)
	_, err := s.c.do(ctx, &request{method: "POST", path: "/auth/register", body: req}, out)
	return done(out, err)
}

// Login signs in with email and password.
func (s *AuthService) Login(ctx context.Context, req *LoginRequest) (*Session, error) {
	out := new(Session)
	_, err := s.c.do(ctx, &request{method: "POST", path: "/auth/login", body: req}, out)
	return done(out, err)
}

// Refresh exchanges a refresh token for a new session.
func (s *AuthService) Refresh(ctx context.Context, refreshToken string) (*Session, error) {
	out := new(Session)
	_, err := s.c.do(ctx, &request{method: "POST", path: "/auth/refresh", body: map[string]string{"refresh_token": refreshToken}}, out)
	return done(out, err)
}

// done returns out, or nil and err.
func done[T any](out *T, err error) (*T, error) {
	if err != nil {
		return nil, err
	}
	return out, nil
}

// Export streams the whole audit trail matching opts, oldest first, without
// paging (NDJSON from /admin/audit-logs/export); its paging fields are
// ignored. An error ends the iteration after yielding it.
func (s *AuditService) Export(ctx context.Context, opts *AuditListOptions) iter.Seq2[*AuditLog, error] {
	return func(yield func(*AuditLog, error) bool) {
		q := url.Values{}
		if opts != nil {
			filters := *opts
			filters.ListOptions = ListOptions{}
			q = filters.query()
		}
		resp, err := s.c.stream(ctx, "/admin/audit-logs/export", q, "application/x-ndjson", nil)
		if err != nil {
			yield(nil, err)
			return
		}
		defer resp.Body.Close()
		dec := json.NewDecoder(resp.Body)
		for {
			entry := new(AuditLog)
			if err := dec.Decode(entry); err == io.EOF {
				return
			} else if err != nil {
				yield(nil, fmt.Errorf("credvault: audit export: %w", err))
				return
			}
			if !yield(entry, nil) {
				return
			}
		}
	}
}

// SSOService configures the tenant's single sign-on.
type SSOService struct{ c *Client }

// Get reads the configuration (NOT_FOUND when there is none).
func (s *SSOService) Get(ctx context.Context) (*SSOConfig, error) {
	out := new(SSOConfig)
	_, err := s.c.do(ctx, &request{method: "GET", path: "/admin/sso"}, out)
	return done(out, err)
}

// Update configures single sign-on over OpenID Connect.
func (s *SSOService) Update(ctx context.Context, req *UpdateSSOConfigRequest) (*SSOConfig, error) {
	out := new(SSOConfig)
	_, err := s.c.do(ctx, &request{method: "PUT", path: "/admin/sso", body: req}, out)
	return done(out, err)
}
