package webhooks

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"

	"github.com/credvault/credvault/internal/platform/apperr"
)

// Targets is the SSRF guard of SPEC §11: which endpoint URLs are allowed,
// checked when an endpoint is saved and again on the address each
// connection dials, so a name that resolves elsewhere later (DNS
// rebinding) is still refused.
type Targets struct {
	// HTTPSOnly refuses http:// endpoints (production).
	HTTPSOnly bool
	// AllowPrivate allows loopback, private, link-local and the other
	// internal addresses (development, and tests).
	AllowPrivate bool
	// Resolver looks host names up; nil is net.DefaultResolver.
	Resolver *net.Resolver
}

// resolveTimeout bounds the look-up of an endpoint's host when it is saved.
const resolveTimeout = 5 * time.Second

// errPrivateAddress is a connection refused by the guard.
var errPrivateAddress = errors.New("webhook endpoint resolves to a loopback, private or otherwise internal address")

// Check validates an endpoint URL: absolute http(s), no user info, and,
// unless private addresses are allowed, a host that resolves only to
// public addresses. A refusal is a 422 naming url.
func (g Targets) Check(ctx context.Context, raw string) (string, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || !u.IsAbs() || u.Host == "" || u.Opaque != "" {
		return "", apperr.Invalid("url", "must be an absolute http or https URL")
	}
	switch {
	case u.Scheme == "https":
	case u.Scheme == "http" && !g.HTTPSOnly:
	case u.Scheme == "http":
		return "", apperr.Invalid("url", "must be https")
	default:
		return "", apperr.Invalid("url", "must be an absolute http or https URL")
	}
	if u.User != nil {
		return "", apperr.Invalid("url", "must not hold credentials")
	}
	u.Fragment = ""
	if g.AllowPrivate {
		return u.String(), nil
	}
	host := u.Hostname()
	if ip, err := netip.ParseAddr(host); err == nil {
		if internal(ip) {
			return "", apperr.Invalid("url", "private address").With("host", host)
		}
		return u.String(), nil
	}
	ctx, cancel := context.WithTimeout(ctx, resolveTimeout)
	defer cancel()
	addrs, err := g.resolver().LookupNetIP(ctx, "ip", host)
	if err != nil || len(addrs) == 0 {
		return "", apperr.Invalid("url", "host does not resolve").With("host", host)
	}
	for _, a := range addrs {
		if internal(a) {
			return "", apperr.Invalid("url", "private address").With("host", host)
		}
	}
	return u.String(), nil
}

func (g Targets) resolver() *net.Resolver {
	if g.Resolver != nil {
		return g.Resolver
	}
	return net.DefaultResolver
}

// Dialer returns the dialer of deliveries: unless private addresses are
// allowed, its Control refuses an internal address after resolution, on
// every connection.
func (g Targets) Dialer(timeout time.Duration) *net.Dialer {
	d := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second, Resolver: g.Resolver}
	if !g.AllowPrivate {
		d.Control = func(_, address string, _ syscall.RawConn) error {
			ap, err := netip.ParseAddrPort(address)
			if err != nil {
				return fmt.Errorf("webhook dial %q: %w", address, err)
			}
			if internal(ap.Addr()) {
				return errPrivateAddress
			}
			return nil
		}
	}
	return d
}

// internal reports whether a is an address no endpoint may have: loopback,
// private, link-local, unique-local, multicast, unspecified, and the
// shared (CGNAT), benchmarking and reserved ranges.
func internal(a netip.Addr) bool {
	a = a.Unmap()
	if a.IsLoopback() || a.IsPrivate() || a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() ||
		a.IsInterfaceLocalMulticast() || a.IsMulticast() || a.IsUnspecified() || !a.IsValid() {
		return true
	}
	for _, p := range reserved {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

var reserved = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("192.0.0.0/24"),
	netip.MustParsePrefix("198.18.0.0/15"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("64:ff9b::/96"),
	netip.MustParsePrefix("100::/64"),
}
