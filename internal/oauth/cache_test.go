package oauth_test

import (
	"context"
	"sync"
	"testing"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/ent/oauthclient"
	"github.com/credvault/credvault/internal/platform/invalidate"
	"github.com/credvault/credvault/internal/platform/store"
)

// setStatus changes the client's status the way the resolver does: in a
// transaction that publishes the invalidation on commit.
func (f *fixture) setStatus(t *testing.T, status oauthclient.Status) {
	t.Helper()
	err := store.WithTx(store.Unrestricted(context.Background()), f.st.Client, func(ctx context.Context, tx *ent.Client) error {
		if err := tx.OAuthClient.Update().Where(oauthclient.ClientID(f.id)).SetStatus(status).Exec(ctx); err != nil {
			return err
		}
		return f.bus.Publish(ctx, tx, invalidate.For(invalidate.OAuthClient, f.id))
	})
	if err != nil {
		t.Fatal(err)
	}
}

// The client cache follows the client's status on every change.
func TestVerifyAccessTokenFollowsClientStatus(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	tok := benchToken(t, f.s, f.id, f.sec)
	ctx := context.Background()
	p, err := f.s.VerifyAccessToken(ctx, tok)
	if err != nil || p.ClientID != f.id || !p.Scopes.Has("api_keys:read") {
		t.Fatalf("verify: %v", err)
	}
	for range 3 {
		f.setStatus(t, oauthclient.StatusDisabled)
		if _, err := f.s.VerifyAccessToken(ctx, tok); err == nil {
			t.Fatal("a disabled client's token verifies")
		}
		f.setStatus(t, oauthclient.StatusActive)
		if _, err := f.s.VerifyAccessToken(ctx, tok); err != nil {
			t.Fatalf("an enabled client's token is refused: %v", err)
		}
	}
}

// A verification that misses the cache reads the client row and then
// stores it. When the client is disabled between the two, the invalidation
// is delivered before the store, and the stale "active" entry is kept for
// clientTTL (a minute): the disabled client's tokens keep working. This
// races a cache miss with a disable many times; with the race fixed no
// iteration can see a stale entry.
func TestVerifyAccessTokenCacheFillRace(t *testing.T) {
	f := newFixture(t)
	tok := benchToken(t, f.s, f.id, f.sec)
	ctx := context.Background()
	stale := 0
	const rounds = 3000
	for range rounds {
		// Drop the entry so that the next verification misses.
		if err := f.bus.Publish(ctx, f.st.Client, invalidate.For(invalidate.OAuthClient, f.id)); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		wg.Go(func() { _, _ = f.s.VerifyAccessToken(ctx, tok) })
		f.setStatus(t, oauthclient.StatusDisabled)
		wg.Wait()
		if _, err := f.s.VerifyAccessToken(ctx, tok); err == nil {
			stale++
		}
		f.setStatus(t, oauthclient.StatusActive)
	}
	if stale > 0 {
		t.Errorf("in %d of %d rounds a disabled client's token still verified after the disable committed", stale, rounds)
	}
}

// A token issued from a cached client state read before the client was
// disabled, in the moment before the invalidation arrives, ends with the
// disable as any older token does: enabling the client again does not
// make it valid.
func TestTokenIssuedOnAStaleClientEndsWithTheDisable(t *testing.T) {
	t.Parallel()
	f := newFixture(t)
	benchToken(t, f.s, f.id, f.sec) // the client is cached, active
	// Disabled as the resolver does, but with no invalidation yet.
	ctx := store.Unrestricted(context.Background())
	if err := f.st.Client.OAuthClient.Update().Where(oauthclient.ClientID(f.id)).
		SetStatus(oauthclient.StatusDisabled).SetTokensNotBefore(store.Now()).Exec(ctx); err != nil {
		t.Fatal(err)
	}
	stale := benchToken(t, f.s, f.id, f.sec)
	f.setStatus(t, oauthclient.StatusActive)
	if _, err := f.s.VerifyAccessToken(ctx, stale); err == nil {
		t.Fatal("a token issued on the client's state from before its disable verifies once it is enabled")
	}
	if _, err := f.s.VerifyAccessToken(ctx, benchToken(t, f.s, f.id, f.sec)); err != nil {
		t.Fatalf("a token issued after the client was enabled is refused: %v", err)
	}
}
