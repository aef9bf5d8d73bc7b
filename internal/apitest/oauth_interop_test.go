package apitest_test

// Interoperability: the standard Go OAuth 2.0 client library
// (golang.org/x/oauth2/clientcredentials) gets tokens from CredVault and
// calls the API with them, with each client authentication style.

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"testing"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/credvault/credvault/internal/apitest"
)

func TestOAuthInteropClientCredentials(t *testing.T) {
	t.Parallel()
	apitest.Each(t, func(t *testing.T, e *apitest.Env) {
		tn := register(t, e, "Interop Co")
		c := tn.createClient(t, map[string]any{"name": "x/oauth2", "scopes": []string{"api_keys:read", "oauth_clients:read"}, "access_token_ttl_seconds": 300})
		ctx := context.WithValue(context.Background(), oauth2.HTTPClient, e.Server.Client())

		me := func(t *testing.T, hc *http.Client) meJSON {
			t.Helper()
			resp, err := hc.Get(e.Server.URL + "/api/v1/auth/me")
			if err != nil {
				t.Fatalf("GET /auth/me through the oauth2 transport: %v", err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("GET /auth/me: %d %s", resp.StatusCode, redact(body))
			}
			var env struct {
				Data meJSON `json:"data"`
			}
			if err := json.Unmarshal(body, &env); err != nil {
				t.Fatal(err)
			}
			return env.Data
		}

		for _, style := range []struct {
			name  string
			style oauth2.AuthStyle
		}{
			{"auto-detect", oauth2.AuthStyleAutoDetect},
			{"in params (client_secret_post)", oauth2.AuthStyleInParams},
			{"in header (client_secret_basic)", oauth2.AuthStyleInHeader},
		} {
			t.Run(style.name, func(t *testing.T) {
				cfg := clientcredentials.Config{ClientID: c.ClientID, ClientSecret: c.ClientSecret,
					TokenURL: e.Server.URL + "/oauth/token", Scopes: []string{"oauth_clients:read"}, AuthStyle: style.style}
				tok, err := cfg.Token(ctx)
				if err != nil {
					t.Fatalf("Token: %v", err)
				}
				if tok.TokenType != "Bearer" || !tok.Valid() {
					t.Errorf("token type %q valid %v", tok.TokenType, tok.Valid())
				}
				if d := time.Until(tok.Expiry); d < 290*time.Second || d > 310*time.Second {
					t.Errorf("expiry in %v, want about 300s", d)
				}
				if got := tok.Extra("scope"); got != "oauth_clients:read" {
					t.Errorf("scope %v", got)
				}
				got := me(t, cfg.Client(ctx))
				if got.PrincipalType != "oauth_client" || got.ClientID == nil || *got.ClientID != c.ClientID || got.Tenant.ID != tn.TenantID.String() {
					t.Errorf("/auth/me: %+v", got)
				}
				if !slices.Equal(got.Scopes, []string{"oauth_clients:read"}) {
					t.Errorf("scopes %v, want the requested [oauth_clients:read]", got.Scopes)
				}
			})
		}

		t.Run("all of the client's scopes when none are asked", func(t *testing.T) {
			cfg := clientcredentials.Config{ClientID: c.ClientID, ClientSecret: c.ClientSecret, TokenURL: e.Server.URL + "/oauth/token"}
			if got := me(t, cfg.Client(ctx)); !slices.Equal(got.Scopes, []string{"api_keys:read", "oauth_clients:read"}) {
				t.Errorf("scopes %v", got.Scopes)
			}
			// The transport reuses its token: a second call issues none.
			hc := cfg.Client(ctx)
			before := counterSum(t, e, "credvault_oauth_token_requests_total", map[string]string{"result": "issued"})
			me(t, hc)
			me(t, hc)
			if after := counterSum(t, e, "credvault_oauth_token_requests_total", map[string]string{"result": "issued"}); after != before+1 {
				t.Errorf("two calls through one client issued %v tokens, want 1", after-before)
			}
		})

		t.Run("errors surface as RFC 6749 errors", func(t *testing.T) {
			for _, tc := range []struct {
				name   string
				cfg    clientcredentials.Config
				code   string
				status int
			}{
				{"wrong secret", clientcredentials.Config{ClientID: c.ClientID, ClientSecret: "cvcs_wrong", AuthStyle: oauth2.AuthStyleInHeader}, "invalid_client", 401},
				{"wrong secret in params", clientcredentials.Config{ClientID: c.ClientID, ClientSecret: "cvcs_wrong", AuthStyle: oauth2.AuthStyleInParams}, "invalid_client", 401},
				{"scope not granted", clientcredentials.Config{ClientID: c.ClientID, ClientSecret: c.ClientSecret, Scopes: []string{"audit:read"}}, "invalid_scope", 400},
			} {
				tc.cfg.TokenURL = e.Server.URL + "/oauth/token"
				_, err := tc.cfg.Token(ctx)
				var re *oauth2.RetrieveError
				if !errors.As(err, &re) {
					t.Fatalf("%s: error %T, want *oauth2.RetrieveError", tc.name, err)
				}
				if re.ErrorCode != tc.code || re.Response.StatusCode != tc.status || re.ErrorDescription == "" {
					t.Errorf("%s: %d %q %q, want %d %q with a description", tc.name, re.Response.StatusCode, re.ErrorCode, re.ErrorDescription, tc.status, tc.code)
				}
			}
		})
	})
}
