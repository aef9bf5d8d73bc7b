package identity_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/ent/auditlog"
	"github.com/credvault/credvault/ent/refreshtoken"
	"github.com/credvault/credvault/ent/tenant"
	"github.com/credvault/credvault/ent/user"
	"github.com/credvault/credvault/internal/access"
	"github.com/credvault/credvault/internal/identity"
	"github.com/credvault/credvault/internal/identity/password"
	"github.com/credvault/credvault/internal/identity/tokens"
	"github.com/credvault/credvault/internal/platform/apperr"
	"github.com/credvault/credvault/internal/platform/store"
	"github.com/credvault/credvault/internal/platform/store/storetest"
	"github.com/credvault/credvault/internal/vault/crypt"
)

const pw = "correct-horse-battery"

func newService(t *testing.T, st *store.Store, guard *identity.LoginGuard) *identity.Service {
	t.Helper()
	return newServiceHashing(t, st, guard, password.OWASP)
}

func newServiceHashing(t *testing.T, st *store.Store, guard *identity.LoginGuard, argon2 password.Params) *identity.Service {
	t.Helper()
	master, err := crypt.GenerateMasterKey()
	if err != nil {
		t.Fatal(err)
	}
	keys, err := tokens.NewKeyring(context.Background(), st.Client, master, "https://credvault.test")
	if err != nil {
		t.Fatal(err)
	}
	s, err := identity.New(st.Client, keys, true, "free", guard, argon2)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func register(t *testing.T, s *identity.Service, tenantName, email string) *identity.Session {
	t.Helper()
	sess, err := s.Register(context.Background(), identity.RegisterInput{TenantName: tenantName, Email: email, Password: pw})
	if err != nil {
		t.Fatal(err)
	}
	return sess
}

// reason is details.reason of an UNAUTHORIZED error, or "" for anything else.
func reason(err error) string {
	if !apperr.Is(err, apperr.Unauthorized) {
		return ""
	}
	r, _ := apperr.From(err).Details["reason"].(string)
	return r
}

func unrestricted() context.Context { return store.Unrestricted(context.Background()) }

// TestPasswordsHashWithTheConfiguredCost checks that a new password is
// hashed with the service's argon2 parameters and that a hash made with
// other ones (before the setting changed) still signs in.
func TestPasswordsHashWithTheConfiguredCost(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		cheap := password.Params{Memory: 64, Time: 1, Threads: 1}
		s := newServiceHashing(t, st, nil, cheap)
		sess := register(t, s, "Cost", "cost@x.test")
		u, err := st.Client.User.Get(unrestricted(), sess.User.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(u.PasswordHash, "$argon2id$v=19$m=64,t=1,p=1$") {
			t.Fatalf("stored hash %q is not made with m=64,t=1,p=1", u.PasswordHash)
		}
		if _, err := s.Login(context.Background(), identity.LoginInput{Email: "cost@x.test", Password: pw}); err != nil {
			t.Fatalf("login: %v", err)
		}
		owasp, err := password.OWASP.Hash(pw)
		if err != nil {
			t.Fatal(err)
		}
		if err := st.Client.User.UpdateOneID(u.ID).SetPasswordHash(owasp).Exec(unrestricted()); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Login(context.Background(), identity.LoginInput{Email: "cost@x.test", Password: pw}); err != nil {
			t.Fatalf("login with a hash made at OWASP's cost: %v", err)
		}
		if _, err := s.Login(context.Background(), identity.LoginInput{Email: "cost@x.test", Password: pw + "!"}); reason(err) != "invalid" {
			t.Fatalf("wrong password: %v", err)
		}
		if _, err := s.Login(context.Background(), identity.LoginInput{Email: "nobody@x.test", Password: pw}); reason(err) != "invalid" {
			t.Fatalf("unknown user: %v", err)
		}
	})
}

