// Package invalidate tells every server instance that something cached has
// changed: an API key revoked, a tenant suspended, a client disabled. On
// PostgreSQL a change is published with NOTIFY inside the transaction that
// makes it, so instances hear of it exactly when it commits; SQLite serves
// one instance, and its changes are delivered in process.
package invalidate

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"entgo.io/ent/dialect"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/internal/platform/store"
)

// channel is the PostgreSQL NOTIFY channel.
const channel = "credvault_invalidate"

// listenTimeout bounds the wait for the listening connection at start-up.
const listenTimeout = 10 * time.Second

// A lost listening connection is replaced after minReconnect, then twice
// as long each try up to maxReconnect; an idle one is pinged every
// pingInterval and is lost if no answer comes within pingTimeout.
const (
	minReconnect = 100 * time.Millisecond
	maxReconnect = 5 * time.Second
	pingInterval = 90 * time.Second
	pingTimeout  = 10 * time.Second
)

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
	// stop ends the listening loop, which closes done when it returns.
	stop context.CancelFunc
	done chan struct{}
}

// New returns a bus for a database of dialect; dsn is its URL, used on
// PostgreSQL to listen on a connection of its own.
func New(dia, dsn string, logger *slog.Logger) (*Bus, error) {
	b := &Bus{postgres: dia == dialect.Postgres, done: make(chan struct{})}
	if !b.postgres {
		return b, nil
	}
	cfg, err := store.PostgresConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("invalidate: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), listenTimeout)
	conn, err := dial(ctx, cfg)
	cancel()
	if err != nil {
		return nil, fmt.Errorf("invalidate: listen: %w", err)
	}
	ctx, b.stop = context.WithCancel(context.Background())
	go b.listen(ctx, cfg, conn, logger)
	return b, nil
}

// dial connects with cfg and listens on the channel.
func dial(ctx context.Context, cfg *pgx.ConnConfig) (*pgx.Conn, error) {
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return nil, err
	}
	if _, err := conn.Exec(ctx, "LISTEN "+channel); err != nil {
		conn.Close(context.WithoutCancel(ctx))
		return nil, err
	}
	return conn, nil
}

// listen delivers the notifications conn receives until ctx ends. A lost
// connection is replaced, retrying with backoff, and All delivered once
// listening again: anything published meanwhile was missed.
func (b *Bus) listen(ctx context.Context, cfg *pgx.ConnConfig, conn *pgx.Conn, logger *slog.Logger) {
	defer close(b.done)
	for {
		err := b.receive(ctx, conn)
		conn.Close(context.WithoutCancel(ctx))
		if ctx.Err() != nil {
			return
		}
		logger.Warn("invalidation listener lost its connection", "err", err)
		for wait := time.Duration(0); ; {
			wait = min(max(2*wait, minReconnect), maxReconnect)
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
			if conn, err = dial(ctx, cfg); err == nil {
				break
			}
			if ctx.Err() != nil {
				return
			}
			logger.Warn("invalidation listener cannot reconnect", "err", err, "retry_in", wait)
		}
		b.deliver(Topic(All))
	}
}

// receive delivers conn's notifications until the connection fails or ctx
// ends. A connection idle for pingInterval is pinged, so that one lost
// without a word (a peer gone from the network) is noticed.
func (b *Bus) receive(ctx context.Context, conn *pgx.Conn) error {
	for {
		wctx, cancel := context.WithTimeout(ctx, pingInterval)
		n, err := conn.WaitForNotification(wctx)
		cancel()
		switch {
		case err == nil:
			b.deliver(Topic(n.Payload))
		case ctx.Err() == nil && pgconn.Timeout(err):
			pctx, cancel := context.WithTimeout(ctx, pingTimeout)
			err = conn.Ping(pctx)
			cancel()
			if err != nil {
				return err
			}
		default:
			return err
		}
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
	if b.stop == nil {
		return nil
	}
	b.stop()
	<-b.done
	return nil
}
