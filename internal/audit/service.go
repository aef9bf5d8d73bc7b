package audit

import (
	"context"
	"io"

	"entgo.io/contrib/entgql"
	"github.com/google/uuid"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/ent/auditlog"
	"github.com/credvault/credvault/ent/predicate"
	"github.com/credvault/credvault/internal/access"
	"github.com/credvault/credvault/internal/platform/paging"
)

// Trail lists the audit trail: the root list and the audit-log edges of the
// graph. It owns the rules of reading it, so GraphQL and REST both call it
// and neither repeats a rule.
type Trail struct {
	Client *ent.Client
	Guard  Guard
}

// Guard checks a principal against an operation (package authz's Guard,
// which records its refusals here, so this package cannot import it).
type Guard interface {
	Require(ctx context.Context, op access.Operation) (*access.Principal, error)
}

// Query is the tenant's audit trail, for a principal holding audit:read;
// the data layer keeps it to the request's tenant.
func (t *Trail) Query(ctx context.Context) (*ent.AuditLogQuery, error) {
	if _, err := t.Guard.Require(ctx, access.ListAuditLogs); err != nil {
		return nil, err
	}
	return t.Client.AuditLog.Query(), nil
}

// List is one offset page of the tenant's audit trail, filtered by where.
func (t *Trail) List(ctx context.Context, where *ent.AuditLogWhereInput, w paging.Window) ([]*ent.AuditLog, int, error) {
	q, err := t.Query(ctx)
	return paging.List(ctx, q, err, where, w, func(q *ent.AuditLogQuery) *ent.AuditLogQuery { return q.Order(w.Term(), w.Tie()) })
}

// Export writes the tenant's audit trail that where selects to w in
// format f, for a principal holding audit:read: see Export. A refusal
// comes before anything is written.
func (t *Trail) Export(ctx context.Context, where *ent.AuditLogWhereInput, f Format, w io.Writer) (int, error) {
	if _, err := t.Guard.Require(ctx, access.ExportAuditLogs); err != nil {
		return 0, err
	}
	return Export(ctx, t.Client, where, f, w)
}

// Page is one connection page of the tenant's audit trail narrowed by
// preds (ByUser, AboutAPIKey, …), newest first unless ordered otherwise: the root
// list and every audit-log edge (SPEC §10) page alike, under audit:read.
func (t *Trail) Page(ctx context.Context, after *entgql.Cursor[uuid.UUID], first *int, before *entgql.Cursor[uuid.UUID], last *int,
	orderBy *ent.AuditLogOrder, where *ent.AuditLogWhereInput, preds ...predicate.AuditLog) (*ent.AuditLogConnection, error) {
	q, err := t.Query(ctx)
	if err != nil {
		return nil, err
	}
	if orderBy == nil {
		orderBy = &ent.AuditLogOrder{Field: ent.AuditLogOrderFieldOccurredAt, Direction: entgql.OrderDirectionDesc}
	}
	return paging.Connection(ctx, q.Where(preds...), where.Filter, first, last, paging.Cursors{After: after, Before: before, Order: orderBy},
		func(ctx context.Context, q *ent.AuditLogQuery, first, last *int) (*ent.AuditLogConnection, error) {
			return q.Paginate(ctx, after, first, before, last, ent.WithAuditLogOrder(orderBy))
		}, func(c *ent.AuditLogConnection) (*int, ent.PageInfo) { return &c.TotalCount, c.PageInfo })
}

// ByUser narrows the trail to what user u did: the User's auditLogs.
func ByUser(u *ent.User) predicate.AuditLog {
	return auditlog.And(auditlog.ActorTypeEQ(string(access.KindUser)), auditlog.ActorIDEQ(u.ID.String()))
}

// AboutAPIKey narrows the trail to what was done to key k.
func AboutAPIKey(k *ent.APIKey) predicate.AuditLog { return about("api_key", k.ID.String()) }

// AboutOAuthClient narrows the trail to what was done to client c, whose
// entries name it by its client_id, as its REST paths do.
func AboutOAuthClient(c *ent.OAuthClient) predicate.AuditLog {
	return about("oauth_client", c.ClientID)
}

// AboutCredential narrows the trail to what was done to credential c.
func AboutCredential(c *ent.Credential) predicate.AuditLog { return about("credential", c.ID.String()) }

// AboutWebhook narrows the trail to what was done to endpoint w.
func AboutWebhook(w *ent.Webhook) predicate.AuditLog { return about("webhook", w.ID.String()) }

func about(resourceType, id string) predicate.AuditLog {
	return auditlog.And(auditlog.ResourceTypeEQ(resourceType), auditlog.ResourceIDEQ(id))
}
