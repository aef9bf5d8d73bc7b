package config_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/credvault/credvault/internal/platform/config"
)

// TestSSORedirectOrigins: the origins are read from the variable or the
// flag, lower-cased without a trailing slash; anything but an origin is
// refused, naming the variable.
func TestSSORedirectOrigins(t *testing.T) {
	c := load(t, nil, map[string]string{"CREDVAULT_SSO_REDIRECT_ORIGINS": " https://Console.Acme.io/ , http://localhost:3000"})
	if want := []string{"https://console.acme.io", "http://localhost:3000"}; !slices.Equal(c.SSORedirectOrigins, want) {
		t.Fatalf("origins %v, want %v", c.SSORedirectOrigins, want)
	}
	c = load(t, []string{"--sso-redirect-origins", "https://app.example"}, map[string]string{"CREDVAULT_SSO_REDIRECT_ORIGINS": "https://other.example"})
	if !slices.Equal(c.SSORedirectOrigins, []string{"https://app.example"}) {
		t.Fatalf("the flag did not win: %v", c.SSORedirectOrigins)
	}
	for _, bad := range []string{"app.example", "ftp://app.example", "https://app.example/path", "https://app.example?x=1", "https://u@app.example"} {
		_, err := config.Load(nil, envOf(map[string]string{"CREDVAULT_SSO_REDIRECT_ORIGINS": bad}))
		if err == nil || !strings.Contains(err.Error(), "CREDVAULT_SSO_REDIRECT_ORIGINS") {
			t.Errorf("%q: err %v, want one naming CREDVAULT_SSO_REDIRECT_ORIGINS", bad, err)
		}
	}
}
