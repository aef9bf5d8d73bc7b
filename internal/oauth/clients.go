package oauth

import (
	"context"
	"net/url"
	"strings"
	"time"

	"entgo.io/contrib/entgql"
	"github.com/google/uuid"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/ent/oauthclient"
	"github.com/credvault/credvault/internal/access"
	"github.com/credvault/credvault/internal/audit"
	"github.com/credvault/credvault/internal/platform/apperr"
	"github.com/credvault/credvault/internal/platform/invalidate"
	"github.com/credvault/credvault/internal/platform/paging"
	"github.com/credvault/credvault/internal/platform/secret"
	"github.com/credvault/credvault/internal/platform/store"
	"github.com/credvault/credvault/internal/webhooks"
)

// Prefixes of client ids and secrets.
const (
	ClientIDPrefix     = "cvc_"
	ClientSecretPrefix = "cvcs_"
)

// GrantClientCredentials is the one grant type supported.
const GrantClientCredentials = "client_credentials"

// NewClientID returns a new public client id.
func NewClientID() (string, error) { return secret.New(ClientIDPrefix, 16) }

// NewClientSecret returns a new client secret; store only its secret.Hash.
func NewClientSecret() (string, error) { return secret.New(ClientSecretPrefix, 32) }

// Access-token lifetimes a client may ask for.
const (
	minTokenTTL     = 60
	maxTokenTTL     = 86400
	defaultTokenTTL = 3600
)

// Create registers a client of the caller's tenant with scopes the caller
// holds, and returns it with its secret, shown this once.
func (s *Clients) Create(ctx context.Context, in CreateOAuthClientInput) (*CreatedOAuthClient, error) {
	p, err := s.Guard.Require(ctx, access.CreateOAuthClient)
	if err != nil {
		return nil, err
	}
	name := strings.TrimSpace(in.Name)
	if name == "" {
		return nil, apperr.Invalid("name", "required")
	}
	if len(in.Scopes) == 0 {
		return nil, apperr.Invalid("scopes", "required")
	}
	grants, err := checkGrantTypes(in.GrantTypes)
	if err != nil {
		return nil, err
	}
	uris, err := checkRedirectURIs(in.RedirectURIs)
	if err != nil {
		return nil, err
	}
	ttl, err := checkTTL(in.AccessTokenTTLSeconds)
	if err != nil {
		return nil, err
	}
	id, err := NewClientID()
	if err != nil {
		return nil, err
	}
	sec, err := NewClientSecret()
	if err != nil {
		return nil, err
	}
	c, err := store.Write(ctx, s.Client, func(ctx context.Context, tx *ent.Client) (*ent.OAuthClient, error) {
		if err := s.Guard.Ceiling(ctx, p, in.Scopes); err != nil {
			return nil, err
		}
		c, err := tx.OAuthClient.Create().SetClientID(id).SetName(name).SetSecretHash(secret.Hash(sec)).
			SetScopes(access.NewSet(in.Scopes...).List()).SetGrantTypes(grants).SetRedirectUris(uris).
			SetAccessTokenTTLSeconds(ttl).SetCreatedBy(p.ID).Save(ctx)
		if err != nil {
			return nil, err
		}
		if err := audit.Record(ctx, tx, audit.Entry{Action: "oauth_client.create", ResourceType: "oauth_client",
			ResourceID: c.ClientID, Details: map[string]any{"name": name, "scopes": c.Scopes}}); err != nil {
			return nil, err
		}
		return c, s.Events.Emit(ctx, tx, c.TenantID, webhooks.OAuthClientCreated, c)
	})
	if err != nil {
		return nil, err
	}
	return &CreatedOAuthClient{ClientSecret: sec, OauthClient: c}, nil
}

