package apikeys

// The verifier on SQLite and PostgreSQL: what a key is worth (valid, or why
// not), when the database is asked, how long a cached answer lives, and
// what drops it.

import (
	"context"
	"errors"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/ent/apikey"
	"github.com/credvault/credvault/ent/auditlog"
	"github.com/credvault/credvault/ent/schema/schematype"
	"github.com/credvault/credvault/ent/serviceaccount"
	"github.com/credvault/credvault/ent/tenant"
	"github.com/credvault/credvault/ent/user"
	"github.com/credvault/credvault/internal/access"
	"github.com/credvault/credvault/internal/platform/apperr"
	"github.com/credvault/credvault/internal/platform/invalidate"
	"github.com/credvault/credvault/internal/platform/reqinfo"
	"github.com/credvault/credvault/internal/platform/secret"
	"github.com/credvault/credvault/internal/platform/store"
)

// lookups returns how many API key queries ran since the last call's mark.
func (f *fixture) lookupsSince(mark int64) int64 { return f.queries.Load() - mark }

func TestCheckRefusesMalformedKeysWithoutALookup(t *testing.T) {
	t.Parallel()
	eachFixture(t, func(t *testing.T, f *fixture) {
		good := newSecret(t)
		for name, key := range map[string]string{
			"empty":          "",
			"prefix only":    Prefix,
			"31 chars":       Prefix + strings.Repeat("a", 31),
			"upper prefix":   "CVK_" + good[len(Prefix):],
			"other prefix":   "cvx_" + good[len(Prefix):],
			"129 chars":      Prefix + strings.Repeat("a", 125),
			"jwt":            "eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ4In0.c2ln",
			"leading space":  " " + good,
			"no underscore":  "cvk" + good[len(Prefix):],
			"prefix in body": "x" + good,
		} {
			mark := f.queries.Load()
			res := f.check(t, key, "")
			if res.Reason != ReasonInvalid || res.KeyID != uuid.Nil || res.Valid() {
				t.Errorf("%s: reason %q key %v, want invalid with no key", name, res.Reason, res.KeyID)
			}
			if n := f.lookupsSince(mark); n != 0 {
				t.Errorf("%s: %d database look-ups, want none for a malformed key", name, n)
			}
		}
	})
}

func TestCheckUnknownKeyIsRememberedForTenSeconds(t *testing.T) {
	t.Parallel()
	eachFixture(t, func(t *testing.T, f *fixture) {
		key := newSecret(t)
		mark := f.queries.Load()
		expectReason(t, f.check(t, key, ""), ReasonInvalid, uuid.Nil)
		if n := f.lookupsSince(mark); n != 1 {
			t.Fatalf("first check: %d look-ups, want 1", n)
		}
		f.clock.Advance(10 * time.Second)
		expectReason(t, f.check(t, key, ""), ReasonInvalid, uuid.Nil)
		if n := f.lookupsSince(mark); n != 1 {
			t.Fatalf("within 10 s: %d look-ups, want the negative answer cached (1)", n)
		}
		f.clock.Advance(time.Millisecond)
		expectReason(t, f.check(t, key, ""), ReasonInvalid, uuid.Nil)
		if n := f.lookupsSince(mark); n != 2 {
			t.Fatalf("after 10 s: %d look-ups, want the negative answer reloaded (2)", n)
		}
	})
}

func TestCheckValidKeyIsServedFromTheCache(t *testing.T) {
	t.Parallel()
	eachFixture(t, func(t *testing.T, f *fixture) {
		exp := f.clock.Now().Add(time.Hour)
		key, k := f.newKey(t, func(c *ent.APIKeyCreate) {
			// Out of canonical order, to see the result normalised.
			c.SetScopes([]string{"audit:read", "api_keys:read"}).SetExpiresAt(exp).
				SetRateLimitRequests(10).SetRateLimitWindowSeconds(60)
		})
		mark := f.queries.Load()
		res := f.check(t, key, "")
		expectReason(t, res, "", k.ID)
		if res.TenantID != f.tenant.ID {
			t.Errorf("tenant = %v, want %v", res.TenantID, f.tenant.ID)
		}
		if want := []string{"api_keys:read", "audit:read"}; !slices.Equal(res.Scopes, want) {
			t.Errorf("scopes = %v, want %v", res.Scopes, want)
		}
		if res.ExpiresAt == nil || !res.ExpiresAt.Equal(exp) {
			t.Errorf("expires_at = %v, want %v", res.ExpiresAt, exp)
		}
		if res.RateLimit == nil || res.RateLimit.Requests != 10 || res.RateLimit.Window != time.Minute {
			t.Errorf("rate limit = %+v, want 10 per minute", res.RateLimit)
		}
		for range 50 {
			expectReason(t, f.check(t, key, ""), "", k.ID)
		}
		if n := f.lookupsSince(mark); n != 1 {
			t.Fatalf("51 checks of a hot key: %d look-ups, want 1", n)
		}
	})
}

