package ratelimit

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/go-chi/httprate"
	httprateredis "github.com/go-chi/httprate-redis"
	"github.com/redis/go-redis/v9"
)

// What Store reports.
const (
	StoreLocal       = "local"
	StoreRedis       = "redis"
	StoreUnreachable = "local (redis unreachable)"
)

// redisTimeout bounds each Redis command: past it, a counter counts in
// memory, so a slow or absent Redis never holds a request for long.
const redisTimeout = 250 * time.Millisecond

// Counters makes the counters limits are kept in. Nil counts in memory,
// each instance on its own; from NewRedisCounters, in Redis, shared by every
// instance using the same Redis and prefix. While Redis does not answer, its
// counters count in memory (httprate-redis's fallback) and try Redis again
// every 200 ms: requests are never refused for Redis.
type Counters struct {
	client redis.UniversalClient
	prefix string
	logger *slog.Logger

	mu       sync.Mutex
	counters []fallbackCounter
}

// fallbackCounter is an httprate-redis counter: it tells when it counts in
// memory.
type fallbackCounter interface {
	httprate.LimitCounter
	IsFallbackActivated() bool
}

// NewRedisCounters keeps counters in the Redis at url (redis://…, rediss://…)
// under keys starting with prefix. Only a malformed url is an error: a Redis
// that does not answer is logged and counted around.
func NewRedisCounters(url, prefix string, logger *slog.Logger) (*Counters, error) {
	opts, err := redis.ParseURL(url)
	if err != nil {
		// The URL may hold a password: name the problem, not the URL.
		return nil, errors.New("ratelimit: CREDVAULT_REDIS_URL is not a redis:// or rediss:// URL")
	}
	// Short timeouts and no retries, as httprate-redis advises, so that the
	// fallback takes over quickly.
	opts.DialTimeout, opts.ReadTimeout, opts.WriteTimeout = 2*redisTimeout, redisTimeout, redisTimeout
	opts.MaxRetries = -1
	c := &Counters{client: redis.NewClient(opts), prefix: prefix, logger: logger}
	ctx, cancel := context.WithTimeout(context.Background(), 2*redisTimeout)
	defer cancel()
	if err := c.client.Ping(ctx).Err(); err != nil {
		logger.Warn("rate limits: redis does not answer; counting in memory until it does", "err", err)
	}
	return c, nil
}

// counter returns a new counter for the limiter named name; each limiter
// has its own, so that equal keys of different limiters never share a count.
func (c *Counters) counter(name string, window time.Duration) *counter {
	if c == nil || c.client == nil {
		lc := httprate.NewLocalLimitCounter(window)
		// Windows align to the clock (now.Truncate(window)), as callers assume.
		lc.Config(0, window)
		return &counter{LimitCounter: lc, window: window}
	}
	prefix := c.prefix + ":" + name
	rc := httprateredis.NewCounter(&httprateredis.Config{
		Client:       c.client,
		PrefixKey:    prefix,
		WindowLength: window,
		OnFallbackChange: func(local bool) {
			if local {
				c.logger.Warn("rate limits: redis does not answer; counting in memory", "limiter", name)
			} else {
				c.logger.Info("rate limits: redis answers again; counting in redis", "limiter", name)
			}
		},
	})
	// The counter learns its window here (it sets how long keys live).
	rc.Config(0, window)
	c.mu.Lock()
	c.counters = append(c.counters, rc)
	c.mu.Unlock()
	return &counter{LimitCounter: rc, redis: rc, client: c.client, prefix: prefix, window: window}
}

// counter is an httprate counter that can also count and read in one
// atomic step, which makes a limit exact under concurrent requests.
type counter struct {
	httprate.LimitCounter
	// mu makes add atomic in memory.
	mu sync.Mutex
	// Set in Redis: the httprate-redis counter, whose keys add uses too,
	// and which add leaves to count while Redis does not answer.
	redis  fallbackCounter
	client redis.UniversalClient
	prefix string
	window time.Duration
}

// take counts one event for key at now and keeps it when admit, given the
// current window's count with it (curr) and the previous window's (prev),
// says so. Counting first, then looking makes a limit exact among
// concurrent events on every instance sharing the counters: checking first
// would let several pass on the same last slot. A refused event is taken
// back, so that refusals do not prolong the wait; once the window has
// turned, its count is left alone (the in-memory counter has moved on). The
// counts returned are a refused event's without it.
func (c *counter) take(key string, now time.Time, admit func(curr, prev int) bool) (curr, prev int, ok bool) {
	start := now.Truncate(c.window)
	curr, prev = c.add(key, start, start.Add(-c.window), 1)
	if admit(curr, prev) {
		return curr, prev, true
	}
	if time.Now().UTC().Truncate(c.window).Equal(start) {
		_ = c.IncrementBy(key, start, -1)
		curr--
	}
	return curr, prev, false
}

// add counts n for key in the window starting at curr and returns the
// count of that window after it, and of the window before (prev).
func (c *counter) add(key string, curr, prev time.Time, n int) (int, int) {
	if c.redis != nil && !c.redis.IsFallbackActivated() {
		// One MULTI/EXEC with httprate-redis's keys and expiry: the count
		// returned is the one this request made, whatever other instances do.
		ctx := context.Background()
		pipe := c.client.TxPipeline()
		incr := pipe.IncrBy(ctx, c.key(key, curr), int64(n))
		pipe.Expire(ctx, c.key(key, curr), 3*c.window)
		before := pipe.Get(ctx, c.key(key, prev))
		_, err := pipe.Exec(ctx)
		if err == nil || errors.Is(err, redis.Nil) && incr.Err() == nil {
			p, _ := before.Int()
			return int(incr.Val()), p
		}
		// Else the counter below meets the failure and falls back to memory.
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	// Errors are not refusals: in Redis the counter falls back to memory,
	// which never fails.
	_ = c.IncrementBy(key, curr, n)
	cu, pr, _ := c.Get(key, curr, prev)
	return cu, pr
}

// key is httprate-redis's key of key in window.
func (c *counter) key(key string, window time.Time) string {
	return fmt.Sprintf("%s:%d", c.prefix, httprate.LimitCounterKey(key, window))
}

// Store says where limits are counted: StoreLocal without Redis, StoreRedis,
// or StoreUnreachable while any counter falls back to memory.
func (c *Counters) Store() string {
	if c == nil || c.client == nil {
		return StoreLocal
	}
	if c.FallingBack() {
		return StoreUnreachable
	}
	return StoreRedis
}

// FallingBack reports whether Redis is configured and some counter counts
// in memory because it does not answer.
func (c *Counters) FallingBack() bool {
	if c == nil {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, rc := range c.counters {
		if rc.IsFallbackActivated() {
			return true
		}
	}
	return false
}

// Close closes the Redis connections.
func (c *Counters) Close() error {
	if c == nil || c.client == nil {
		return nil
	}
	return c.client.Close()
}
