// Package ipallow checks client addresses against allowlists of CIDRs: a
// key's own, and its tenant's, which applies to every credential of the
// tenant.
package ipallow

import (
	"context"
	"net/netip"
	"strings"

	"github.com/credvault/credvault/internal/platform/apperr"
	"github.com/credvault/credvault/internal/platform/reqinfo"
)

// List is an allowlist; an empty list allows every address.
type List []netip.Prefix

// Parse reads CIDRs as stored; entries that do not parse are dropped (input
// is validated before it is stored).
func Parse(cidrs []string) List {
	out := make(List, 0, len(cidrs))
	for _, s := range cidrs {
		if p, err := netip.ParsePrefix(s); err == nil {
			out = append(out, p)
		}
	}
	return out
}

// Allows reports whether ip may use a credential under l. An unknown
// address is allowed only by an empty list.
func (l List) Allows(ip netip.Addr) bool {
	if len(l) == 0 {
		return true
	}
	if !ip.IsValid() {
		return false
	}
	for _, p := range l {
		if p.Contains(ip.Unmap()) {
			return true
		}
	}
	return false
}

// ClientIP is the address of the request in ctx, or the zero Addr.
func ClientIP(ctx context.Context) netip.Addr {
	ip, _ := netip.ParseAddr(reqinfo.FromContext(ctx).IP)
	return ip
}

// MaxEntries bounds an allowlist: every request a credential makes is
// checked against its key's list and its tenant's.
const MaxEntries = 1000

// Normalize checks an allowlist as a client writes it in field — CIDRs, or
// single addresses, at most MaxEntries — and returns it as stored: each
// entry a masked CIDR. An entry that is neither is a VALIDATION_ERROR
// naming it (details.value).
func Normalize(field string, list []string) ([]string, error) {
	if len(list) > MaxEntries {
		return nil, apperr.Invalid(field, "too_long").With("max_entries", MaxEntries)
	}
	out := make([]string, 0, len(list))
	for _, s := range list {
		s = strings.TrimSpace(s)
		var p netip.Prefix
		var err error
		if strings.Contains(s, "/") {
			p, err = netip.ParsePrefix(s)
		} else {
			var a netip.Addr
			if a, err = netip.ParseAddr(s); err == nil {
				p = netip.PrefixFrom(a, a.BitLen())
			}
		}
		if err != nil {
			return nil, apperr.Invalid(field, "invalid").With("value", s)
		}
		out = append(out, p.Masked().String())
	}
	return out, nil
}
