package rest

import (
	"context"
	"net/http"
	"time"

	"github.com/credvault/credvault/internal/access"

	"github.com/credvault/credvault/internal/identity"

	"github.com/google/uuid"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/graph/model"
)

type registerBody struct {
	TenantName string  `json:"tenant_name"`
	Email      string  `json:"email"`
	Password   string  `json:"password"`
	Name       *string `json:"name,omitempty"`
	// Sandbox registers a sandbox tenant (SPEC §15).
	Sandbox *bool `json:"sandbox,omitempty"`
}

type loginBody struct {
	Email    string  `json:"email"`
	Password string  `json:"password"`
	Tenant   *string `json:"tenant,omitempty"`
}

type refreshBody struct {
	RefreshToken string `json:"refresh_token"`
}

// tenantRef is a tenant as other resources show it.
type tenantRef struct {
	ID   uuid.UUID `json:"id"`
	Name string    `json:"name"`
	Slug string    `json:"slug"`
}

// session is a signed-in session; Tenant is shown by register only.
type session struct {
	Tenant       *tenantRef `json:"tenant,omitempty"`
	User         *userJSON  `json:"user"`
	AccessToken  string     `json:"access_token"`
	RefreshToken string     `json:"refresh_token"`
	TokenType    string     `json:"token_type"`
	ExpiresIn    int        `json:"expires_in"`
}

type meJSON struct {
	PrincipalType string     `json:"principal_type"`
	ID            uuid.UUID  `json:"id"`
	Tenant        tenantRef  `json:"tenant"`
	Scopes        []string   `json:"scopes"`
	User          *userRef   `json:"user,omitempty"`
	ClientID      *string    `json:"client_id,omitempty"`
	APIKeyID      *uuid.UUID `json:"api_key_id,omitempty"`
}

// userRef is a user as the principal shows it.
type userRef struct {
	ID    uuid.UUID `json:"id"`
	Email string    `json:"email"`
	Name  string    `json:"name"`
	Role  string    `json:"role"`
}

func (a *API) authRoutes() []Route {
	return []Route{
		HandleBody(Route{Method: http.MethodPost, Path: "/auth/register", Op: access.Register, Secret: true,
			Summary: "Create a tenant and its owner, and sign the owner in", Status: http.StatusCreated, Message: "tenant registered"},
			func(ctx context.Context, _ *Call, in *registerBody) (*session, error) {
				p, err := a.Resolver.Mutation().Register(ctx, model.RegisterInput{TenantName: in.TenantName, Email: in.Email, Password: in.Password, Name: in.Name,
					Sandbox: in.Sandbox})
				s := sessionJSON(p)
				if s != nil {
					s.Tenant = toTenantRef(p.Tenant)
				}
				return s, err
			}),
		HandleBody(Route{Method: http.MethodPost, Path: "/auth/login", Op: access.Login, Secret: true,
			Summary: "Sign in with email and password", Status: http.StatusOK, Message: "login successful"},
			func(ctx context.Context, _ *Call, in *loginBody) (*session, error) {
				p, err := a.Resolver.Mutation().Login(ctx, model.LoginInput{Email: in.Email, Password: in.Password, Tenant: in.Tenant})
				return sessionJSON(p), err
			}),
		HandleBody(Route{Method: http.MethodPost, Path: "/auth/refresh", Op: access.RefreshSession, Secret: true,
			Summary: "Exchange a refresh token for a new session", Status: http.StatusOK, Message: "session refreshed"},
			func(ctx context.Context, _ *Call, in *refreshBody) (*session, error) {
				p, err := a.Resolver.Mutation().RefreshSession(ctx, identity.RefreshSessionInput{RefreshToken: in.RefreshToken})
				return sessionJSON(p), err
			}),
		Handle(Route{Method: http.MethodGet, Path: "/auth/me", Op: access.Me,
			Summary: "The authenticated principal, its tenant and scopes", Status: http.StatusOK, Message: "current principal"},
			func(ctx context.Context, _ *Call) (*meJSON, error) {
				me, err := a.Resolver.Users.Me(ctx)
				if err != nil {
					return nil, err
				}
				out := &meJSON{PrincipalType: me.PrincipalType, ID: me.ID, Tenant: *toTenantRef(me.Tenant),
					Scopes: me.Scopes, ClientID: me.ClientID, APIKeyID: me.APIKeyID}
				if u := me.User; u != nil {
					out.User = &userRef{ID: u.ID, Email: u.Email, Name: u.Name, Role: u.Role.String()}
				}
				return out, nil
			}),
	}
}

func sessionJSON(p *identity.AuthPayload) *session {
	if p == nil {
		return nil
	}
	return &session{User: toUserJSON(p.User), AccessToken: p.AccessToken, RefreshToken: p.RefreshToken,
		TokenType: p.TokenType, ExpiresIn: p.ExpiresIn}
}

func toTenantRef(t *ent.Tenant) *tenantRef {
	return &tenantRef{ID: t.ID, Name: t.Name, Slug: t.Slug}
}

// userJSON is a user in REST responses.
type userJSON struct {
	ID          uuid.UUID  `json:"id"`
	TenantID    uuid.UUID  `json:"tenant_id"`
	Email       string     `json:"email"`
	Name        string     `json:"name"`
	Role        string     `json:"role"`
	Status      string     `json:"status"`
	LastLoginAt *time.Time `json:"last_login_at"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
}

func toUserJSON(u *ent.User) *userJSON {
	if u == nil {
		return nil
	}
	return &userJSON{ID: u.ID, TenantID: u.TenantID, Email: u.Email, Name: u.Name, Role: u.Role.String(),
		Status: u.Status.String(), LastLoginAt: u.LastLoginAt, CreatedAt: u.CreatedAt, UpdatedAt: u.UpdatedAt}
}