func TestVerifySession(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		s := newService(t, st, nil)
		ctx := context.Background()
		sess := register(t, s, "Verify", "v@verify.test")
		if sess.ExpiresIn != 900 || sess.User.Role != user.RoleOwner || sess.Tenant.Slug != "verify" {
			t.Fatalf("session: expires_in %d role %s slug %s", sess.ExpiresIn, sess.User.Role, sess.Tenant.Slug)
		}
		p, err := s.VerifySession(ctx, sess.AccessToken)
		if err != nil {
			t.Fatal(err)
		}
		if p.Kind != access.KindUser || p.ID != sess.User.ID || p.UserID != sess.User.ID || p.TenantID != sess.Tenant.ID ||
			p.HomeTenantID != sess.Tenant.ID || p.Scopes.Has(access.PlatformAdmin) || !p.Scopes.Has(access.TenantDelete) {
			t.Fatalf("principal %+v", p)
		}
		// A refresh token is not a session token.
		if _, err := s.VerifySession(ctx, sess.RefreshToken); reason(err) != "malformed" {
			t.Fatalf("refresh token as a session: %v", err)
		}

		// A suspended tenant: revoked; active again: fine.
		if err := st.Client.Tenant.UpdateOneID(sess.Tenant.ID).SetStatus(tenant.StatusSuspended).Exec(unrestricted()); err != nil {
			t.Fatal(err)
		}
		if _, err := s.VerifySession(ctx, sess.AccessToken); reason(err) != "revoked" {
			t.Fatalf("session of a suspended tenant: %v, want revoked", err)
		}
		if _, err := s.Login(ctx, identity.LoginInput{Email: "v@verify.test", Password: pw}); reason(err) != "invalid" {
			t.Fatalf("login to a suspended tenant: %v, want invalid", err)
		}
		if err := st.Client.Tenant.UpdateOneID(sess.Tenant.ID).SetStatus(tenant.StatusActive).Exec(unrestricted()); err != nil {
			t.Fatal(err)
		}
		if _, err := s.VerifySession(ctx, sess.AccessToken); err != nil {
			t.Fatalf("session of a reactivated tenant: %v", err)
		}
		// A disabled user, then a deleted one: revoked.
		if err := st.Client.User.UpdateOneID(sess.User.ID).SetStatus(user.StatusDisabled).Exec(unrestricted()); err != nil {
			t.Fatal(err)
		}
		if _, err := s.VerifySession(ctx, sess.AccessToken); reason(err) != "revoked" {
			t.Fatalf("session of a disabled user: %v, want revoked", err)
		}
		if err := st.Client.User.DeleteOneID(sess.User.ID).Exec(unrestricted()); err != nil {
			t.Fatal(err)
		}
		if _, err := s.VerifySession(ctx, sess.AccessToken); reason(err) != "revoked" {
			t.Fatalf("session of a deleted user: %v, want revoked", err)
		}
	})
}

func TestSessionExpiresOnTheClock(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		s := newService(t, st, nil)
		// Signed in 20 minutes ago: the 15-minute session is over.
		s.SetClock(func() time.Time { return time.Now().UTC().Add(-20 * time.Minute) })
		old := register(t, s, "Clock", "c@clock.test")
		if _, err := s.VerifySession(context.Background(), old.AccessToken); reason(err) != "expired" {
			t.Fatalf("a 20-minute-old session: %v, want expired", err)
		}
		// Signed in 14 minutes ago: still valid.
		s.SetClock(func() time.Time { return time.Now().UTC().Add(-14 * time.Minute) })
		recent, err := s.Login(context.Background(), identity.LoginInput{Email: "c@clock.test", Password: pw})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.VerifySession(context.Background(), recent.AccessToken); err != nil {
			t.Fatalf("a 14-minute-old session: %v", err)
		}
		// Its refresh token, 14 minutes old, still works.
		s.SetClock(func() time.Time { return time.Now().UTC().Truncate(time.Microsecond) })
		if _, err := s.Refresh(context.Background(), recent.RefreshToken); err != nil {
			t.Fatalf("refresh of a 14-minute-old session: %v", err)
		}
	})
}