// Update changes the fields the input sets; new scopes stay within the
// caller's. The change reaches every instance's client cache on commit.
func (s *Clients) Update(ctx context.Context, clientID string, in UpdateOAuthClientInput) (*ent.OAuthClient, error) {
	p, err := s.Guard.Require(ctx, access.UpdateOAuthClient)
	if err != nil {
		return nil, err
	}
	set, changed, err := changes(in)
	if err != nil {
		return nil, err
	}
	return store.Write(ctx, s.Client, func(ctx context.Context, tx *ent.Client) (*ent.OAuthClient, error) {
		if in.Scopes != nil {
			if err := s.Guard.Ceiling(ctx, p, in.Scopes); err != nil {
				return nil, err
			}
		}
		c, err := tx.OAuthClient.Query().Where(oauthclient.ClientID(clientID)).Only(ctx)
		if err != nil {
			return nil, err
		}
		upd := tx.OAuthClient.UpdateOne(c)
		set(upd)
		if c, err = upd.Save(ctx); err != nil {
			return nil, err
		}
		if err := audit.Record(ctx, tx, audit.Entry{Action: "oauth_client.update", ResourceType: "oauth_client",
			ResourceID: c.ClientID, Details: map[string]any{"fields": changed}}); err != nil {
			return nil, err
		}
		if err := s.Events.Emit(ctx, tx, c.TenantID, webhooks.OAuthClientUpdated, c); err != nil {
			return nil, err
		}
		return c, s.Bus.Publish(ctx, tx, invalidate.For(invalidate.OAuthClient, c.ClientID))
	})
}

// changes checks an update's input, before anything is read, and returns
// what it sets and the names of the fields it changes, for the audit entry.
// New scopes are checked against the caller's in the update's transaction.
func changes(in UpdateOAuthClientInput) (func(*ent.OAuthClientUpdateOne), []string, error) {
	var sets []func(*ent.OAuthClientUpdateOne)
	var changed []string
	add := func(field string, f func(*ent.OAuthClientUpdateOne)) {
		sets, changed = append(sets, f), append(changed, field)
	}
	if in.Name != nil {
		name := strings.TrimSpace(*in.Name)
		if name == "" {
			return nil, nil, apperr.Invalid("name", "required")
		}
		add("name", func(u *ent.OAuthClientUpdateOne) { u.SetName(name) })
	}
	if in.Scopes != nil {
		if len(in.Scopes) == 0 {
			return nil, nil, apperr.Invalid("scopes", "required")
		}
		scopes := access.NewSet(in.Scopes...).List()
		add("scopes", func(u *ent.OAuthClientUpdateOne) { u.SetScopes(scopes) })
	}
	if in.GrantTypes != nil {
		grants, err := checkGrantTypes(in.GrantTypes)
		if err != nil {
			return nil, nil, err
		}
		add("grant_types", func(u *ent.OAuthClientUpdateOne) { u.SetGrantTypes(grants) })
	}
	if in.RedirectURIs != nil {
		uris, err := checkRedirectURIs(in.RedirectURIs)
		if err != nil {
			return nil, nil, err
		}
		add("redirect_uris", func(u *ent.OAuthClientUpdateOne) { u.SetRedirectUris(uris) })
	}
	if in.AccessTokenTTLSeconds != nil {
		ttl, err := checkTTL(in.AccessTokenTTLSeconds)
		if err != nil {
			return nil, nil, err
		}
		add("access_token_ttl_seconds", func(u *ent.OAuthClientUpdateOne) { u.SetAccessTokenTTLSeconds(ttl) })
	}
	if in.Status != nil {
		status := *in.Status
		if err := oauthclient.StatusValidator(status); err != nil {
			return nil, nil, apperr.Invalid("status", "invalid").With("allowed", []string{"active", "disabled"})
		}
		add("status", func(u *ent.OAuthClientUpdateOne) {
			u.SetStatus(status)
			// Tokens issued until now stay refused once the client is enabled again.
			if status == oauthclient.StatusDisabled {
				u.SetTokensNotBefore(store.Now())
			}
		})
	}
	return func(u *ent.OAuthClientUpdateOne) {
		for _, f := range sets {
			f(u)
		}
	}, changed, nil
}

