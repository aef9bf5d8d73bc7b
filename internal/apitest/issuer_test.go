package apitest_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"

	"github.com/golang-jwt/jwt/v5"
	"golang.org/x/oauth2/clientcredentials"

	"github.com/credvault/credvault/internal/platform/config"
	"github.com/credvault/credvault/internal/platform/store"
	"github.com/credvault/credvault/internal/platform/store/storetest"
	"github.com/credvault/credvault/internal/vault/crypt"
	"github.com/credvault/credvault/server"
)

// serveAsMain starts the server on st as main does: the configuration
// loaded from vars alone (CREDVAULT_ADDR ":0" unless set), the listener
// opened by server.Listen, then served. It returns the URL a client on
// this machine uses: http://localhost:PORT.
func serveAsMain(t *testing.T, st *store.Store, vars map[string]string) string {
	t.Helper()
	env := map[string]string{"CREDVAULT_ADDR": ":0"}
	for k, v := range vars {
		env[k] = v
	}
	cfg, err := config.Load(nil, func(name string) string { return env[name] })
	if err != nil {
		t.Fatal(err)
	}
	master, err := crypt.GenerateMasterKey()
	if err != nil {
		t.Fatal(err)
	}
	ln, err := server.Listen(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := server.Bootstrap(context.Background(), st, cfg.AdminEmail, cfg.AdminPassword, cfg.Argon2); err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(context.Background(), cfg, st, server.Keys{Master: master}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return fmt.Sprintf("http://localhost:%d", ln.Addr().(*net.TCPAddr).Port)
}

// postJSON posts body to url with an optional bearer token and decodes
// the envelope's data into out, failing unless the status is want.
func postJSON(t *testing.T, url, bearer string, body any, want int, out any) {
	t.Helper()
	raw, _ := json.Marshal(body)
	req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(raw))
	req.Header.Set("Content-Type", "application/json")
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != want {
		t.Fatalf("POST %s: %d %s", url, resp.StatusCode, redact(b))
	}
	var env struct{ Data json.RawMessage }
	if err := json.Unmarshal(b, &env); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(env.Data, out); err != nil {
		t.Fatal(err)
	}
}

func getJSON(t *testing.T, url, bearer string, out any) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if out != nil {
		if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
			t.Fatalf("GET %s: %v", url, err)
		}
	}
	return resp.StatusCode
}

// TestIssuerIsTheListenAddress runs a server with no public URL on a port
// the system picks, and discovers it as a client does (RFC 8414 §3): the
// metadata fetched from http://localhost:PORT names that very URL as its
// issuer, its endpoints work, and the tokens they issue carry it as iss,
// verified with the advertised JWKS.
func TestIssuerIsTheListenAddress(t *testing.T) {
	t.Parallel()
	storetest.EachParallel(t, func(t *testing.T, st *store.Store) {
		base := serveAsMain(t, st, map[string]string{"CREDVAULT_RATE_LIMITS": "off"})

		var reg struct {
			AccessToken string `json:"access_token"`
		}
		postJSON(t, base+"/api/v1/auth/register", "", map[string]any{"tenant_name": "Issuer " + randTag(),
			"email": "iss-" + randTag() + "@example.com", "password": "correct horse battery"}, http.StatusCreated, &reg)
		var client clientJSON
		postJSON(t, base+"/api/v1/oauth-clients", reg.AccessToken,
			map[string]any{"name": "discovery", "scopes": []string{"api_keys:read"}}, http.StatusCreated, &client)

		var meta struct {
			Issuer        string `json:"issuer"`
			TokenEndpoint string `json:"token_endpoint"`
			JWKSURI       string `json:"jwks_uri"`
		}
		if s := getJSON(t, base+"/.well-known/oauth-authorization-server", "", &meta); s != http.StatusOK {
			t.Fatalf("metadata: %d", s)
		}
		// RFC 8414 §3.3: the issuer must be identical to the URL the
		// metadata was fetched from, or the client rejects it.
		if meta.Issuer != base {
			t.Fatalf("metadata at %s names the issuer %q", base, meta.Issuer)
		}
		if meta.TokenEndpoint != base+"/oauth/token" || meta.JWKSURI != base+"/.well-known/jwks.json" {
			t.Fatalf("endpoints %q and %q are not on %s", meta.TokenEndpoint, meta.JWKSURI, base)
		}

		cc := clientcredentials.Config{ClientID: client.ClientID, ClientSecret: client.ClientSecret, TokenURL: meta.TokenEndpoint}
		tok, err := cc.Token(context.Background())
		if err != nil {
			t.Fatalf("client credentials at the discovered endpoint: %v", err)
		}
		var set struct {
			Keys []struct {
				Kid string `json:"kid"`
				Crv string `json:"crv"`
				X   string `json:"x"`
			} `json:"keys"`
		}
		if s := getJSON(t, meta.JWKSURI, "", &set); s != http.StatusOK {
			t.Fatalf("jwks: %d", s)
		}
		claims := jwt.MapClaims{}
		_, err = jwt.ParseWithClaims(tok.AccessToken, claims, func(tk *jwt.Token) (any, error) {
			for _, k := range set.Keys {
				if k.Kid == tk.Header["kid"] && k.Crv == "Ed25519" {
					x, err := base64.RawURLEncoding.DecodeString(k.X)
					return ed25519.PublicKey(x), err
				}
			}
			return nil, errors.New("kid not in the JWKS")
		}, jwt.WithIssuer(meta.Issuer), jwt.WithValidMethods([]string{"EdDSA"}))
		if err != nil {
			t.Fatalf("the access token does not verify against the discovered issuer and keys: %v (iss %v)", err, claims["iss"])
		}
		if s := getJSON(t, base+"/api/v1/auth/me", tok.AccessToken, nil); s != http.StatusOK {
			t.Fatalf("the discovered token is refused: %d", s)
		}
	})
}
