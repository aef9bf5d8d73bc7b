package webhooks

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"testing"

	"github.com/google/uuid"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/internal/platform/store"
	"github.com/credvault/credvault/internal/platform/store/storetest"
	"github.com/credvault/credvault/internal/vault/crypt"
	"github.com/credvault/credvault/internal/vault/dek"
)

// TestSecretsOfARowReadBeforeADEKRotation: a delivery holds the endpoint's
// row as it read it; a DEK rotation then re-seals the secret and destroys
// the old DEK. The attempt still signs with the secret (the row read
// again), not failing once to succeed on a retry.
func TestSecretsOfARowReadBeforeADEKRotation(t *testing.T) {
	storetest.EachParallel(t, func(t *testing.T, st *store.Store) {
		ctx := store.Unrestricted(context.Background())
		mk, err := crypt.GenerateMasterKey()
		if err != nil {
			t.Fatal(err)
		}
		rotating := dek.New(st.Client, mk, nil)
		tn, err := st.Client.Tenant.Create().SetName("Stale").SetSlug("stale-" + uuid.NewString()[:8]).Save(ctx)
		if err != nil {
			t.Fatal(err)
		}
		v, key, err := rotating.Active(ctx, st.Client, tn.ID)
		if err != nil {
			t.Fatal(err)
		}
		const secret = "whsec_c3RhbGUgcm93IHNlY3JldCBvZiB0aGUgdGVzdA=="
		id := uuid.New()
		sealed, err := crypt.WebhookSecret.Seal(key, []byte(secret), tn.ID, id, v)
		if err != nil {
			t.Fatal(err)
		}
		stale, err := st.Client.Webhook.Create().SetID(id).SetTenantID(tn.ID).SetURL("https://example.com/hook").
			SetEvents([]string{"*"}).SetSecretSealed(sealed).SetDekVersion(v).Save(ctx)
		if err != nil {
			t.Fatal(err)
		}

		err = store.WithTx(ctx, st.Client, func(ctx context.Context, tx *ent.Client) error {
			_, err := rotating.Rotate(ctx, tx, tn.ID)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		if left, err := rotating.Reencrypt(ctx, tn.ID, dek.BatchSize, 0); err != nil || left != 0 {
			t.Fatalf("Reencrypt: %d left, %v", left, err)
		}
		if _, err := dek.New(st.Client, mk, nil).Key(ctx, tn.ID, v); !errors.Is(err, dek.ErrDestroyed) {
			t.Fatalf("the old DEK after the rotation: %v, want destroyed", err)
		}

		// Another instance's dispatcher, which never cached the old DEK.
		d := NewDispatcher(st.Client, st.Dialect, dek.New(st.Client, mk, nil), nil, nil, slog.New(slog.DiscardHandler), DispatchOptions{})
		got, err := d.secrets(ctx, stale)
		if err != nil || !slices.Equal(got, []string{secret}) {
			t.Fatalf("secrets of the row read before the rotation: %d secrets, %v; want the endpoint's one", len(got), err)
		}
	})
}