func TestRefreshTokenExpires(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		s := newService(t, st, nil)
		sess := register(t, s, "Thirty Days", "d@days.test")
		row, err := st.Client.RefreshToken.Query().Where(refreshtoken.UserID(sess.User.ID)).Only(unrestricted())
		if err != nil {
			t.Fatal(err)
		}
		if d := row.ExpiresAt.Sub(row.CreatedAt); d < identity.RefreshTTL-time.Minute || d > identity.RefreshTTL+time.Minute {
			t.Fatalf("refresh token lives %v, want %v", d, identity.RefreshTTL)
		}
		s.SetClock(func() time.Time { return time.Now().UTC().Add(identity.RefreshTTL + time.Hour) })
		if _, err := s.Refresh(context.Background(), sess.RefreshToken); reason(err) != "expired" {
			t.Fatalf("refresh after 30 days: %v, want expired", err)
		}
		// An expired token is not marked used, so this was no reuse.
		if n, _ := st.Client.AuditLog.Query().Where(auditlog.Action("auth.refresh_reuse")).Count(unrestricted()); n != 0 {
			t.Fatal("an expired refresh token was treated as reused")
		}
		s.SetClock(func() time.Time { return time.Now().UTC().Add(identity.RefreshTTL - time.Hour) })
		next, err := s.Refresh(context.Background(), sess.RefreshToken)
		if err != nil {
			t.Fatalf("refresh a day before expiry: %v", err)
		}
		if next.RefreshToken == sess.RefreshToken || next.User.ID != sess.User.ID {
			t.Fatal("refresh did not rotate the token")
		}
	})
}

func TestConcurrentRefreshWithOneToken(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		s := newService(t, st, nil)
		sess := register(t, s, "Race", "r@race.test")
		const n = 4
		var (
			wg      sync.WaitGroup
			mu      sync.Mutex
			wins    []*identity.Session
			reasons []string
		)
		for range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				got, err := s.Refresh(context.Background(), sess.RefreshToken)
				mu.Lock()
				defer mu.Unlock()
				if err == nil {
					wins = append(wins, got)
				} else {
					reasons = append(reasons, reason(err)+"|"+string(apperr.From(err).Code))
				}
			}()
		}
		wg.Wait()
		if len(wins) != 1 {
			t.Fatalf("%d concurrent refreshes with one token succeeded, want exactly 1 (others: %v)", len(wins), reasons)
		}
		for _, r := range reasons {
			if r != "revoked|UNAUTHORIZED" {
				t.Fatalf("a losing refresh answered %s, want revoked", r)
			}
		}
		// The losers saw a reuse: the family, the winner's new token included, is revoked.
		if _, err := s.Refresh(context.Background(), wins[0].RefreshToken); reason(err) != "revoked" {
			t.Fatalf("the winner's new refresh token after a detected reuse: %v, want revoked", err)
		}
		rows, err := st.Client.RefreshToken.Query().Where(refreshtoken.UserID(sess.User.ID)).All(unrestricted())
		if err != nil || len(rows) != 2 {
			t.Fatalf("%d refresh tokens (%v), want 2", len(rows), err)
		}
		for _, r := range rows {
			if r.RevokedAt == nil {
				t.Fatal("a token of the reused family is not revoked")
			}
		}
	})
}

func TestRevokeSessions(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		s := newService(t, st, nil)
		a := register(t, s, "Revoke A", "a@revoke.test")
		b := register(t, s, "Revoke B", "b@revoke.test")
		if err := identity.RevokeSessions(unrestricted(), st.Client, a.User.ID, time.Now()); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Refresh(context.Background(), a.RefreshToken); reason(err) != "revoked" {
			t.Fatalf("refresh after RevokeSessions: %v, want revoked", err)
		}
		if _, err := s.Refresh(context.Background(), b.RefreshToken); err != nil {
			t.Fatalf("another user's refresh after RevokeSessions: %v", err)
		}
	})
}

