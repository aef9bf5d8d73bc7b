// Package audit records who did what. A mutation's entry is written with the
// same transactional client as the mutation, so both commit or neither does.
package audit

import (
	"context"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/ent/auditlog"
	"github.com/credvault/credvault/internal/access"
	"github.com/credvault/credvault/internal/platform/reqinfo"
	"github.com/credvault/credvault/internal/platform/store"
)

// The outcomes of an audited action.
const (
	Success = auditlog.OutcomeSuccess
	Failure = auditlog.OutcomeFailure
	Denied  = auditlog.OutcomeDenied
)

// Entry is what happened; the actor and the request come from the context.
type Entry struct {
	// Action names what was done, as "<resource>.<verb>", such as "api_key.create".
	Action       string
	ResourceType string
	ResourceID   string
	Outcome      auditlog.Outcome
	// Details adds context. Keys that name secrets are dropped, whatever their value.
	Details map[string]any
	// TenantID records the entry in a tenant other than the context's, such as
	// a failed login before anyone is authenticated.
	TenantID uuid.UUID
}

// Record writes e with client: pass the transactional client of the change
// being recorded. The entry's actor is the principal in ctx, or "anonymous".
func Record(ctx context.Context, client *ent.Client, e Entry) error {
	actorType, actorID := actorOf(ctx)
	if e.Outcome == "" {
		e.Outcome = Success
	}
	create := newCreate(client, actorType, actorID, reqinfo.FromContext(ctx), e)
	if e.TenantID != uuid.Nil {
		create.SetTenantID(e.TenantID)
		ctx = store.Unrestricted(ctx)
	}
	if err := create.Exec(ctx); err != nil {
		return fmt.Errorf("audit: record %s: %w", e.Action, err)
	}
	return nil
}

// newCreate is the insert of e by the actor in the request info describes.
func newCreate(client *ent.Client, actorType, actorID string, info *reqinfo.Info, e Entry) *ent.AuditLogCreate {
	return client.AuditLog.Create().
		SetAction(e.Action).
		SetResourceType(e.ResourceType).
		SetResourceID(e.ResourceID).
		SetOutcome(e.Outcome).
		SetActorType(actorType).
		SetActorID(actorID).
		SetRequestID(info.RequestID).
		SetIP(info.IP).
		SetUserAgent(store.Text(info.UserAgent, 512)).
		SetDetails(scrub(e.Details))
}

// actorOf returns the type and id of the principal in ctx, or "anonymous".
func actorOf(ctx context.Context) (actorType, actorID string) {
	p, ok := access.FromContext(ctx)
	if !ok {
		return "anonymous", ""
	}
	if p.ID != uuid.Nil {
		actorID = p.ID.String()
	}
	return string(p.Kind), actorID
}

// secretWords mark detail keys whose values must never be stored.
var secretWords = []string{"secret", "password", "token", "key", "data", "plaintext", "ciphertext", "hash", "authorization"}

// harmlessKeys contain a secret word but hold no secret.
var harmlessKeys = map[string]bool{"key_id": true, "api_key_id": true, "token_type": true, "prefix": true,
	"prompt_tokens": true, "completion_tokens": true}

func scrub(details map[string]any) map[string]any {
	out := make(map[string]any, len(details))
	for k, v := range details {
		lk := strings.ToLower(k)
		if !harmlessKeys[lk] && containsAny(lk, secretWords) {
			continue
		}
		out[k] = v
	}
	return out
}

func containsAny(s string, words []string) bool {
	for _, w := range words {
		if strings.Contains(s, w) {
			return true
		}
	}
	return false
}
