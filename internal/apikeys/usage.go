package apikeys

import (
	"context"
	"log/slog"
	"time"

	"github.com/google/uuid"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/ent/apikey"
	"github.com/credvault/credvault/internal/platform/flush"
)

// Usage collects when keys were last used and writes it in batches (see
// flush.Latest), never moving last_used_at backwards.
type Usage struct{ *flush.Latest }

// NewUsage returns a usage recorder writing with client.
func NewUsage(client *ent.Client, logger *slog.Logger) *Usage {
	return &Usage{flush.NewLatest("api_key_last_used", client, logger,
		func(ctx context.Context, tx *ent.Client, id uuid.UUID, t time.Time) error {
			return tx.APIKey.Update().Where(apikey.ID(id), apikey.Or(apikey.LastUsedAtIsNil(), apikey.LastUsedAtLT(t))).
				SetLastUsedAt(t).Exec(ctx)
		})}
}