// Without a notification the cache serves a key for at most a minute: the
// TTL bounds staleness should a notification be lost.
func TestCheckCachedKeyIsReloadedAfterAMinute(t *testing.T) {
	t.Parallel()
	eachFixture(t, func(t *testing.T, f *fixture) {
		key, k := f.newKey(t)
		expectReason(t, f.check(t, key, ""), "", k.ID)
		if err := f.st.Client.APIKey.UpdateOneID(k.ID).SetStatus(apikey.StatusRevoked).Exec(f.ctx); err != nil {
			t.Fatal(err)
		}
		mark := f.queries.Load()
		f.clock.Advance(time.Minute)
		expectReason(t, f.check(t, key, ""), "", k.ID)
		if n := f.lookupsSince(mark); n != 0 {
			t.Fatalf("within the TTL: %d look-ups, want the cached entry", n)
		}
		f.clock.Advance(time.Millisecond)
		expectReason(t, f.check(t, key, ""), ReasonRevoked, k.ID)
		if n := f.lookupsSince(mark); n != 1 {
			t.Fatalf("after the TTL: %d look-ups, want 1", n)
		}
	})
}

func TestCheckInvalidationTopics(t *testing.T) {
	t.Parallel()
	eachFixture(t, func(t *testing.T, f *fixture) {
		revoke := func(id uuid.UUID) {
			t.Helper()
			if err := f.st.Client.APIKey.UpdateOneID(id).SetStatus(apikey.StatusRevoked).Exec(f.ctx); err != nil {
				t.Fatal(err)
			}
		}

		// api_key:<id> drops that key, and only that key.
		key1, k1 := f.newKey(t)
		key2, k2 := f.newKey(t)
		expectReason(t, f.check(t, key1, ""), "", k1.ID)
		expectReason(t, f.check(t, key2, ""), "", k2.ID)
		revoke(k1.ID)
		f.publish(t, invalidate.APIKey, k1.ID.String())
		expectReason(t, f.check(t, key1, ""), ReasonRevoked, k1.ID)
		mark := f.queries.Load()
		f.publish(t, invalidate.APIKey, uuid.NewString())
		f.publish(t, invalidate.APIKey, "not-a-uuid")
		f.publish(t, invalidate.Tenant, uuid.NewString())
		f.publish(t, "unknown_kind", k2.ID.String())
		expectReason(t, f.check(t, key2, ""), "", k2.ID)
		if n := f.lookupsSince(mark); n != 0 {
			t.Fatalf("topics of other keys and tenants dropped key 2 (%d look-ups)", n)
		}

		// tenant:<id> drops every key of the tenant.
		other := f.newTenant(t)
		key3, k3 := f.newKey(t, func(c *ent.APIKeyCreate) { c.SetTenantID(other.ID) })
		key4, k4 := f.newKey(t, func(c *ent.APIKeyCreate) { c.SetTenantID(other.ID) })
		expectReason(t, f.check(t, key3, ""), "", k3.ID)
		expectReason(t, f.check(t, key4, ""), "", k4.ID)
		if err := f.st.Client.Tenant.UpdateOneID(other.ID).SetStatus(tenant.StatusSuspended).Exec(f.ctx); err != nil {
			t.Fatal(err)
		}
		f.publish(t, invalidate.Tenant, other.ID.String())
		expectReason(t, f.check(t, key3, ""), ReasonRevoked, k3.ID)
		expectReason(t, f.check(t, key4, ""), ReasonRevoked, k4.ID)
		expectReason(t, f.check(t, key2, ""), "", k2.ID)

		// all drops everything (a reconnected listener may have missed topics).
		revoke(k2.ID)
		f.publish(t, invalidate.All, "")
		expectReason(t, f.check(t, key2, ""), ReasonRevoked, k2.ID)
	})
}

