package webhooks_test

// The SSRF guard on its own, without a server: which URLs Targets.Check
// accepts for each address class and setting, and which addresses the
// delivery dialer refuses after resolution.

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/credvault/credvault/internal/platform/apperr"
	"github.com/credvault/credvault/internal/webhooks"
)

// noDNS resolves names from /etc/hosts only: any DNS query fails, so the
// tests need no network.
var noDNS = &net.Resolver{PreferGo: true, Dial: func(context.Context, string, string) (net.Conn, error) {
	return nil, errors.New("no DNS in this test")
}}

// internalHosts are hosts, as a URL writes them, of every address class
// the guard refuses.
var internalHosts = map[string]string{
	"loopback":                "127.0.0.1",
	"loopback, not .1":        "127.1.2.3",
	"loopback v6":             "[::1]",
	"private 10/8":            "10.0.0.1",
	"private 172.16/12":       "172.16.0.1",
	"private 172.16/12 end":   "172.31.255.255",
	"private 192.168/16":      "192.168.1.1",
	"link-local":              "169.254.169.254",
	"link-local v6":           "[fe80::1]",
	"unique-local":            "[fd00::1]",
	"unique-local fc":         "[fc00::1]",
	"unspecified":             "0.0.0.0",
	"unspecified v6":          "[::]",
	"this network":            "0.1.2.3",
	"multicast":               "224.0.0.1",
	"multicast SSDP":          "239.255.255.250",
	"multicast v6":            "[ff02::1]",
	"multicast v6 global":     "[ff0e::1]",
	"broadcast":               "255.255.255.255",
	"reserved 240/4":          "240.0.0.1",
	"shared CGNAT":            "100.64.0.1",
	"benchmarking":            "198.18.0.1",
	"IETF protocol":           "192.0.0.8",
	"v4-mapped loopback":      "[::ffff:127.0.0.1]",
	"v4-mapped private":       "[::ffff:10.0.0.1]",
	"NAT64 of a private":      "[64:ff9b::a00:1]",
	"discard-only":            "[100::1]",
	"loopback with a port":    "127.0.0.1:8443",
	"loopback v6 with a port": "[::1]:8443",
}

// publicHosts are hosts of public addresses, next to the refused ranges.
var publicHosts = []string{"1.1.1.1", "8.8.8.8", "172.32.0.1", "172.15.255.255", "192.169.0.1", "100.128.0.1",
	"11.0.0.1", "223.255.255.254", "[2606:4700:4700::1111]", "[2001:4860:4860::8888]", "8.8.8.8:8443"}

// wantURLRefused fails unless err is a 422 naming url with reason.
func wantURLRefused(t *testing.T, raw string, err error, reason string) {
	t.Helper()
	var ae *apperr.Error
	if !errors.As(err, &ae) {
		t.Fatalf("%s: %v, want a validation error", raw, err)
	}
	if ae.Code != apperr.Validation || ae.Code.Status() != 422 || ae.Details["field"] != "url" {
		t.Fatalf("%s: %s %v, want VALIDATION_ERROR (422) naming url", raw, ae.Code, ae.Details)
	}
	if reason != "" && ae.Details["reason"] != reason {
		t.Fatalf("%s: reason %q, want %q", raw, ae.Details["reason"], reason)
	}
}

// TestTargetsRefuseInternalAddresses: without AllowPrivate every internal
// address class is refused as a private address; public ones pass.
func TestTargetsRefuseInternalAddresses(t *testing.T) {
	g := webhooks.Targets{HTTPSOnly: true, Resolver: noDNS}
	for class, host := range internalHosts {
		raw := "https://" + host + "/hook"
		_, err := g.Check(context.Background(), raw)
		t.Run(class, func(t *testing.T) { wantURLRefused(t, raw, err, "private address") })
	}
	for _, host := range publicHosts {
		raw := "https://" + host + "/hook?x=1"
		got, err := g.Check(context.Background(), raw)
		if err != nil || got != raw {
			t.Errorf("%s: %q %v, want it accepted as is", raw, got, err)
		}
	}
}

// TestTargetsResolveNames: a name is checked by what it resolves to — one
// that resolves to an internal address is refused, one that does not
// resolve is refused too, and AllowPrivate skips the look-up.
func TestTargetsResolveNames(t *testing.T) {
	g := webhooks.Targets{Resolver: noDNS}
	_, err := g.Check(context.Background(), "https://localhost:8443/hook")
	wantURLRefused(t, "localhost", err, "private address")
	_, err = g.Check(context.Background(), "https://LocalHost/hook")
	wantURLRefused(t, "LocalHost", err, "private address")
	_, err = g.Check(context.Background(), "https://hooks.credvault.invalid/in")
	wantURLRefused(t, "an unresolvable name", err, "host does not resolve")

	open := webhooks.Targets{AllowPrivate: true, Resolver: noDNS}
	for _, raw := range []string{"https://localhost/hook", "https://hooks.credvault.invalid/in", "http://10.0.0.1/in", "http://[::1]:9/in"} {
		if got, err := open.Check(context.Background(), raw); err != nil || got != raw {
			t.Errorf("AllowPrivate: %s: %q %v, want it accepted", raw, got, err)
		}
	}
}

