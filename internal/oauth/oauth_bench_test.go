package oauth_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/credvault/credvault/internal/access"
	"github.com/credvault/credvault/internal/audit"
	"github.com/credvault/credvault/internal/identity/tokens"
	"github.com/credvault/credvault/internal/oauth"
	"github.com/credvault/credvault/internal/platform/invalidate"
	"github.com/credvault/credvault/internal/platform/metrics"
	"github.com/credvault/credvault/internal/platform/secret"
	"github.com/credvault/credvault/internal/platform/store"
	"github.com/credvault/credvault/internal/platform/store/storetest"
	"github.com/credvault/credvault/internal/vault/crypt"
)

// fixture is an authorization server on a fresh SQLite database with one
// tenant and one client.
type fixture struct {
	s       *oauth.Server
	st      *store.Store
	bus     *invalidate.Bus
	id, sec string
}

func newFixture(tb testing.TB) *fixture {
	tb.Helper()
	st := storetest.Open(tb, "sqlite")
	ctx := context.Background()
	uctx := store.Unrestricted(ctx)
	t, err := st.Client.Tenant.Create().SetName("Bench").SetSlug("bench").Save(uctx)
	if err != nil {
		tb.Fatal(err)
	}
	id, err := oauth.NewClientID()
	if err != nil {
		tb.Fatal(err)
	}
	sec, err := oauth.NewClientSecret()
	if err != nil {
		tb.Fatal(err)
	}
	err = st.Client.OAuthClient.Create().SetTenantID(t.ID).SetClientID(id).SetName("bench").SetSecretHash(secret.Hash(sec)).
		SetScopes([]string{"api_keys:read", "oauth_clients:read"}).SetGrantTypes([]string{oauth.GrantClientCredentials}).
		SetRedirectUris([]string{}).Exec(uctx)
	if err != nil {
		tb.Fatal(err)
	}
	master, err := crypt.GenerateMasterKey()
	if err != nil {
		tb.Fatal(err)
	}
	keys, err := tokens.NewKeyring(ctx, st.Client, master, "http://bench.example")
	if err != nil {
		tb.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	bus, err := invalidate.New(st.Dialect, "", logger)
	if err != nil {
		tb.Fatal(err)
	}
	s, err := oauth.New(ctx, oauth.Config{DB: st.Client, Keys: keys, Bus: bus, Metrics: metrics.New(), Audit: audit.NewBatcher(st.Client, logger),
		Authenticate: func(context.Context, *http.Request) (*access.Principal, error) { return nil, nil }})
	if err != nil {
		tb.Fatal(err)
	}
	return &fixture{s: s, st: st, bus: bus, id: id, sec: sec}
}

// benchServer returns the fixture's server and client credentials.
func benchServer(b *testing.B) (*oauth.Server, string, string) {
	f := newFixture(b)
	return f.s, f.id, f.sec
}

func benchToken(b testing.TB, s *oauth.Server, id, sec string) string {
	b.Helper()
	rec := httptest.NewRecorder()
	s.Token(rec, tokenRequest(id, sec))
	if rec.Code != http.StatusOK {
		b.Fatalf("token: %d", rec.Code)
	}
	var out struct {
		AccessToken string `json:"access_token"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || out.AccessToken == "" {
		b.Fatalf("token: %v", err)
	}
	return out.AccessToken
}

func tokenRequest(id, sec string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/oauth/token", strings.NewReader(url.Values{"grant_type": {"client_credentials"}}.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r.SetBasicAuth(id, sec)
	return r
}

// BenchmarkVerifyAccessToken is the hot path of every API call made with an
// access token: signature, claims, revoked set and the client's state from a
// warm cache.
func BenchmarkVerifyAccessToken(b *testing.B) {
	s, id, sec := benchServer(b)
	tok := benchToken(b, s, id, sec)
	ctx := context.Background()
	if p, err := s.VerifyAccessToken(ctx, tok); err != nil || p.ClientID != id {
		b.Fatalf("verify: %v", err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := s.VerifyAccessToken(ctx, tok); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkVerifyAccessTokenParallel is the same from every core at once.
func BenchmarkVerifyAccessTokenParallel(b *testing.B) {
	s, id, sec := benchServer(b)
	tok := benchToken(b, s, id, sec)
	ctx := context.Background()
	if _, err := s.VerifyAccessToken(ctx, tok); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.VerifyAccessToken(ctx, tok); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkTokenHandler is the token endpoint's own cost, without the
// router and middleware: client lookup, secret check, signing.
func BenchmarkTokenHandler(b *testing.B) {
	s, id, sec := benchServer(b)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		rec := httptest.NewRecorder()
		s.Token(rec, tokenRequest(id, sec))
		if rec.Code != http.StatusOK {
			b.Fatalf("token: %d", rec.Code)
		}
	}
}
