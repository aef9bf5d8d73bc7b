package audit_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/ent/auditlog"
	"github.com/credvault/credvault/ent/user"
	"github.com/credvault/credvault/internal/access"
	"github.com/credvault/credvault/internal/audit"
	"github.com/credvault/credvault/internal/platform/reqinfo"
	"github.com/credvault/credvault/internal/platform/store"
	"github.com/credvault/credvault/internal/platform/store/storetest"
)

func newTenant(t *testing.T, c *ent.Client, name string) uuid.UUID {
	t.Helper()
	tn, err := c.Tenant.Create().SetName(name).SetSlug(strings.ToLower(name) + "-" + uuid.NewString()[:8]).
		Save(store.Unrestricted(context.Background()))
	if err != nil {
		t.Fatal(err)
	}
	return tn.ID
}

// entries returns the tenant's audit entries, looked up across tenants.
func entries(t *testing.T, c *ent.Client, tid uuid.UUID) []*ent.AuditLog {
	t.Helper()
	es, err := c.AuditLog.Query().Where(auditlog.TenantID(tid)).All(store.Unrestricted(context.Background()))
	if err != nil {
		t.Fatal(err)
	}
	return es
}

func TestRecord(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		t.Parallel()
		c := st.Client
		a := newTenant(t, c, "A")
		actor := &access.Principal{Kind: access.KindAPIKey, ID: uuid.New(), TenantID: a, HomeTenantID: a,
			Scopes: access.NewSet(access.APIKeysWrite)}
		ctx := access.NewContext(context.Background(), actor)
		ctx = reqinfo.NewContext(ctx, &reqinfo.Info{
			RequestID: "req-123", IP: "203.0.113.9", UserAgent: "curl/8.5 " + strings.Repeat("x", 600),
		})
		keyID := uuid.NewString()
		err := audit.Record(ctx, c, audit.Entry{
			Action: "api_key.create", ResourceType: "api_key", ResourceID: keyID,
			Details: map[string]any{
				"key_id":        keyID,
				"api_key_id":    keyID,
				"prefix":        "abcd1234",
				"token_type":    "Bearer",
				"name":          "deploy key",
				"scopes":        []any{"api_keys:read"},
				"password":      "hunter2-password",
				"client_secret": "cs-secret-value",
				"api_key":       "cvk_the-key-itself",
				"Authorization": "Bearer abc",
				"refresh_token": "rt-value",
				"data":          map[string]any{"token": "inner"},
				"key_hash":      "deadbeef",
				"NewPassword":   "other-password",
			},
		})
		if err != nil {
			t.Fatalf("Record: %v", err)
		}
		es := entries(t, c, a)
		if len(es) != 1 {
			t.Fatalf("%d entries, want 1", len(es))
		}
		e := es[0]
		checks := []struct {
			name      string
			got, want any
		}{
			{"tenant_id", e.TenantID, a},
			{"actor_type", e.ActorType, "api_key"},
			{"actor_id", e.ActorID, actor.ID.String()},
			{"action", e.Action, "api_key.create"},
			{"resource_type", e.ResourceType, "api_key"},
			{"resource_id", e.ResourceID, keyID},
			{"outcome", e.Outcome, auditlog.OutcomeSuccess},
			{"request_id", e.RequestID, "req-123"},
			{"ip", e.IP, "203.0.113.9"},
			{"len(user_agent)", len(e.UserAgent), 512},
		}
		for _, ch := range checks {
			if ch.got != ch.want {
				t.Errorf("%s = %v, want %v", ch.name, ch.got, ch.want)
			}
		}
		if !strings.HasPrefix(e.UserAgent, "curl/8.5 ") {
			t.Errorf("user_agent = %.20q…", e.UserAgent)
		}
		if e.OccurredAt.IsZero() {
			t.Error("occurred_at is not set")
		}
		kept := []string{"key_id", "api_key_id", "prefix", "token_type", "name", "scopes"}
		for _, k := range kept {
			if _, ok := e.Details[k]; !ok {
				t.Errorf("details lost harmless key %q", k)
			}
		}
		if e.Details["key_id"] != keyID {
			t.Errorf("details.key_id = %v", e.Details["key_id"])
		}
		if len(e.Details) != len(kept) {
			t.Errorf("details hold %d keys, want only %v: %v", len(e.Details), kept, keysOf(e.Details))
		}
		for _, secret := range []string{"hunter2", "cs-secret-value", "cvk_the-key-itself", "Bearer abc", "rt-value", "inner", "deadbeef", "other-password"} {
			for k, v := range e.Details {
				if strings.Contains(strings.ToLower(k+" "+toString(v)), strings.ToLower(secret)) {
					t.Errorf("details keep the secret value of %q", k)
				}
			}
		}
	})
}

