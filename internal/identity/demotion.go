package identity

import (
	"context"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/ent/apikey"
	"github.com/credvault/credvault/ent/oauthclient"
	"github.com/credvault/credvault/internal/access"
	"github.com/credvault/credvault/internal/access/authz"
	"github.com/credvault/credvault/internal/audit"
	"github.com/credvault/credvault/internal/platform/invalidate"
	"github.com/credvault/credvault/internal/platform/store"
	"github.com/credvault/credvault/internal/webhooks"
)

// Why a cut took scopes, as its audit entries name it.
const (
	creatorRoleLowered = "creator_role_lowered"
	creatorDeleted     = "creator_deleted"
)

// cutCredentials cuts the API keys, OAuth clients and service accounts u
// created to held, the scopes of its new role (none when it is deleted),
// with tx, naming reason in the audit entries: a credential never keeps a
// scope its creator no longer holds (SPEC §2). What u created is what it
// created signed in, and, through any number of steps, what those
// credentials created in turn (a key made with a client's token, a client
// made with one of its keys), and the keys of the service accounts among
// them (a key of a service account holds no scope the account lacks). A key
// left with no scope is revoked, a client disabled. Each cut is audited and
// published, so every instance stops honouring the removed scopes at once.
// It returns how many credentials were cut.
func (s *Users) cutCredentials(ctx context.Context, tx *ent.Client, u *ent.User, held access.Set, reason string) (int, error) {
	made, err := authz.Descendants(ctx, tx, u.ID)
	if err != nil {
		return 0, err
	}
	keys, clients, accounts := made.Keys, made.Clients, made.Accounts
	now := store.Now()
	cut := 0
	for _, k := range keys {
		kept, removed := split(k.Scopes, held)
		if len(removed) == 0 {
			continue
		}
		upd := tx.APIKey.UpdateOne(k).SetScopes(kept)
		action := "api_key.update"
		if len(kept) == 0 {
			upd.SetStatus(apikey.StatusRevoked).SetRevokedAt(now)
			action = "api_key.revoke"
		}
		k, err := upd.Save(ctx)
		if err != nil {
			return 0, err
		}
		if err := audit.Record(ctx, tx, audit.Entry{Action: action, ResourceType: "api_key", ResourceID: k.ID.String(),
			Details: cutDetails(u, reason, kept, removed, "scopes")}); err != nil {
			return 0, err
		}
		if k.Status == apikey.StatusRevoked {
			if err := s.Events.Emit(ctx, tx, k.TenantID, webhooks.APIKeyRevoked, k); err != nil {
				return 0, err
			}
		}
		if err := s.Bus.Publish(ctx, tx, invalidate.For(invalidate.APIKey, k.ID.String())); err != nil {
			return 0, err
		}
		cut++
	}
	for _, c := range clients {
		kept, removed := split(c.Scopes, held)
		if len(removed) == 0 {
			continue
		}
		upd := tx.OAuthClient.UpdateOne(c).SetScopes(kept)
		fields := []string{"scopes"}
		if len(kept) == 0 && c.Status != oauthclient.StatusDisabled {
			upd.SetStatus(oauthclient.StatusDisabled).SetTokensNotBefore(now)
			fields = append(fields, "status")
		}
		c, err := upd.Save(ctx)
		if err != nil {
			return 0, err
		}
		if err := audit.Record(ctx, tx, audit.Entry{Action: "oauth_client.update", ResourceType: "oauth_client",
			ResourceID: c.ClientID, Details: cutDetails(u, reason, kept, removed, fields...)}); err != nil {
			return 0, err
		}
		if err := s.Events.Emit(ctx, tx, c.TenantID, webhooks.OAuthClientUpdated, c); err != nil {
			return 0, err
		}
		if err := s.Bus.Publish(ctx, tx, invalidate.For(invalidate.OAuthClient, c.ClientID)); err != nil {
			return 0, err
		}
		cut++
	}
	for _, sa := range accounts {
		kept, removed := split(sa.Scopes, held)
		if len(removed) == 0 {
			continue
		}
		sa, err := tx.ServiceAccount.UpdateOne(sa).SetScopes(kept).Save(ctx)
		if err != nil {
			return 0, err
		}
		if err := audit.Record(ctx, tx, audit.Entry{Action: "service_account.update", ResourceType: "service_account",
			ResourceID: sa.ID.String(), Details: cutDetails(u, reason, kept, removed, "scopes")}); err != nil {
			return 0, err
		}
		cut++
	}
	return cut, nil
}

// split parts scopes into those held keeps and those it removes.
func split(scopes []string, held access.Set) (kept, removed []string) {
	kept = []string{}
	for _, sc := range scopes {
		if held.Has(sc) {
			kept = append(kept, sc)
		} else {
			removed = append(removed, sc)
		}
	}
	return kept, removed
}

// cutDetails are the audit details of one credential's cut.
func cutDetails(u *ent.User, reason string, kept, removed []string, fields ...string) map[string]any {
	return map[string]any{"fields": fields, "reason": reason, "user_id": u.ID.String(), "role": u.Role,
		"removed_scopes": removed, "scopes": kept}
}
