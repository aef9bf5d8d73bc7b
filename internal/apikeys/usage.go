package apikeys

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/ent/apikey"
	"github.com/credvault/credvault/internal/platform/flush"
	"github.com/credvault/credvault/internal/platform/store"
)

// Usage collects when keys were last used and writes it in batches.
type Usage struct {
	client *ent.Client
	logger *slog.Logger
	mu     sync.Mutex
	seen   map[uuid.UUID]time.Time
}

// NewUsage returns a usage recorder writing with client.
func NewUsage(client *ent.Client, logger *slog.Logger) *Usage {
	return &Usage{client: client, logger: logger, seen: map[uuid.UUID]time.Time{}}
}

// Touch notes that key id was used at t.
func (u *Usage) Touch(id uuid.UUID, t time.Time) {
	u.mu.Lock()
	if t.After(u.seen[id]) {
		u.seen[id] = t
	}
	u.mu.Unlock()
}

// Flush writes the pending last_used_at times in one transaction.
func (u *Usage) Flush(ctx context.Context) error {
	u.mu.Lock()
	pending := u.seen
	u.seen = map[uuid.UUID]time.Time{}
	u.mu.Unlock()
	if len(pending) == 0 {
		return nil
	}
	ctx = store.Unrestricted(ctx)
	return store.WithTx(ctx, u.client, func(ctx context.Context, tx *ent.Client) error {
		for id, t := range pending {
			err := tx.APIKey.Update().Where(apikey.ID(id), apikey.Or(apikey.LastUsedAtIsNil(), apikey.LastUsedAtLT(t))).
				SetLastUsedAt(t.UTC().Truncate(time.Microsecond)).Exec(ctx)
			if err != nil {
				return err
			}
		}
		return nil
	})
}

// Run flushes every interval until ctx ends, then once more.
func (u *Usage) Run(ctx context.Context, interval time.Duration) {
	flush.Every(ctx, interval, nil, u.logger, "api key usage", u.Flush)
}