// A change published inside a transaction reaches the cache when the
// transaction commits, and never when it rolls back.
func TestCheckInvalidationInATransactionWaitsForCommit(t *testing.T) {
	t.Parallel()
	eachFixture(t, func(t *testing.T, f *fixture) {
		key, k := f.newKey(t)
		expectReason(t, f.check(t, key, ""), "", k.ID)
		revokeIn := func(ctx context.Context, tx *ent.Client) error {
			if err := tx.APIKey.UpdateOneID(k.ID).SetStatus(apikey.StatusRevoked).Exec(ctx); err != nil {
				return err
			}
			return f.bus.Publish(ctx, tx, invalidate.For(invalidate.APIKey, k.ID.String()))
		}
		rollback := errors.New("roll back")
		mark := f.queries.Load()
		err := store.WithTx(f.ctx, f.st.Client, func(ctx context.Context, tx *ent.Client) error {
			if err := revokeIn(ctx, tx); err != nil {
				return err
			}
			// Not committed yet: the cached entry stands.
			expectReason(t, f.check(t, key, ""), "", k.ID)
			return rollback
		})
		if !errors.Is(err, rollback) {
			t.Fatalf("rolled-back transaction: %v", err)
		}
		expectReason(t, f.check(t, key, ""), "", k.ID)
		if n := f.lookupsSince(mark); n != 0 {
			t.Fatalf("a rolled-back change dropped the cache (%d look-ups)", n)
		}
		if err := store.WithTx(f.ctx, f.st.Client, revokeIn); err != nil {
			t.Fatal(err)
		}
		expectReason(t, f.check(t, key, ""), ReasonRevoked, k.ID)
	})
}

func TestCheckExpiryIsRecheckedOnEveryCall(t *testing.T) {
	t.Parallel()
	eachFixture(t, func(t *testing.T, f *fixture) {
		exp := f.clock.Now().Add(10 * time.Second)
		key, k := f.newKey(t, func(c *ent.APIKeyCreate) { c.SetExpiresAt(exp) })
		mark := f.queries.Load()
		expectReason(t, f.check(t, key, ""), "", k.ID)
		f.clock.Advance(10*time.Second - time.Microsecond)
		expectReason(t, f.check(t, key, ""), "", k.ID)
		f.clock.Advance(time.Microsecond)
		res := f.check(t, key, "")
		expectReason(t, res, ReasonExpired, k.ID)
		if res.ExpiresAt == nil || !res.ExpiresAt.Equal(exp) {
			t.Errorf("expires_at = %v, want %v", res.ExpiresAt, exp)
		}
		if n := f.lookupsSince(mark); n != 1 {
			t.Fatalf("%d look-ups, want 1: expiry is checked on the cached entry", n)
		}
	})
}

func TestCheckRotatedOutSecretWorksThroughItsGracePeriod(t *testing.T) {
	t.Parallel()
	eachFixture(t, func(t *testing.T, f *fixture) {
		old := newSecret(t)
		current, k := f.newKey(t, func(c *ent.APIKeyCreate) {
			c.SetPreviousKeyHash(secret.Hash(old)).SetPreviousKeyExpiresAt(f.clock.Now().Add(30 * time.Second))
		})
		expectReason(t, f.check(t, old, ""), "", k.ID)
		expectReason(t, f.check(t, current, ""), "", k.ID)
		f.clock.Advance(30*time.Second - time.Microsecond)
		expectReason(t, f.check(t, old, ""), "", k.ID)
		f.clock.Advance(time.Microsecond)
		expectReason(t, f.check(t, old, ""), ReasonRevoked, k.ID)
		expectReason(t, f.check(t, current, ""), "", k.ID)

		// A previous secret without an end to its grace does not work at all.
		old2 := newSecret(t)
		current2, k2 := f.newKey(t, func(c *ent.APIKeyCreate) { c.SetPreviousKeyHash(secret.Hash(old2)) })
		expectReason(t, f.check(t, old2, ""), ReasonRevoked, k2.ID)
		expectReason(t, f.check(t, current2, ""), "", k2.ID)
	})
}

