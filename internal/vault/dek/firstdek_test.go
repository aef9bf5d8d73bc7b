package dek_test

// The first-DEK race: concurrent first writers of a tenant all get its one
// version 1 DEK, whether they ask outside a transaction or inside their own
// (as storing a credential does), and exactly one data_keys row is stored.

import (
	"bytes"
	"context"
	"sync"
	"testing"

	"entgo.io/ent/dialect"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/ent/datakey"
	"github.com/credvault/credvault/internal/platform/store"
	"github.com/credvault/credvault/internal/platform/store/storetest"
	"github.com/credvault/credvault/internal/vault/crypt"
	"github.com/credvault/credvault/internal/vault/dek"
)

func TestActiveConcurrentFirstUseCreatesOneDEK(t *testing.T) {
	t.Parallel()
	storetest.EachParallel(t, func(t *testing.T, st *store.Store) {
		mk := master(t)
		m := dek.New(st.Client, mk, nil)
		if st.Dialect == dialect.Postgres {
			m.LockRows() // as the server runs it there
		}
		const writers, tenants = 8, 5
		for _, inTx := range []bool{false, true} {
			for range tenants {
				tenant := newTenant(t, st)
				type result struct {
					version int
					key     crypt.DEK
					err     error
				}
				results := make([]result, writers)
				start := make(chan struct{})
				var wg sync.WaitGroup
				for i := range writers {
					wg.Go(func() {
						<-start
						r := &results[i]
						if !inTx {
							r.version, r.key, r.err = m.Active(bg(), st.Client, tenant)
							return
						}
						r.err = store.WithTx(bg(), st.Client, func(ctx context.Context, tx *ent.Client) error {
							var err error
							r.version, r.key, err = m.Active(ctx, tx, tenant)
							return err
						})
					})
				}
				close(start)
				wg.Wait()

				keys := dataKeys(t, st, tenant)
				if len(keys) != 1 || keys[1] == nil || keys[1].Status != datakey.StatusActive {
					t.Fatalf("in a transaction %v: %d data_keys rows, want one: version 1, active", inTx, len(keys))
				}
				stored, err := mk.UnwrapDEK(*keys[1].WrappedKey, tenant, 1)
				if err != nil {
					t.Fatalf("in a transaction %v: the stored DEK does not unwrap: %v", inTx, err)
				}
				for i, r := range results {
					if r.err != nil {
						t.Fatalf("in a transaction %v: writer %d of %d: %v", inTx, i, writers, r.err)
					}
					if r.version != 1 || !bytes.Equal(r.key, stored) {
						t.Fatalf("in a transaction %v: writer %d got v%d, the stored key %v; want v1, the stored key",
							inTx, i, r.version, bytes.Equal(r.key, stored))
					}
				}
			}
		}
	})
}
