// Package reqinfo carries facts about the HTTP request being served — its id,
// the client address and user agent — to logs, audit entries and envelopes.
package reqinfo

import "context"

// Info describes the request being served.
type Info struct {
	RequestID string
	IP        string
	UserAgent string
	// Realm is the realmname header: the tenant slug a login names.
	Realm string
	// Principal is "kind:id" once authentication has run, for the access log,
	// which wraps the authentication middleware and so cannot see its context.
	Principal string
}

type ctxKey struct{}

// NewContext returns a context carrying info.
func NewContext(ctx context.Context, info *Info) context.Context {
	return context.WithValue(ctx, ctxKey{}, info)
}

// FromContext returns the request info of ctx, or an empty Info.
func FromContext(ctx context.Context) *Info {
	if info, ok := ctx.Value(ctxKey{}).(*Info); ok && info != nil {
		return info
	}
	return &Info{}
}
