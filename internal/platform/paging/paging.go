// Package paging pages lists: GraphQL connections by cursor (sizes bounded
// here) and REST lists by offset window, over any ent query.
package paging

import (
	"context"

	"entgo.io/ent/dialect/sql"

	"github.com/credvault/credvault/ent"
)

// Connection page sizes: a connection asked for without first or last gets
// the default, and no page is larger than the maximum.
const (
	DefaultSize = 50
	MaxSize     = 200
)

// Size bounds first and last, so a connection never loads a whole table.
func Size(first, last *int) (*int, *int) {
	clamp := func(n *int) *int {
		if n == nil {
			return nil
		}
		v := min(max(*n, 0), MaxSize)
		return &v
	}
	first, last = clamp(first), clamp(last)
	if first == nil && last == nil {
		n := DefaultSize
		first = &n
	}
	return first, last
}

// Window is an offset page of a list, sorted by one column: how the REST
// API pages, where GraphQL uses cursors.
type Window struct {
	Offset int
	Limit  int
	// Sort is a column of the listed table, checked by the caller.
	Sort string
	Desc bool
}

// Term is the window's sort. Empty values sort as the largest (last when
// ascending, first when descending), PostgreSQL's rule, which SQLite is told
// explicitly so both agree. Tie breaks ties so pages never overlap.
func (w Window) Term() func(*sql.Selector) {
	if w.Desc {
		return sql.OrderByField(w.Sort, sql.OrderDesc(), sql.OrderNullsFirst()).ToFunc()
	}
	return sql.OrderByField(w.Sort, sql.OrderNullsLast()).ToFunc()
}

// Tie orders rows equal on the sort column by id, in the same direction.
func (w Window) Tie() func(*sql.Selector) {
	if w.Desc {
		return ent.Desc("id")
	}
	return ent.Asc("id")
}

// listQuery is what every ent query offers for an offset page.
type listQuery[Q any, T any] interface {
	Clone() Q
	Count(context.Context) (int, error)
	Offset(int) Q
	Limit(int) Q
	All(context.Context) ([]T, error)
}

// Fetch counts the rows of q and loads the window's page of them;
// order applies w.Term and w.Tie to q (its option type differs per table).
func Fetch[Q listQuery[Q, T], T any](ctx context.Context, q Q, w Window, order func(Q) Q) ([]T, int, error) {
	total, err := q.Clone().Count(ctx)
	if err != nil {
		return nil, 0, err
	}
	if w.Offset >= total {
		return []T{}, total, nil
	}
	rows, err := order(q).Offset(w.Offset).Limit(w.Limit).All(ctx)
	return rows, total, err
}

// whereInput is an entgql where input of the query type Q.
type whereInput[Q any] interface{ Filter(Q) (Q, error) }

// List filters q (as returned with err by a resolver's scope-checked
// query) by where and loads the window's page of it: the body of every REST
// list.
func List[Q listQuery[Q, T], T any, W whereInput[Q]](ctx context.Context, q Q, err error, where W, w Window, order func(Q) Q) ([]T, int, error) {
	if err != nil {
		return nil, 0, err
	}
	if q, err = where.Filter(q); err != nil {
		return nil, 0, err
	}
	return Fetch(ctx, q, w, order)
}
