// Package invalidate tells every server instance that something cached has
// changed: an API key revoked, a tenant suspended, a client disabled. On
// PostgreSQL a change is published with NOTIFY inside the transaction that
// makes it, so instances hear of it exactly when it commits; an addition
// that nothing must refuse may instead be published just after its commit,
// gathered with others into one NOTIFY (see PublishSoon). SQLite serves one
// instance, and its changes are delivered in process.
package invalidate

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
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

// soonDelay is how long the topics of PublishSoon gather before one NOTIFY
// carries them all; a send that fails is tried again after minReconnect,
// then twice as long each try up to maxReconnect.
const soonDelay = 10 * time.Millisecond

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
	// stop ends the listening and sending loops, which close done and
	// sent when they return.
	stop       context.CancelFunc
	done, sent chan struct{}

	// soon holds the topics of PublishSoon whose transactions committed,
	// until the sending loop, woken by kick, notifies them.
	soonMu sync.Mutex
	soon   map[Topic]struct{}
	kick   chan struct{}
	// sender is the backend pid of the sending loop's connection: its
	// notifications were delivered here before they were sent.
	sender atomic.Uint32
}

// New returns a bus for a database of dialect; dsn is its URL, used on
// PostgreSQL to listen on a connection of its own.
func New(dia, dsn string, logger *slog.Logger) (*Bus, error) {
	b := &Bus{postgres: dia == dialect.Postgres, done: make(chan struct{}), sent: make(chan struct{}),
		soon: map[Topic]struct{}{}, kick: make(chan struct{}, 1)}
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
	go b.send(ctx, cfg, logger)
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
		case err == nil && n.PID == b.sender.Load():
			// Our own PublishSoon, delivered here at its commit: heard
			// again now, later, it would drop what was cached meanwhile.
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
	afterCommit(tx, func() { b.deliver(t) })
	if !b.postgres {
		return nil
	}
	_, err := tx.Client().ExecContext(ctx, "SELECT pg_notify($1, $2)", channel, string(t))
	return err
}

// PublishSoon announces t, a change that other instances need not refuse at
// its commit (a row added: a cache that misses it serves what it served a
// moment before), after the transaction of ctx commits, or at once outside
// one. It is delivered in this process then, and on PostgreSQL to every
// instance by a NOTIFY sent after it, gathered with the others published
// within soonDelay: the transaction takes no part in PostgreSQL's
// notification lock, which lets only one notifying transaction commit at a
// time in the whole database.
func (b *Bus) PublishSoon(ctx context.Context, t Topic) {
	tx := ent.TxFromContext(ctx)
	if tx == nil {
		b.publishedSoon(t)
		return
	}
	afterCommit(tx, func() { b.publishedSoon(t) })
}

// afterCommit runs fn once tx has committed, never if it fails.
func afterCommit(tx *ent.Tx, fn func()) {
	tx.OnCommit(func(next ent.Committer) ent.Committer {
		return ent.CommitFunc(func(ctx context.Context, tx *ent.Tx) error {
			err := next.Commit(ctx, tx)
			if err == nil {
				fn()
			}
			return err
		})
	})
}

// publishedSoon delivers t here and, on PostgreSQL, queues it for the
// sending loop.
func (b *Bus) publishedSoon(t Topic) {
	b.deliver(t)
	if !b.postgres {
		return
	}
	b.soonMu.Lock()
	b.soon[t] = struct{}{}
	b.soonMu.Unlock()
	select {
	case b.kick <- struct{}{}:
	default:
	}
}

// send notifies the queued topics, soonDelay after the first of a batch,
// on a connection of its own (dialled when first needed, so that sending
// never waits for the store's pool), until ctx ends, when what is queued
// is sent one last time. A failed send keeps its topics queued and is
// tried again with backoff; should it never succeed, the caches' TTL
// bounds what other instances serve.
func (b *Bus) send(ctx context.Context, cfg *pgx.ConnConfig, logger *slog.Logger) {
	defer close(b.sent)
	var conn *pgx.Conn
	defer func() {
		if conn != nil {
			conn.Close(context.WithoutCancel(ctx))
		}
	}()
	flush := func(ctx context.Context) error {
		b.soonMu.Lock()
		topics := make([]string, 0, len(b.soon))
		for t := range b.soon {
			topics = append(topics, string(t))
		}
		clear(b.soon)
		b.soonMu.Unlock()
		if len(topics) == 0 {
			return nil
		}
		err := b.notify(ctx, cfg, &conn, topics)
		if err != nil {
			b.soonMu.Lock()
			for _, t := range topics {
				b.soon[Topic(t)] = struct{}{}
			}
			b.soonMu.Unlock()
		}
		return err
	}
	for wait := time.Duration(0); ; {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), pingTimeout)
			err := flush(fctx)
			cancel()
			if err != nil {
				logger.Warn("invalidations not sent before closing", "err", err)
			}
			return
		case <-b.kick:
		}
		select {
		case <-ctx.Done():
			continue
		case <-time.After(max(wait, soonDelay)):
		}
		if err := flush(ctx); err != nil && ctx.Err() == nil {
			wait = min(max(2*wait, minReconnect), maxReconnect)
			logger.Warn("invalidations not sent", "err", err, "retry_in", wait)
			select {
			case b.kick <- struct{}{}:
			default:
			}
			continue
		}
		wait = 0
	}
}

// notify sends topics in one statement on *conn, dialling it first when
// nil; a connection that fails is closed and set to nil.
func (b *Bus) notify(ctx context.Context, cfg *pgx.ConnConfig, conn **pgx.Conn, topics []string) error {
	if *conn == nil {
		c, err := pgx.ConnectConfig(ctx, cfg)
		if err != nil {
			return err
		}
		*conn = c
		b.sender.Store(c.PgConn().PID())
	}
	_, err := (*conn).Exec(ctx, "SELECT pg_notify($1, t) FROM unnest($2::text[]) AS t", channel, topics)
	if err != nil {
		(*conn).Close(context.WithoutCancel(ctx))
		*conn = nil
	}
	return err
}

// Close stops listening and sends what PublishSoon still holds.
func (b *Bus) Close() error {
	if b.stop == nil {
		return nil
	}
	b.stop()
	<-b.done
	<-b.sent
	return nil
}
