// Package invalidate tells every server instance that something cached has
// changed: an API key revoked, a tenant suspended, a client disabled. On
// PostgreSQL a change is published with NOTIFY inside the transaction that
// makes it, so instances hear of it exactly when it commits; SQLite serves
// one instance, and its changes are delivered in process.
package invalidate

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"entgo.io/ent/dialect"
	"github.com/lib/pq"

	"github.com/credvault/credvault/ent"
)

// channel is the PostgreSQL NOTIFY channel.
const channel = "credvault_invalidate"

// listenTimeout bounds the wait for the listening connection at start-up.
const listenTimeout = 10 * time.Second

// Topic names what changed, as "<kind>:<id>", such as "api_key:…" or "tenant:…".
type Topic string

// Kinds of topics.
const (
	APIKey      = "api_key"
	Tenant      = "tenant"
	OAuthClient = "oauth_client"
	Token       = "token"
	// Credential names a tenant whose credentials changed: its cached
	// credential rows go.
	Credential = "credential"
	// DEK names a tenant whose retired DEKs were destroyed: its unwrapped
	// DEKs and credential rows go.
	DEK = "dek"
	// All means every cache must be dropped: notifications may have been missed.
	All = "all"
)

// For returns the topic of kind and id.
func For(kind, id string) Topic { return Topic(kind + ":" + id) }

// Split returns the kind and id of t.
func (t Topic) Split() (kind, id string) {
	kind, id, _ = strings.Cut(string(t), ":")
	return kind, id
}

// Bus carries topics to the subscribers of every instance.
type Bus struct {
	postgres bool
	mu       sync.RWMutex
	subs     []func(Topic)
	listener *pq.Listener
	done     chan struct{}
}

// New returns a bus for a database of dialect; dsn is its URL, used on
// PostgreSQL to listen on a connection of its own.
func New(dia, dsn string, logger *slog.Logger) (*Bus, error) {
	b := &Bus{postgres: dia == dialect.Postgres, done: make(chan struct{})}
	if !b.postgres {
		return b, nil
	}
	b.listener = pq.NewListener(dsn, 100*time.Millisecond, 5*time.Second, func(ev pq.ListenerEventType, err error) {
		if err != nil {
			logger.Warn("invalidation listener", "event", ev.String(), "err", err)
		}
	})
	listened := make(chan error, 1)
	go func() { listened <- b.listener.Listen(channel) }()
	select {
	case err := <-listened:
		if err != nil {
			b.listener.Close()
			return nil, fmt.Errorf("invalidate: listen: %w", err)
		}
	case <-time.After(listenTimeout):
		b.listener.Close()
		return nil, errors.New("invalidate: the database did not answer LISTEN")
	}
	go b.listen()
	return b, nil
}

func (b *Bus) listen() {
	defer close(b.done)
	for n := range b.listener.Notify {
		if n == nil {
			// Reconnected: anything published meanwhile was missed.
			b.deliver(Topic(All))
			continue
		}
		b.deliver(Topic(n.Extra))
	}
}

// Subscribe calls fn with every topic published from now on, on any instance.
func (b *Bus) Subscribe(fn func(Topic)) {
	b.mu.Lock()
	b.subs = append(b.subs, fn)
	b.mu.Unlock()
}

func (b *Bus) deliver(t Topic) {
	b.mu.RLock()
	defer b.mu.RUnlock()
	for _, fn := range b.subs {
		fn(t)
	}
}

// Publish announces t from within the transaction making the change (ctx
// carries it, as store.WithTx arranges): it is delivered in this process
// when the transaction commits, and on PostgreSQL to every instance, whose
// NOTIFY commits with it. Outside a transaction it is delivered at once.
func (b *Bus) Publish(ctx context.Context, client *ent.Client, t Topic) error {
	tx := ent.TxFromContext(ctx)
	if tx == nil {
		b.deliver(t)
		if b.postgres {
			_, err := client.ExecContext(ctx, "SELECT pg_notify($1, $2)", channel, string(t))
			return err
		}
		return nil
	}
	tx.OnCommit(func(next ent.Committer) ent.Committer {
		return ent.CommitFunc(func(ctx context.Context, tx *ent.Tx) error {
			err := next.Commit(ctx, tx)
			if err == nil {
				b.deliver(t)
			}
			return err
		})
	})
	if !b.postgres {
		return nil
	}
	_, err := tx.Client().ExecContext(ctx, "SELECT pg_notify($1, $2)", channel, string(t))
	return err
}

// Close stops listening.
func (b *Bus) Close() error {
	if b.listener == nil {
		return nil
	}
	err := b.listener.Close()
	<-b.done
	return err
}
