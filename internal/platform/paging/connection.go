package paging

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
)

// Connection is the body of every GraphQL connection resolver: q, filtered
// by filter when there is one, paged by paginate within first and last as
// Size bounds them, and its totalCount, when selected, counted as far as a
// REST total is (see TotalCap): exact up to TotalCap rows, past that
// TotalCap + 1, a lower bound, so that a page never costs a count of a
// large table. entgql's own count, of every row, is kept out by handing
// paginate a context in which totalCount is not selected. total returns
// the connection's TotalCount field.
func Connection[Q countQuery[Q], C any](ctx context.Context, q Q, filter func(Q) (Q, error), first, last *int,
	paginate func(ctx context.Context, q Q, first, last *int) (*C, error), total func(*C) *int) (*C, error) {
	if filter != nil {
		var err error
		if q, err = filter(q); err != nil {
			return nil, err
		}
	}
	first, last = Size(first, last)
	ctx, counted := withoutTotalCount(ctx)
	counting := q.Clone() // paginate adds the cursors and the limit to q
	conn, err := paginate(ctx, q, first, last)
	if err != nil || !counted {
		return conn, err
	}
	// Counted in one statement, whatever the page holds, so that a
	// connection costs the same number of statements at any size.
	*total(conn), err = countUpTo(ctx, counting)
	return conn, err
}

// withoutTotalCount returns ctx with the current field's totalCount
// unselected, and whether it was selected (under any alias).
func withoutTotalCount(ctx context.Context) (_ context.Context, counted bool) {
	fc := graphql.GetFieldContext(ctx)
	if fc == nil {
		return ctx, false
	}
	var rest ast.SelectionSet
	for _, f := range graphql.CollectFields(graphql.GetOperationContext(ctx), fc.Field.Selections, nil) {
		if f.Name == "totalCount" {
			counted = true
			continue
		}
		// The collected field, its repeated selections merged.
		field := *f.Field
		field.SelectionSet = f.Selections
		rest = append(rest, &field)
	}
	if !counted {
		return ctx, false
	}
	hidden := *fc
	hidden.Field.Selections = rest
	ctx = graphql.WithFieldContext(ctx, &hidden)
	hidden.Parent = fc.Parent // the same field, not a child of itself
	return ctx, true
}