// RotateSecret issues the client a new secret, shown this once; the old
// one, and the access tokens it obtained, keep working for the grace
// period, if any, and stop on every instance when it ends. Whoever
// rotates obtains the secret, hence every scope the client holds: the
// caller must hold them all (the ceiling), or it would gain scopes by
// rotating.
func (s *Clients) RotateSecret(ctx context.Context, clientID string, in *RotateOAuthClientSecretInput) (*CreatedOAuthClient, error) {
	p, err := s.Guard.Require(ctx, access.RotateOAuthClientSecret)
	if err != nil {
		return nil, err
	}
	var seconds *int
	if in != nil {
		seconds = in.GracePeriodSeconds
	}
	grace, err := secret.GraceSeconds(seconds)
	if err != nil {
		return nil, err
	}
	sec, err := NewClientSecret()
	if err != nil {
		return nil, err
	}
	c, err := store.Write(ctx, s.Client, func(ctx context.Context, tx *ent.Client) (*ent.OAuthClient, error) {
		c, err := tx.OAuthClient.Query().Where(oauthclient.ClientID(clientID)).Only(ctx)
		if err != nil {
			return nil, err
		}
		if err := s.Guard.Ceiling(ctx, p, c.Scopes); err != nil {
			return nil, err
		}
		// Conditional on the secret read, as a key's rotation: of two
		// rotations at once, one wins and the other is a 409, never a
		// secret handed out that a concurrent rotation overwrote.
		upd := tx.OAuthClient.UpdateOne(c).Where(oauthclient.SecretVersion(c.SecretVersion)).
			SetSecretHash(secret.Hash(sec)).AddSecretVersion(1)
		if grace > 0 {
			upd.SetPreviousSecretHash(c.SecretHash).SetPreviousSecretExpiresAt(store.Now().Add(time.Duration(grace) * time.Second))
		} else {
			upd.ClearPreviousSecretHash().ClearPreviousSecretExpiresAt()
		}
		if c, err = upd.Save(ctx); ent.IsNotFound(err) {
			return nil, apperr.New(apperr.Conflict, "the client's secret was rotated concurrently; try again")
		} else if err != nil {
			return nil, err
		}
		if err := audit.Record(ctx, tx, audit.Entry{Action: "oauth_client.rotate_secret", ResourceType: "oauth_client",
			ResourceID: c.ClientID, Details: map[string]any{"grace_period_seconds": grace}}); err != nil {
			return nil, err
		}
		if err := s.Events.Emit(ctx, tx, c.TenantID, webhooks.OAuthClientSecretRotated, c); err != nil {
			return nil, err
		}
		return c, s.Bus.Publish(ctx, tx, invalidate.For(invalidate.OAuthClient, c.ClientID))
	})
	if err != nil {
		return nil, err
	}
	return &CreatedOAuthClient{ClientSecret: sec, OauthClient: c}, nil
}

// Delete removes the client; its tokens stop working on every instance
// when the deletion commits. It returns the client_id deleted.
func (s *Clients) Delete(ctx context.Context, clientID string) (string, error) {
	if _, err := s.Guard.Require(ctx, access.DeleteOAuthClient); err != nil {
		return "", err
	}
	_, err := store.Write(ctx, s.Client, func(ctx context.Context, tx *ent.Client) (*ent.OAuthClient, error) {
		c, err := tx.OAuthClient.Query().Where(oauthclient.ClientID(clientID)).Only(ctx)
		if err != nil {
			return nil, err
		}
		if err := tx.OAuthClient.DeleteOne(c).Exec(ctx); err != nil {
			return nil, err
		}
		if err := audit.Record(ctx, tx, audit.Entry{Action: "oauth_client.delete", ResourceType: "oauth_client",
			ResourceID: c.ClientID, Details: map[string]any{"name": c.Name}}); err != nil {
			return nil, err
		}
		if err := s.Events.Emit(ctx, tx, c.TenantID, webhooks.OAuthClientDeleted, c); err != nil {
			return nil, err
		}
		return c, s.Bus.Publish(ctx, tx, invalidate.For(invalidate.OAuthClient, c.ClientID))
	})
	if err != nil {
		return "", err
	}
	return clientID, nil
}

// Get is the tenant's client with clientID (its public client_id).
func (s *Clients) Get(ctx context.Context, clientID string) (*ent.OAuthClient, error) {
	if _, err := s.Guard.Require(ctx, access.ReadOAuthClient); err != nil {
		return nil, err
	}
	return s.Client.OAuthClient.Query().Where(oauthclient.ClientID(clientID)).Only(ctx)
}