func keysOf(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func toString(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	return ""
}

func TestRecordActors(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		t.Parallel()
		c := st.Client
		a, b := newTenant(t, c, "A"), newTenant(t, c, "B")

		// The system principal has no id of its own.
		if err := audit.Record(access.NewContext(context.Background(), access.System(a)), c,
			audit.Entry{Action: "job.run", Outcome: audit.Failure}); err != nil {
			t.Fatal(err)
		}
		// Before anyone is authenticated: anonymous, in the tenant named by the entry.
		if err := audit.Record(context.Background(), c,
			audit.Entry{Action: "auth.login", Outcome: audit.Denied, TenantID: b, Details: map[string]any{"email": "x@example.com"}}); err != nil {
			t.Fatal(err)
		}
		// Without a principal and without a tenant there is nowhere to record it.
		if err := audit.Record(context.Background(), c, audit.Entry{Action: "auth.login"}); err == nil {
			t.Error("an entry without any tenant was recorded")
		}

		ea := entries(t, c, a)
		if len(ea) != 1 || ea[0].ActorType != "system" || ea[0].ActorID != "" || ea[0].Outcome != auditlog.OutcomeFailure {
			t.Errorf("system entry = %+v", ea)
		}
		if len(ea) == 1 && (ea[0].RequestID != "" || ea[0].IP != "" || len(ea[0].Details) != 0) {
			t.Errorf("system entry outside a request has request fields: %+v", ea[0])
		}
		eb := entries(t, c, b)
		if len(eb) != 1 || eb[0].ActorType != "anonymous" || eb[0].ActorID != "" ||
			eb[0].Outcome != auditlog.OutcomeDenied || eb[0].Details["email"] != "x@example.com" {
			t.Errorf("anonymous entry = %+v", eb)
		}
	})
}

func TestRecordInRolledBackTransaction(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		t.Parallel()
		c := st.Client
		a := newTenant(t, c, "A")
		ctx := access.NewContext(context.Background(), access.System(a))

		errAbort := errors.New("abort")
		err := store.WithTx(ctx, c, func(ctx context.Context, tx *ent.Client) error {
			u, err := tx.User.Create().SetEmail("gone@example.com").SetRole(user.RoleMember).Save(ctx)
			if err != nil {
				return err
			}
			if err := audit.Record(ctx, tx, audit.Entry{Action: "user.create", ResourceType: "user", ResourceID: u.ID.String()}); err != nil {
				return err
			}
			return errAbort
		})
		if !errors.Is(err, errAbort) {
			t.Fatalf("WithTx = %v", err)
		}
		if es := entries(t, c, a); len(es) != 0 {
			t.Errorf("%d audit entries survived the rollback", len(es))
		}
		if n, err := c.User.Query().Count(ctx); err != nil || n != 0 {
			t.Errorf("%d users (%v) survived the rollback", n, err)
		}

		// The same work committed leaves both the change and its entry.
		var uid uuid.UUID
		err = store.WithTx(ctx, c, func(ctx context.Context, tx *ent.Client) error {
			u, err := tx.User.Create().SetEmail("kept@example.com").SetRole(user.RoleMember).Save(ctx)
			if err != nil {
				return err
			}
			uid = u.ID
			return audit.Record(ctx, tx, audit.Entry{Action: "user.create", ResourceType: "user", ResourceID: u.ID.String()})
		})
		if err != nil {
			t.Fatal(err)
		}
		es := entries(t, c, a)
		if len(es) != 1 || es[0].ResourceID != uid.String() {
			t.Errorf("entries after commit = %+v, want one for user %s", es, uid)
		}
	})
}