// TestTargetsSchemesAndShapes: http only when HTTPSOnly is off, never
// another scheme, credentials, a relative URL or one without a host; the
// fragment is dropped and spaces trimmed.
func TestTargetsSchemesAndShapes(t *testing.T) {
	for _, g := range []webhooks.Targets{{AllowPrivate: true}, {HTTPSOnly: true, AllowPrivate: true}, {HTTPSOnly: true, Resolver: noDNS}} {
		for _, raw := range []string{"ftp://1.1.1.1/in", "file:///etc/passwd", "gopher://1.1.1.1/", "javascript:alert(1)",
			"https://user:pass@1.1.1.1/in", "https://user@1.1.1.1/in", "/relative/path", "1.1.1.1/in", "https:///in",
			"https:1.1.1.1/in", "", "   ", "http://[::1/in"} {
			if _, err := g.Check(context.Background(), raw); err == nil {
				t.Errorf("%+v accepts %q", g, raw)
			} else {
				wantURLRefused(t, raw, err, "")
			}
		}
		got, err := g.Check(context.Background(), "  https://1.1.1.1/in?a=b#section  ")
		if err != nil || got != "https://1.1.1.1/in?a=b" {
			t.Errorf("%+v: %q %v, want the URL trimmed and without its fragment", g, got, err)
		}
	}
	_, err := webhooks.Targets{HTTPSOnly: true, AllowPrivate: true}.Check(context.Background(), "http://1.1.1.1/in")
	wantURLRefused(t, "http in production", err, "must be https")
	if got, err := (webhooks.Targets{Resolver: noDNS}).Check(context.Background(), "http://1.1.1.1/in"); err != nil || got != "http://1.1.1.1/in" {
		t.Errorf("http outside production: %q %v, want it accepted", got, err)
	}
}

// dialAddr is the address a connection to host dials: host:port, port 443
// when the URL gives none.
func dialAddr(host string) string {
	if _, _, err := net.SplitHostPort(host); err == nil {
		return host
	}
	return net.JoinHostPort(strings.Trim(host, "[]"), "443")
}

// TestTargetsDialerRefusesInternalAddresses: the delivery dialer checks
// the address each connection dials, after resolution, so a name that
// resolves elsewhere later is still refused; with AllowPrivate it checks
// nothing.
func TestTargetsDialerRefusesInternalAddresses(t *testing.T) {
	d := webhooks.Targets{HTTPSOnly: true}.Dialer(time.Second)
	if d.Control == nil {
		t.Fatal("the dialer of a guarded target has no Control")
	}
	for class, host := range internalHosts {
		addr := dialAddr(host)
		if err := d.Control("tcp", addr, nil); err == nil || !strings.Contains(err.Error(), "internal address") {
			t.Errorf("%s: dialling %s: %v, want it refused", class, addr, err)
		}
	}
	for _, host := range publicHosts {
		addr := dialAddr(host)
		if err := d.Control("tcp", addr, nil); err != nil {
			t.Errorf("dialling %s: %v, want it allowed", addr, err)
		}
	}
	if err := d.Control("tcp", "not an address", nil); err == nil {
		t.Error("an address that does not parse is dialled")
	}

	// A real dial to a loopback listener never connects.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan struct{}, 1)
	go func() {
		if c, err := ln.Accept(); err == nil {
			accepted <- struct{}{}
			c.Close()
		}
	}()
	_, port, _ := net.SplitHostPort(ln.Addr().String())
	for _, target := range []string{ln.Addr().String(), "localhost:" + port} {
		if c, err := d.DialContext(context.Background(), "tcp", target); err == nil {
			c.Close()
			t.Fatalf("dialled %s", target)
		} else if !strings.Contains(err.Error(), "internal address") {
			t.Fatalf("dialling %s: %v, want it refused by the guard", target, err)
		}
	}
	select {
	case <-accepted:
		t.Fatal("the loopback listener accepted a connection")
	default:
	}

	open := webhooks.Targets{AllowPrivate: true}.Dialer(time.Second)
	if open.Control != nil {
		t.Fatal("AllowPrivate still checks the dialled address")
	}
	c, err := open.DialContext(context.Background(), "tcp", ln.Addr().String())
	if err != nil {
		t.Fatalf("AllowPrivate: %v", err)
	}
	c.Close()
	select {
	case <-accepted:
	case <-time.After(5 * time.Second):
		t.Fatal("AllowPrivate: the listener saw no connection")
	}
}