// Page is a page of the tenant's clients as a GraphQL connection.
func (s *Clients) Page(ctx context.Context, after *entgql.Cursor[uuid.UUID], first *int, before *entgql.Cursor[uuid.UUID], last *int,
	orderBy *ent.OAuthClientOrder, where *ent.OAuthClientWhereInput) (*ent.OAuthClientConnection, error) {
	if _, err := s.Guard.Require(ctx, access.ListOAuthClients); err != nil {
		return nil, err
	}
	return paging.Connection(ctx, s.Client.OAuthClient.Query(), where.Filter, first, last, paging.Cursors{After: after, Before: before, Order: orderBy},
		func(ctx context.Context, q *ent.OAuthClientQuery, first, last *int) (*ent.OAuthClientConnection, error) {
			return q.Paginate(ctx, after, first, before, last, ent.WithOAuthClientOrder(orderBy))
		}, func(c *ent.OAuthClientConnection) (*int, ent.PageInfo) { return &c.TotalCount, c.PageInfo })
}

// List is one offset page of the tenant's clients matching where, and
// how many match: the REST list.
func (s *Clients) List(ctx context.Context, where *ent.OAuthClientWhereInput, w paging.Window) ([]*ent.OAuthClient, int, error) {
	_, err := s.Guard.Require(ctx, access.ListOAuthClients)
	return paging.List(ctx, s.Client.OAuthClient.Query(), err, where, w,
		func(q *ent.OAuthClientQuery) *ent.OAuthClientQuery { return q.Order(w.Term(), w.Tie()) })
}

// EndTenantTokens ends, with tx, every access token the clients of a
// tenant were issued until now, as disabling each would: none comes back
// when the tenant is active again. The caller invalidates the tenant, which
// drops the clients from every instance's cache.
func EndTenantTokens(ctx context.Context, tx *ent.Client, tenantID uuid.UUID, now time.Time) error {
	return tx.OAuthClient.Update().Where(oauthclient.TenantID(tenantID)).SetTokensNotBefore(now).Exec(ctx)
}

// checkGrantTypes accepts the supported grant types only.
func checkGrantTypes(grants []string) ([]string, error) {
	if len(grants) == 0 {
		return []string{GrantClientCredentials}, nil
	}
	for _, g := range grants {
		if g != GrantClientCredentials {
			return nil, apperr.Invalid("grant_types", "unsupported").With("value", g).
				With("allowed", []string{GrantClientCredentials})
		}
	}
	return []string{GrantClientCredentials}, nil
}

// Bounds of a client's redirect URIs, which every read of the client
// carries: they took any number and length.
const (
	maxRedirectURIs   = 100
	maxRedirectURILen = 2048
)

// checkRedirectURIs accepts absolute https URIs, and http ones on localhost,
// at most maxRedirectURIs of at most maxRedirectURILen bytes.
func checkRedirectURIs(uris []string) ([]string, error) {
	if len(uris) > maxRedirectURIs {
		return nil, apperr.Invalid("redirect_uris", "too_long").With("max_entries", maxRedirectURIs)
	}
	out := make([]string, 0, len(uris))
	for _, u := range uris {
		if len(u) > maxRedirectURILen {
			return nil, apperr.Invalid("redirect_uris", "too_long").With("max_length", maxRedirectURILen)
		}
		parsed, err := url.Parse(u)
		ok := err == nil && parsed.IsAbs() && parsed.Host != "" && parsed.Fragment == "" &&
			(parsed.Scheme == "https" || (parsed.Scheme == "http" && isLoopback(parsed.Hostname())))
		if !ok {
			return nil, apperr.Invalid("redirect_uris", "must be absolute https, or http on localhost").With("value", u)
		}
		out = append(out, u)
	}
	return out, nil
}

func isLoopback(host string) bool {
	return host == "localhost" || host == "127.0.0.1" || host == "::1" || strings.HasSuffix(host, ".localhost")
}

// checkTTL bounds an access-token lifetime.
func checkTTL(ttl *int) (int, error) {
	if ttl == nil {
		return defaultTokenTTL, nil
	}
	if *ttl < minTokenTTL || *ttl > maxTokenTTL {
		return 0, apperr.Invalid("access_token_ttl_seconds", "out of range").With("min", minTokenTTL).With("max", maxTokenTTL)
	}
	return *ttl, nil
}
