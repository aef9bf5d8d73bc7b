// Package paging pages lists: GraphQL connections by cursor (their sizes and
// seek generated into ent from ent/template/seek.tmpl) and REST lists by
// window, over any ent query.
package paging

import (
	"context"

	"entgo.io/ent/dialect/sql"
	"github.com/google/uuid"

	"github.com/credvault/credvault/ent"
)

// TotalCap bounds how far a REST list counts past the start of a page: a
// list with more rows than that after the start reports a total of
// start + TotalCap + 1, a lower bound (see Window.TotalIsLowerBound), so a
// page never costs a count of a large table.
const TotalCap = 10_000

// Window is a page of a list sorted by one column, then by id: how the
// REST API pages, where GraphQL uses connections.
type Window struct {
	// Offset is where the page starts, or, on a cursor page, how many rows
	// preceded the cursor when it was made: reported, never skipped.
	Offset int
	Limit  int
	// Sort is a column of the listed table, checked by the caller.
	Sort string
	Desc bool
	// After is set on a cursor page: the page starts just past this
	// position, which the query seeks to on the (sort, id) index.
	After *Position
	// Nullable says the sort column may be NULL.
	Nullable bool
}

// Position is where a row stands in a window's order: its value of the
// sort column (a time.Time, a string, or nil for NULL) and its id.
type Position struct {
	Value any
	ID    uuid.UUID
}

// Term is the window's sort and, on a cursor page, its start. Empty values
// sort as the largest (ent.NullsLargest), so both databases agree.
func (w Window) Term() func(*sql.Selector) {
	order := sql.OrderByField(w.Sort, ent.NullsLargest(false)).ToFunc()
	if w.Desc {
		order = sql.OrderByField(w.Sort, sql.OrderDesc(), ent.NullsLargest(true)).ToFunc()
	}
	if w.After == nil {
		return order
	}
	return func(s *sql.Selector) {
		s.Where(w.seek(s))
		order(s)
	}
}

// Tie orders rows equal on the sort column by id, in the same direction.
func (w Window) Tie() func(*sql.Selector) {
	if w.Desc {
		return ent.Desc("id")
	}
	return ent.Asc("id")
}

// seek selects the rows past w.After in the window's order (ent.Seek, the
// rule GraphQL connections seek by too): NULLs come last ascending and
// first descending, as Term orders them.
func (w Window) seek(s *sql.Selector) *sql.Predicate {
	return ent.Seek(s, w.Sort, w.After.Value, w.After.ID, w.Desc, w.Nullable)
}

// TotalIsLowerBound reports whether total, as Fetch counted it for w, is a
// lower bound (the list runs on past TotalCap rows after the start) rather
// than the exact number of rows.
func (w Window) TotalIsLowerBound(total int) bool { return total-w.Offset > TotalCap }

// countQuery is what every ent query offers for a bounded count; S is its
// select builder, which Modify returns.
type countQuery[Q, S any] interface {
	Clone() Q
	Count(context.Context) (int, error)
	Limit(int) Q
	Modify(...func(*sql.Selector)) S
}

// listQuery is what every ent query offers for a page.
type listQuery[Q, T, S any] interface {
	countQuery[Q, S]
	Offset(int) Q
	All(context.Context) ([]T, error)
}

// countUpTo counts q's rows as far as TotalCap + 1, in one statement that
// reads no further and counts in the database: a count past TotalCap is a
// lower bound.
func countUpTo[Q countQuery[Q, S], S any](ctx context.Context, q Q) (int, error) {
	q = q.Clone().Limit(TotalCap + 1)
	q.Modify(countWithin) // adds to q; the select builder it returns is not needed
	return q.Count(ctx)
}

// countWithin makes s, its filters, order and limit applied, the subquery
// its count reads: ent's Count applies a limit to its one row of result,
// and reading up to TotalCap + 1 ids to count them cost the server ~5 ms.
func countWithin(s *sql.Selector) {
	within := s.Clone()
	within.Select(within.C("id"))
	// The outer query takes its subquery's name too, so that the column
	// Count names resolves to the subquery's (ent resolves a column of a
	// subquery to the table inside it).
	*s = *sql.Dialect(s.Dialect()).Select().From(within.As("bounded")).As("bounded")
}

// Fetch loads the window's page of q and counts the list, as far as
// TotalCap rows past the page's start; order applies w.Term and w.Tie to q
// (its option type differs per table). A page that ends the list costs one
// statement; a full page one more, counting from its start as far as
// TotalCap + 1 (countUpTo).
func Fetch[Q listQuery[Q, T, S], T, S any](ctx context.Context, q Q, w Window, order func(Q) Q) ([]T, int, error) {
	skip := w.Offset
	if w.After != nil {
		skip = 0
	}
	rows, err := order(q.Clone()).Offset(skip).Limit(w.Limit).All(ctx)
	if err != nil {
		return nil, 0, err
	}
	if len(rows) < w.Limit && (len(rows) > 0 || skip == 0) {
		return rows, w.Offset + len(rows), nil
	}
	counted := order(q.Clone())
	if len(rows) < w.Limit {
		// An offset past the end: the list is shorter than the offset.
		n, err := counted.Count(ctx)
		return rows, n, err
	}
	// The rest from the page's start, past the cursor's seek or the offset.
	if skip > 0 {
		counted = counted.Offset(skip)
	}
	n, err := countUpTo(ctx, counted)
	return rows, w.Offset + n, err
}

// whereInput is an entgql where input of the query type Q.
type whereInput[Q any] interface{ Filter(Q) (Q, error) }

// List filters q (as returned with err by a resolver's scope-checked
// query) by where and loads the window's page of it: the body of every REST
// list.
func List[Q listQuery[Q, T, S], T, S any, W whereInput[Q]](ctx context.Context, q Q, err error, where W, w Window, order func(Q) Q) ([]T, int, error) {
	if err != nil {
		return nil, 0, err
	}
	if q, err = where.Filter(q); err != nil {
		return nil, 0, err
	}
	return Fetch(ctx, q, w, order)
}