func TestCheckRefusesKeysThatMayNotBeUsed(t *testing.T) {
	t.Parallel()
	eachFixture(t, func(t *testing.T, f *fixture) {
		// Revoked.
		key, k := f.newKey(t, func(c *ent.APIKeyCreate) { c.SetStatus(apikey.StatusRevoked) })
		expectReason(t, f.check(t, key, ""), ReasonRevoked, k.ID)

		// Revoked and past its expiry: revoked wins.
		key, k = f.newKey(t, func(c *ent.APIKeyCreate) {
			c.SetStatus(apikey.StatusRevoked).SetExpiresAt(f.clock.Now().Add(-time.Hour))
		})
		expectReason(t, f.check(t, key, ""), ReasonRevoked, k.ID)

		// Expired.
		key, k = f.newKey(t, func(c *ent.APIKeyCreate) { c.SetExpiresAt(f.clock.Now().Add(-time.Second)) })
		expectReason(t, f.check(t, key, ""), ReasonExpired, k.ID)

		// Its service account is disabled.
		sa, err := f.st.Client.ServiceAccount.Create().SetTenantID(f.tenant.ID).SetName("sa").
			SetScopes([]string{"api_keys:read"}).SetStatus(serviceaccount.StatusDisabled).Save(f.ctx)
		if err != nil {
			t.Fatal(err)
		}
		key, k = f.newKey(t, func(c *ent.APIKeyCreate) { c.SetServiceAccountID(sa.ID) })
		expectReason(t, f.check(t, key, ""), ReasonRevoked, k.ID)

		// Its tenant is suspended, or deleted.
		for _, st := range []tenant.Status{tenant.StatusSuspended, tenant.StatusDeleted} {
			tn := f.newTenant(t)
			if err := f.st.Client.Tenant.UpdateOneID(tn.ID).SetStatus(st).Exec(f.ctx); err != nil {
				t.Fatal(err)
			}
			key, k = f.newKey(t, func(c *ent.APIKeyCreate) { c.SetTenantID(tn.ID) })
			res := f.check(t, key, "")
			expectReason(t, res, ReasonRevoked, k.ID)
			if res.TenantID != tn.ID {
				t.Errorf("tenant %s: result tenant %v, want %v", st, res.TenantID, tn.ID)
			}
		}
	})
}

func TestCheckIPAllowlists(t *testing.T) {
	t.Parallel()
	eachFixture(t, func(t *testing.T, f *fixture) {
		key, k := f.newKey(t, func(c *ent.APIKeyCreate) {
			c.SetIPAllowlist([]string{"10.0.0.0/8", "2001:db8::/32"})
		})
		for ip, want := range map[string]string{
			"10.1.2.3":        "",
			"::ffff:10.1.2.3": "", // IPv4-mapped, as a dual-stack listener reports it
			"2001:db8::1":     "",
			"127.0.0.1":       ReasonIPNotAllowed,
			"11.0.0.1":        ReasonIPNotAllowed,
			"::1":             ReasonIPNotAllowed,
			"":                ReasonIPNotAllowed, // unknown client address: an allowlist cannot pass it
		} {
			if res := f.check(t, key, ip); res.Reason != want || res.KeyID != k.ID {
				t.Errorf("from %q: reason %q, want %q", ip, res.Reason, want)
			}
		}

		// No allowlist: any address, known or not.
		open, ko := f.newKey(t)
		for _, ip := range []string{"127.0.0.1", "203.0.113.9", "::1", ""} {
			expectReason(t, f.check(t, open, ip), "", ko.ID)
		}

		// The tenant's allowlist applies to every key of the tenant.
		tn := f.newTenant(t)
		settings := schematype.DefaultTenantSettings()
		settings.IPAllowlist = []string{"192.168.0.0/16"}
		if err := f.st.Client.Tenant.UpdateOneID(tn.ID).SetSettings(settings).Exec(f.ctx); err != nil {
			t.Fatal(err)
		}
		tk, kt := f.newKey(t, func(c *ent.APIKeyCreate) { c.SetTenantID(tn.ID) })
		expectReason(t, f.check(t, tk, "192.168.7.7"), "", kt.ID)
		expectReason(t, f.check(t, tk, "127.0.0.1"), ReasonIPNotAllowed, kt.ID)
		// Both lists must pass.
		both, kb := f.newKey(t, func(c *ent.APIKeyCreate) {
			c.SetTenantID(tn.ID).SetIPAllowlist([]string{"192.168.1.0/24"})
		})
		expectReason(t, f.check(t, both, "192.168.1.5"), "", kb.ID)
		expectReason(t, f.check(t, both, "192.168.2.5"), ReasonIPNotAllowed, kb.ID)
	})
}

