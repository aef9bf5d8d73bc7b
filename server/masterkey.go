package server

import (
	"context"
	"errors"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/internal/identity/tokens"
	"github.com/credvault/credvault/internal/platform/store"
	"github.com/credvault/credvault/internal/vault/crypt"
	"github.com/credvault/credvault/internal/vault/dek"
)

// RotateMasterKey rewraps every DEK and signing key under keys.Master, in
// one transaction: run with the new key as CREDVAULT_MASTER_KEY and the old
// one as CREDVAULT_MASTER_KEY_PREVIOUS. Afterwards the new key alone opens
// everything, and the previous one can be dropped.
func RotateMasterKey(ctx context.Context, st *store.Store, keys Keys) (deks, signing int, err error) {
	if keys.Previous == nil {
		return 0, 0, errors.New("rotate-master-key needs the old key in CREDVAULT_MASTER_KEY_PREVIOUS")
	}
	ctx = store.Unrestricted(ctx)
	err = store.WithTx(ctx, st.Client, func(ctx context.Context, tx *ent.Client) error {
		var err error
		if deks, err = dek.New(tx, keys.Master, keys.Previous).Rewrap(ctx, tx, keys.Master); err != nil {
			return err
		}
		signing, err = tokens.Rewrap(ctx, tx, []*crypt.MasterKey{keys.Master, keys.Previous}, keys.Master)
		return err
	})
	return deks, signing, err
}
