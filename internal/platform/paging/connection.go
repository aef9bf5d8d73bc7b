package paging

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"

	"github.com/credvault/credvault/ent"
)

// Connection is the body of every GraphQL connection resolver: q, filtered
// by filter when there is one, paged by paginate within first and last as
// ent.PageSize bounds them, and its totalCount, when it or totalCountIsLowerBound
// is selected, counted as far as a REST total is (see TotalCap): exact up
// to TotalCap rows, past that TotalCap + 1, a lower bound (IsLowerBound),
// so that a page never costs a count of a large table. entgql's own count,
// of every row, is kept out by handing paginate a context in which
// totalCount is not selected; a page that holds the whole list is its own
// count. page returns the connection's TotalCount field and its PageInfo.
// A cursor that the order in effect could not have written is refused
// first (Cursors).
func Connection[Q countQuery[Q, S], C, S any](ctx context.Context, q Q, filter func(Q) (Q, error), first, last *int, cursors Cursors,
	paginate func(ctx context.Context, q Q, first, last *int) (*C, error), page func(*C) (*int, ent.PageInfo)) (*C, error) {
	if err := cursors.check(); err != nil {
		return nil, err
	}
	if filter != nil {
		var err error
		if q, err = filter(q); err != nil {
			return nil, err
		}
	}
	first, last = ent.PageSize(first, last)
	ctx, counted, listed := withoutTotalCount(ctx)
	counting := q.Clone() // paginate adds the cursors and the limit to q
	conn, err := paginate(ctx, q, first, last)
	if err != nil || !counted {
		return conn, err
	}
	total, info := page(conn)
	// A page read with neither a previous nor a next page (entgql sets
	// them for an after or before cursor, or a row past the page) holds
	// the whole list, and entgql set TotalCount to its length: no count.
	// entgql reads no rows when the size is 0 or neither edges nor
	// pageInfo is selected.
	read := listed && (first == nil || *first > 0) && (last == nil || *last > 0)
	if read && !info.HasNextPage && !info.HasPreviousPage {
		return conn, nil
	}
	// Otherwise counted in one statement, whatever the page holds.
	*total, err = countUpTo(ctx, counting)
	return conn, err
}

// IsLowerBound reports whether a connection's totalCount is a lower bound,
// by the REST list's rule for a page at the start: Connection stopped
// counting at TotalCap + 1. (A nested connection, which entgql counts
// exactly, is reported as one past TotalCap too, which its exact count
// still satisfies.)
func IsLowerBound(totalCount int) bool { return Window{}.TotalIsLowerBound(totalCount) }

// withoutTotalCount returns ctx with the current field's totalCount and
// totalCountIsLowerBound unselected, whether either was selected (under any
// alias), and whether edges or pageInfo was, which make entgql read the
// page's rows.
func withoutTotalCount(ctx context.Context) (_ context.Context, counted, listed bool) {
	fc := graphql.GetFieldContext(ctx)
	if fc == nil {
		return ctx, false, false
	}
	var rest ast.SelectionSet
	for _, f := range graphql.CollectFields(graphql.GetOperationContext(ctx), fc.Field.Selections, nil) {
		if f.Name == "totalCount" || f.Name == "totalCountIsLowerBound" {
			counted = true
			continue
		}
		listed = listed || f.Name == "edges" || f.Name == "pageInfo"
		// The collected field, its repeated selections merged.
		field := *f.Field
		field.SelectionSet = f.Selections
		rest = append(rest, &field)
	}
	if !counted {
		return ctx, false, listed
	}
	hidden := *fc
	hidden.Field.Selections = rest
	ctx = graphql.WithFieldContext(ctx, &hidden)
	hidden.Parent = fc.Parent // the same field, not a child of itself
	return ctx, true, listed
}