func TestVerifyReturnsThePrincipal(t *testing.T) {
	t.Parallel()
	eachFixture(t, func(t *testing.T, f *fixture) {
		ctx := reqinfo.NewContext(context.Background(), &reqinfo.Info{IP: "127.0.0.1", RequestID: "req-1"})
		u, err := f.st.Client.User.Create().SetTenantID(f.tenant.ID).SetEmail("owner@example.com").
			SetRole(user.RoleOwner).Save(f.ctx)
		if err != nil {
			t.Fatal(err)
		}
		ukey, uk := f.newKey(t, func(c *ent.APIKeyCreate) {
			c.SetUserID(u.ID).SetScopes([]string{"credentials:read", "api_keys:write"})
		})
		p, err := f.v.Verify(ctx, ukey)
		if err != nil {
			t.Fatalf("verify a user's key: %v", err)
		}
		want := access.Principal{Kind: access.KindAPIKey, ID: uk.ID, APIKeyID: uk.ID, TenantID: f.tenant.ID,
			HomeTenantID: f.tenant.ID, UserID: u.ID}
		if p.Kind != want.Kind || p.ID != want.ID || p.APIKeyID != want.APIKeyID || p.TenantID != want.TenantID ||
			p.HomeTenantID != want.HomeTenantID || p.UserID != want.UserID || p.ServiceAccountID != uuid.Nil {
			t.Errorf("user key principal = %+v, want %+v", *p, want)
		}
		if got := p.Scopes.List(); !slices.Equal(got, []string{"api_keys:write", "credentials:read"}) {
			t.Errorf("scopes = %v", got)
		}

		sa, err := f.st.Client.ServiceAccount.Create().SetTenantID(f.tenant.ID).SetName("ci").
			SetScopes([]string{"api_keys:read"}).Save(f.ctx)
		if err != nil {
			t.Fatal(err)
		}
		skey, sk := f.newKey(t, func(c *ent.APIKeyCreate) { c.SetServiceAccountID(sa.ID) })
		p, err = f.v.Verify(ctx, skey)
		if err != nil {
			t.Fatalf("verify a service account's key: %v", err)
		}
		if p.Kind != access.KindServiceAccount || p.ID != sa.ID || p.APIKeyID != sk.ID ||
			p.ServiceAccountID != sa.ID || p.TenantID != f.tenant.ID {
			t.Errorf("service account key principal = %+v", *p)
		}

		// Both uses are noted, and written by the next flush.
		if err := f.usage.Flush(f.ctx); err != nil {
			t.Fatal(err)
		}
		if f.lastUsed(t, uk.ID) == nil || f.lastUsed(t, sk.ID) == nil {
			t.Errorf("last_used_at after a flush: user key %v, service account key %v; want both set",
				f.lastUsed(t, uk.ID), f.lastUsed(t, sk.ID))
		}
	})
}

