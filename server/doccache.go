package server

import (
	"context"

	"github.com/99designs/gqlgen/graphql/handler/lru"
)

// maxCachedDocument is the longest document text the parsed-query and
// persisted-query caches keep: their 1,000 entries then hold at most 64 MiB
// of text each, where documents of up to 1 MiB could fill a gigabyte.
const maxCachedDocument = 64 << 10

// documentCache is an LRU cache of up to size entries that keeps only
// entries whose document text, as textOf tells it, is short enough; a longer
// document is parsed or sent again each time.
type documentCache[T any] struct {
	lru    *lru.LRU[T]
	textOf func(key string, value T) string
}

func newDocumentCache[T any](size int, textOf func(key string, value T) string) *documentCache[T] {
	return &documentCache[T]{lru: lru.New[T](size), textOf: textOf}
}

// Get looks key up.
func (c *documentCache[T]) Get(ctx context.Context, key string) (T, bool) {
	return c.lru.Get(ctx, key)
}

// Add keeps value under key unless its document is too long.
func (c *documentCache[T]) Add(ctx context.Context, key string, value T) {
	if len(c.textOf(key, value)) <= maxCachedDocument {
		c.lru.Add(ctx, key, value)
	}
}
