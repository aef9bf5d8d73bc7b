package gateway

import (
	"context"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/ent/gatewayusage"
	"github.com/credvault/credvault/internal/access"
	"github.com/credvault/credvault/internal/platform/flush"
	"github.com/credvault/credvault/internal/platform/store"
)

type usageKey struct {
	tenant          uuid.UUID
	day, kind, id   string
	model, provider string
}

type usageCount struct{ requests, prompt, completion int64 }

// Usage counts chat requests and tokens by key, model and provider per
// day, in memory, added to the database in batches as package usage does
// for requests: no chat request pays for a write.
type Usage struct {
	flush.Batch
	db      *ent.Client
	mu      sync.Mutex
	pending map[usageKey]usageCount
	writing int
}

// NewUsage returns a counter writing with db.
func NewUsage(db *ent.Client, logger *slog.Logger) *Usage {
	u := &Usage{db: db, pending: map[usageKey]usageCount{}}
	u.Batch = flush.Batch{Kind: "gateway_usage", Logger: logger, Queued: u.queued}
	return u
}

func (u *Usage) queued() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return len(u.pending) + u.writing
}

// Count notes one request of p answered by provider for model.
func (u *Usage) Count(p *access.Principal, model, provider string, prompt, completion int64) {
	k := usageKey{tenant: p.TenantID, day: time.Now().UTC().Format(time.DateOnly), kind: string(p.Kind), id: p.ID.String(),
		model: model, provider: provider}
	if p.APIKeyID != uuid.Nil {
		k.kind, k.id = string(access.KindAPIKey), p.APIKeyID.String()
	}
	u.mu.Lock()
	c, ok := u.pending[k]
	if !ok && len(u.pending)+u.writing >= flush.MaxQueued {
		u.mu.Unlock()
		u.Drop(1, "queue full")
		return
	}
	c.requests++
	c.prompt += prompt
	c.completion += completion
	u.pending[k] = c
	u.mu.Unlock()
}

// Flush adds the pending counts to the database; a failed write keeps its
// counts for the next flush.
func (u *Usage) Flush(ctx context.Context) error {
	defer u.Hold()()
	u.mu.Lock()
	pending := u.pending
	u.pending = map[usageKey]usageCount{}
	u.writing += len(pending)
	u.mu.Unlock()
	if len(pending) == 0 {
		return nil
	}
	keys := slices.Collect(maps.Keys(pending))
	ctx = store.Unrestricted(ctx)
	var unwritten []usageKey
	var err error
	for start := 0; start < len(keys); start += flush.Chunk {
		end := min(start+flush.Chunk, len(keys))
		var dropped []usageKey
		dropped, unwritten, err = flush.Isolate(keys[start:end], func(ks []usageKey) error {
			return u.write(ctx, ks, pending)
		}, flush.RowsOwn)
		u.Drop(len(dropped), "refused by the database (tenant purged)")
		if err != nil {
			unwritten = append(unwritten, keys[end:]...)
			break
		}
	}
	u.mu.Lock()
	u.writing -= len(pending)
	for _, k := range unwritten {
		c := u.pending[k]
		p := pending[k]
		u.pending[k] = usageCount{c.requests + p.requests, c.prompt + p.prompt, c.completion + p.completion}
	}
	u.mu.Unlock()
	return err
}

func (u *Usage) write(ctx context.Context, keys []usageKey, counts map[usageKey]usageCount) error {
	return store.WithTx(ctx, u.db, func(ctx context.Context, tx *ent.Client) error {
		for _, k := range keys {
			c := counts[k]
			err := tx.GatewayUsage.Create().SetTenantID(k.tenant).SetDay(k.day).SetPrincipalType(k.kind).SetPrincipalID(k.id).
				SetModel(k.model).SetProvider(k.provider).SetRequests(c.requests).SetPromptTokens(c.prompt).SetCompletionTokens(c.completion).
				OnConflictColumns(gatewayusage.FieldTenantID, gatewayusage.FieldDay, gatewayusage.FieldPrincipalType,
					gatewayusage.FieldPrincipalID, gatewayusage.FieldModel, gatewayusage.FieldProvider).
				Update(func(up *ent.GatewayUsageUpsert) {
					up.AddRequests(c.requests).AddPromptTokens(c.prompt).AddCompletionTokens(c.completion).UpdateUpdatedAt()
				}).Exec(ctx)
			if err != nil {
				return err
			}
		}
		return nil
	})
}

// Run flushes every interval until ctx ends, then once more.
func (u *Usage) Run(ctx context.Context, interval time.Duration) {
	u.Batch.Run(ctx, interval, nil, u.Flush)
}
