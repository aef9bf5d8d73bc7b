package authz

// The lineage of credentials: who created what. A key's, client's or
// service account's id is what its writes record as creator (created_by),
// beside a key's user and service account. A demotion cuts a user's
// descendants (Descendants); a write by a credential of no user is held
// behind the users heading its lineage (headsOf).

import (
	"context"

	"github.com/google/uuid"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/ent/apikey"
	"github.com/credvault/credvault/ent/oauthclient"
	"github.com/credvault/credvault/ent/serviceaccount"
	"github.com/credvault/credvault/ent/user"
)

// Lineage is what a user created, directly or through what it created.
type Lineage struct {
	Keys     []*ent.APIKey // not revoked
	Clients  []*ent.OAuthClient
	Accounts []*ent.ServiceAccount
}

// Descendants follows created_by down from the user: its own keys, then
// whatever a creator found so far created, and the keys of the service
// accounts among them, until nothing new turns up.
func Descendants(ctx context.Context, tx *ent.Client, userID uuid.UUID) (Lineage, error) {
	var out Lineage
	seen := map[uuid.UUID]bool{userID: true}
	fresh := func(id uuid.UUID) bool {
		if seen[id] {
			return false
		}
		seen[id] = true
		return true
	}
	next := []uuid.UUID{userID}
	for first := true; len(next) > 0; first = false {
		creators := next
		next = nil
		match := apikey.CreatedByIn(creators...)
		if first {
			match = apikey.Or(match, apikey.UserID(userID))
		}
		keys, err := tx.APIKey.Query().Where(match).All(ctx)
		if err != nil {
			return out, err
		}
		clients, err := tx.OAuthClient.Query().Where(oauthclient.CreatedByIn(creators...)).All(ctx)
		if err != nil {
			return out, err
		}
		accounts, err := tx.ServiceAccount.Query().Where(serviceaccount.CreatedByIn(creators...)).All(ctx)
		if err != nil {
			return out, err
		}
		var accountIDs []uuid.UUID
		for _, sa := range accounts {
			if fresh(sa.ID) {
				out.Accounts = append(out.Accounts, sa)
				accountIDs = append(accountIDs, sa.ID)
				next = append(next, sa.ID)
			}
		}
		if len(accountIDs) > 0 {
			theirs, err := tx.APIKey.Query().Where(apikey.ServiceAccountIDIn(accountIDs...)).All(ctx)
			if err != nil {
				return out, err
			}
			keys = append(keys, theirs...)
		}
		for _, k := range keys {
			if !fresh(k.ID) {
				continue
			}
			next = append(next, k.ID) // a revoked key's creations live on
			if k.Status != apikey.StatusRevoked {
				out.Keys = append(out.Keys, k)
			}
		}
		for _, c := range clients {
			if fresh(c.ID) {
				out.Clients = append(out.Clients, c)
				next = append(next, c.ID)
			}
		}
	}
	return out, nil
}

// maxLineage bounds the walk up a lineage; created_by always names an older
// row, so it ends anyway.
const maxLineage = 16

// headsOf walks up from a key or client to the users at the head of its
// lineage (the way Descendants walks down): its creator, its creator's
// creator, a key's user and service account, and so on — whose demotion
// cuts it.
func headsOf(ctx context.Context, tx *ent.Client, id uuid.UUID) ([]uuid.UUID, error) {
	var heads []uuid.UUID
	seen := map[uuid.UUID]bool{id: true}
	next := []uuid.UUID{id}
	for range maxLineage {
		if len(next) == 0 {
			break
		}
		ids := next
		next = nil
		up := func(parents ...*uuid.UUID) {
			for _, p := range parents {
				if p != nil && !seen[*p] {
					seen[*p] = true
					next = append(next, *p)
				}
			}
		}
		users, err := tx.User.Query().Where(user.IDIn(ids...)).IDs(ctx)
		if err != nil {
			return nil, err
		}
		heads = append(heads, users...)
		keys, err := tx.APIKey.Query().Where(apikey.IDIn(ids...)).All(ctx)
		if err != nil {
			return nil, err
		}
		for _, k := range keys {
			up(k.UserID, k.ServiceAccountID, k.CreatedBy)
		}
		clients, err := tx.OAuthClient.Query().Where(oauthclient.IDIn(ids...)).All(ctx)
		if err != nil {
			return nil, err
		}
		for _, c := range clients {
			up(c.CreatedBy)
		}
		accounts, err := tx.ServiceAccount.Query().Where(serviceaccount.IDIn(ids...)).All(ctx)
		if err != nil {
			return nil, err
		}
		for _, sa := range accounts {
			up(sa.CreatedBy)
		}
	}
	return heads, nil
}
