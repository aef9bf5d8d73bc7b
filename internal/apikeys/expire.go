package apikeys

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/ent/apikey"
	"github.com/credvault/credvault/ent/predicate"
	"github.com/credvault/credvault/internal/platform/store"
)

// ExpireKeys marks every active key past its expiry as expired, or only
// tenant only's unless it is uuid.Nil; the
// expire_api_keys job runs it. Verification already refuses such keys by
// time, so this only brings the stored status (and lists) in line.
func ExpireKeys(ctx context.Context, db *ent.Client, only uuid.UUID) (int, error) {
	q := db.APIKey.Update().Where(apikey.StatusEQ(apikey.StatusActive), apikey.ExpiresAtLTE(store.Now()))
	if only != uuid.Nil {
		q.Where(apikey.TenantID(only))
	}
	return q.SetStatus(apikey.StatusExpired).Save(store.Unrestricted(ctx))
}

// Status is a key's state now: an active key past its expiry is expired,
// whether or not the expire_api_keys job has stored that yet. REST and
// GraphQL both show it.
func Status(k *ent.APIKey, now time.Time) apikey.Status {
	if k.Status == apikey.StatusActive && k.ExpiresAt != nil && !now.Before(*k.ExpiresAt) {
		return apikey.StatusExpired
	}
	return k.Status
}

// StatusIs selects the keys whose state now, as Status tells it, is s.
func StatusIs(s apikey.Status, now time.Time) predicate.APIKey {
	switch s {
	case apikey.StatusActive:
		return apikey.And(apikey.StatusEQ(apikey.StatusActive), apikey.Or(apikey.ExpiresAtIsNil(), apikey.ExpiresAtGT(now)))
	case apikey.StatusExpired:
		return apikey.Or(apikey.StatusEQ(apikey.StatusExpired),
			apikey.And(apikey.StatusEQ(apikey.StatusActive), apikey.ExpiresAtLTE(now)))
	}
	return apikey.StatusEQ(s)
}