func TestRegister(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		s := newService(t, st, nil)
		for name, want := range map[string]string{
			"  Acme, Inc.!!  ":              "acme-inc",
			"Ünïcode Café":                  "n-code-caf",
			strings.Repeat("abcdefghi-", 6): "abcdefghi-abcdefghi-abcdefghi-abcdefghi",
		} {
			sess := register(t, s, name, strings.ToLower(want[:3])+"@slug.test")
			if sess.Tenant.Slug != want || sess.Tenant.Name != strings.TrimSpace(name) {
				t.Fatalf("tenant name %q: slug %q name %q, want slug %q", name, sess.Tenant.Slug, sess.Tenant.Name, want)
			}
		}
		sess := register(t, s, "Audited", "Owner@Audited.TEST")
		if sess.User.Email != "owner@audited.test" || sess.Tenant.Plan != "free" {
			t.Fatalf("email %q plan %q", sess.User.Email, sess.Tenant.Plan)
		}
		a, err := st.Client.AuditLog.Query().Where(auditlog.TenantID(sess.Tenant.ID), auditlog.Action("auth.register")).Only(unrestricted())
		if err != nil {
			t.Fatal(err)
		}
		if a.Details["slug"] != "audited" || a.Details["user_id"] != sess.User.ID.String() || a.ActorID != sess.User.ID.String() {
			t.Fatalf("auth.register entry: actor %s details %v", a.ActorID, a.Details)
		}
		// Signup off: refused before anything is written.
		s.AllowSignup = false
		_, err = s.Register(context.Background(), identity.RegisterInput{TenantName: "Off", Email: "x@off.test", Password: pw})
		if !apperr.Is(err, apperr.Forbidden) {
			t.Fatalf("register with signup off: %v, want FORBIDDEN", err)
		}
		if n, _ := st.Client.Tenant.Query().Where(tenant.Slug("off")).Count(unrestricted()); n != 0 {
			t.Fatal("a tenant was created with signup off")
		}
	})
}

func TestLoginPrefersThePlatformAccount(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		s := newService(t, st, nil)
		ctx := unrestricted()
		pt, err := st.Client.Tenant.Create().SetName("Platform").SetSlug("platform").SetPlatform(true).Save(ctx)
		if err != nil {
			t.Fatal(err)
		}
		hash, err := password.OWASP.Hash(pw)
		if err != nil {
			t.Fatal(err)
		}
		admin, err := st.Client.User.Create().SetTenantID(pt.ID).SetEmail("root@x.test").SetRole(user.RoleOwner).SetPasswordHash(hash).Save(ctx)
		if err != nil {
			t.Fatal(err)
		}
		other := register(t, s, "Other", "root@x.test")
		// Naming no tenant signs in the platform account, with platform:admin.
		sess, err := s.Login(context.Background(), identity.LoginInput{Email: "root@x.test", Password: pw})
		if err != nil {
			t.Fatal(err)
		}
		if sess.User.ID != admin.ID {
			t.Fatalf("login without a tenant signed in %s, want the platform account", sess.User.ID)
		}
		p, err := s.VerifySession(context.Background(), sess.AccessToken)
		if err != nil || !p.Scopes.Has(access.PlatformAdmin) {
			t.Fatalf("platform owner principal: %v, %v", p, err)
		}
		// Naming the other tenant signs in that account, without platform:admin.
		sess, err = s.Login(context.Background(), identity.LoginInput{Email: "root@x.test", Password: pw, Tenant: "OTHER"})
		if err != nil || sess.User.ID != other.User.ID {
			t.Fatalf("login with tenant: %v", err)
		}
		if p, _ := s.VerifySession(context.Background(), sess.AccessToken); p == nil || p.Scopes.Has(access.PlatformAdmin) {
			t.Fatal("a tenant account holds platform:admin")
		}
	})
}