func TestVerifyRefusalIsUnauthorizedAndAudited(t *testing.T) {
	t.Parallel()
	eachFixture(t, func(t *testing.T, f *fixture) {
		ctx := reqinfo.NewContext(context.Background(), &reqinfo.Info{IP: "127.0.0.1", RequestID: "req-refused"})
		key, k := f.newKey(t, func(c *ent.APIKeyCreate) { c.SetStatus(apikey.StatusRevoked) })
		_, err := f.v.Verify(ctx, key)
		expectUnauthorized(t, err, ReasonRevoked)
		if err := f.refused.Flush(f.ctx); err != nil {
			t.Fatal(err)
		}

		entries, qerr := f.st.Client.AuditLog.Query().Where(auditlog.TenantID(f.tenant.ID), auditlog.Action("api_key.verify")).All(f.ctx)
		if qerr != nil {
			t.Fatal(qerr)
		}
		if len(entries) != 1 {
			t.Fatalf("%d api_key.verify entries, want 1", len(entries))
		}
		a := entries[0]
		if a.Outcome != auditlog.OutcomeFailure || a.ResourceID != k.ID.String() || a.ResourceType != "api_key" ||
			a.Details["reason"] != ReasonRevoked || a.RequestID != "req-refused" || a.IP != "127.0.0.1" {
			t.Errorf("audit entry = outcome %s resource %s/%s details %v request %q ip %q",
				a.Outcome, a.ResourceType, a.ResourceID, a.Details, a.RequestID, a.IP)
		}

		// From an address outside the allowlist.
		key, _ = f.newKey(t, func(c *ent.APIKeyCreate) { c.SetIPAllowlist([]string{"10.0.0.0/8"}) })
		_, err = f.v.Verify(ctx, key)
		expectUnauthorized(t, err, ReasonIPNotAllowed)

		// A key that matches no row: refused, with no tenant to audit in.
		before, qerr := f.st.Client.AuditLog.Query().Count(f.ctx)
		if qerr != nil {
			t.Fatal(qerr)
		}
		_, err = f.v.Verify(ctx, newSecret(t))
		expectUnauthorized(t, err, ReasonInvalid)
		_, err = f.v.Verify(ctx, "not-a-key")
		expectUnauthorized(t, err, ReasonInvalid)
		after, qerr := f.st.Client.AuditLog.Query().Count(f.ctx)
		if qerr != nil {
			t.Fatal(qerr)
		}
		if after != before {
			t.Errorf("unknown keys wrote %d audit entries, want none", after-before)
		}
		if n := f.usage.Queued(); n != 0 {
			t.Errorf("refused keys were noted as used (%d)", n)
		}
	})
}

func expectUnauthorized(t *testing.T, err error, reason string) {
	t.Helper()
	var e *apperr.Error
	if !errors.As(err, &e) || e.Code != apperr.Unauthorized {
		t.Fatalf("err = %v, want UNAUTHORIZED", err)
	}
	if e.Details["reason"] != reason {
		t.Fatalf("details.reason = %v, want %q", e.Details["reason"], reason)
	}
}

// raceKey marks the context of the check during whose look-up the key is
// revoked, between the database read and the cache write.
type raceKey struct{}

// A look-up that read the key before a revocation committed must not put
// its stale answer in the cache after the revocation's invalidation was
// delivered: the revocation would go unseen for up to a minute.
func TestCheckStaleLookupDoesNotOutliveAnInvalidation(t *testing.T) {
	t.Parallel()
	eachFixture(t, func(t *testing.T, f *fixture) {
		key, k := f.newKey(t)
		f.st.Client.APIKey.Intercept(ent.InterceptFunc(func(next ent.Querier) ent.Querier {
			return ent.QuerierFunc(func(ctx context.Context, q ent.Query) (ent.Value, error) {
				v, err := next.Query(ctx, q)
				if ctx.Value(raceKey{}) != nil {
					// The revocation commits and is announced after the read.
					if err := f.st.Client.APIKey.UpdateOneID(k.ID).SetStatus(apikey.StatusRevoked).Exec(f.ctx); err != nil {
						t.Error(err)
					}
					f.publish(t, invalidate.APIKey, k.ID.String())
				}
				return v, err
			})
		}))
		res, err := f.v.Check(context.WithValue(context.Background(), raceKey{}, true), key, netip.Addr{})
		if err != nil {
			t.Fatal(err)
		}
		expectReason(t, res, "", k.ID) // read before the revocation: fine for this one request
		expectReason(t, f.check(t, key, ""), ReasonRevoked, k.ID)
	})
}
