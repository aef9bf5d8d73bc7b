package graph

import (
	"context"
	"net/url"
	"strings"

	"github.com/credvault/credvault/internal/platform/paging"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/internal/access"
	"github.com/credvault/credvault/internal/oauth"
	"github.com/credvault/credvault/internal/platform/apperr"
)

// Access-token lifetimes a client may ask for.
const (
	minTokenTTL     = 60
	maxTokenTTL     = 86400
	defaultTokenTTL = 3600
)

// OAuthClientsQuery is the tenant's OAuth clients, for a principal holding
// oauth_clients:read.
func (r *Resolver) OAuthClientsQuery(ctx context.Context) (*ent.OAuthClientQuery, error) {
	if _, err := r.require(ctx, access.OAuthClientsRead); err != nil {
		return nil, err
	}
	return r.Store.Client.OAuthClient.Query(), nil
}

// ListOAuthClients is one offset page of the tenant's OAuth clients.
func (r *Resolver) ListOAuthClients(ctx context.Context, where *ent.OAuthClientWhereInput, w paging.Window) ([]*ent.OAuthClient, int, error) {
	q, err := r.OAuthClientsQuery(ctx)
	return paging.List(ctx, q, err, where, w, func(q *ent.OAuthClientQuery) *ent.OAuthClientQuery { return q.Order(w.Term(), w.Tie()) })
}

// checkGrantTypes accepts the supported grant types only.
func checkGrantTypes(grants []string) ([]string, error) {
	if len(grants) == 0 {
		return []string{oauth.GrantClientCredentials}, nil
	}
	for _, g := range grants {
		if g != oauth.GrantClientCredentials {
			return nil, apperr.Invalid("grant_types", "unsupported").With("value", g).
				With("allowed", []string{oauth.GrantClientCredentials})
		}
	}
	return []string{oauth.GrantClientCredentials}, nil
}

// checkRedirectURIs accepts absolute https URIs, and http ones on localhost.
func checkRedirectURIs(uris []string) ([]string, error) {
	out := make([]string, 0, len(uris))
	for _, s := range uris {
		u, err := url.Parse(s)
		ok := err == nil && u.IsAbs() && u.Host != "" && u.Fragment == "" &&
			(u.Scheme == "https" || (u.Scheme == "http" && isLoopback(u.Hostname())))
		if !ok {
			return nil, apperr.Invalid("redirect_uris", "must be absolute https, or http on localhost").With("value", s)
		}
		out = append(out, s)
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