func TestLoginGuardCountsFailuresOnly(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		awayFromWindowEdge(time.Hour, 5*time.Second)
		s := newService(t, st, identity.NewLoginGuard(100, 2, time.Hour, nil))
		register(t, s, "Guarded", "g@guard.test")
		ok := func() error {
			_, err := s.Login(context.Background(), identity.LoginInput{Email: "g@guard.test", Password: pw})
			return err
		}
		bad := func() error {
			_, err := s.Login(context.Background(), identity.LoginInput{Email: "g@guard.test", Password: "wrong-password"})
			return err
		}
		for range 3 {
			if err := ok(); err != nil {
				t.Fatalf("successful logins counted against the account: %v", err)
			}
		}
		if err := bad(); reason(err) != "invalid" {
			t.Fatal(err)
		}
		if err := ok(); err != nil {
			t.Fatalf("one failure under a limit of 2 blocked the account: %v", err)
		}
		if err := bad(); reason(err) != "invalid" {
			t.Fatal(err)
		}
		if err := ok(); !apperr.Is(err, apperr.RateLimited) {
			t.Fatalf("after 2 failures: %v, want RATE_LIMIT_EXCEEDED", err)
		}
		// The email is matched case-insensitively: no way around the limit by case.
		if _, err := s.Login(context.Background(), identity.LoginInput{Email: "G@GUARD.test", Password: pw}); !apperr.Is(err, apperr.RateLimited) {
			t.Fatalf("the same account in upper case: %v, want RATE_LIMIT_EXCEEDED", err)
		}
		n, err := st.Client.AuditLog.Query().Where(auditlog.Action("auth.login"), auditlog.OutcomeEQ(auditlog.OutcomeFailure)).Count(unrestricted())
		if err != nil || n != 2 {
			t.Fatalf("%d failed-login entries (%v), want 2", n, err)
		}
	})
}

// sessionsOf counts the refresh tokens of a user.
func sessionsOf(t *testing.T, st *store.Store, u *ent.User) int {
	t.Helper()
	n, err := st.Client.RefreshToken.Query().Where(refreshtoken.UserID(u.ID)).Count(unrestricted())
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestFailedLoginStartsNoSession(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		s := newService(t, st, nil)
		sess := register(t, s, "NoSession", "n@nosession.test")
		for _, in := range []identity.LoginInput{
			{Email: "n@nosession.test", Password: "wrong-password"},
			{Email: "n@nosession.test", Password: pw, Tenant: "elsewhere"},
			{Email: "nobody@nosession.test", Password: pw},
		} {
			if _, err := s.Login(context.Background(), in); reason(err) != "invalid" {
				t.Fatalf("login %s/%s: %v, want invalid", in.Email, in.Tenant, err)
			}
		}
		for _, in := range []identity.LoginInput{{Password: pw}, {Email: "n@nosession.test"}} {
			if _, err := s.Login(context.Background(), in); !apperr.Is(err, apperr.Validation) {
				t.Fatalf("login with a missing field: %v, want VALIDATION_ERROR", err)
			}
		}
		if n := sessionsOf(t, st, sess.User); n != 1 {
			t.Fatalf("%d refresh tokens after failed logins, want only the registration's", n)
		}
	})
}

// TestLoginGuardCountsAnAccountOnce shows that the per-account failure limit
// is keyed on the tenant as the client typed it ("" or the slug, from the
// body or the realmname header), not on the account found: naming the
// tenant or not gives an attacker two budgets for one account.
func TestLoginGuardCountsAnAccountOnce(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		awayFromWindowEdge(time.Hour, 5*time.Second)
		s := newService(t, st, identity.NewLoginGuard(100, 2, time.Hour, nil))
		sess := register(t, s, "Twice", "t@twice.test")
		for range 2 {
			if _, err := s.Login(context.Background(), identity.LoginInput{Email: "t@twice.test", Password: "wrong-password"}); reason(err) != "invalid" {
				t.Fatal(err)
			}
		}
		_, err := s.Login(context.Background(), identity.LoginInput{Email: "t@twice.test", Password: pw, Tenant: sess.Tenant.Slug})
		if !apperr.Is(err, apperr.RateLimited) {
			t.Fatalf("the same account, now naming its tenant, after 2 failures: %v, want RATE_LIMIT_EXCEEDED", err)
		}
	})
}
