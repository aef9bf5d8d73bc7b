package apikeys

import (
	"context"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/ent/apikey"
	"github.com/credvault/credvault/store"
)

// ExpireKeys marks every active key past its expiry as expired; the
// expire_api_keys job runs it. Verification already refuses such keys by
// time, so this only brings the stored status (and lists) in line.
func ExpireKeys(ctx context.Context, db *ent.Client) (int, error) {
	return db.APIKey.Update().
		Where(apikey.StatusEQ(apikey.StatusActive), apikey.ExpiresAtLTE(store.Now())).
		SetStatus(apikey.StatusExpired).Save(store.Unrestricted(ctx))
}
