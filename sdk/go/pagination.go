package credvault

import (
	"context"
	"iter"
	"net/url"
	"strconv"
)

// ListOptions are the paging and order of a list. The zero value (or nil)
// is the server's default order, 50 items a page.
type ListOptions struct {
	// Limit is the page size (1–200); the iterators fetch pages of it.
	Limit int
	// Sort is the field to sort by and Order "asc" or "desc".
	Sort  string
	Order string
	// Cursor starts after the page whose next_cursor it is.
	Cursor string
	// Offset skips items (the first page only: later pages follow cursors).
	Offset int
}

func (o *ListOptions) values(q url.Values) url.Values {
	if q == nil {
		q = url.Values{}
	}
	if o == nil {
		return q
	}
	if o.Limit > 0 {
		q.Set("limit", strconv.Itoa(o.Limit))
	}
	if o.Sort != "" {
		q.Set("sort", o.Sort)
	}
	if o.Order != "" {
		q.Set("order", o.Order)
	}
	if o.Cursor != "" {
		q.Set("cursor", o.Cursor)
	} else if o.Offset > 0 {
		q.Set("offset", strconv.Itoa(o.Offset))
	}
	return q
}

// Page is one page of a list.
type Page[T any] struct {
	Items      []T
	Pagination Pagination
}

// page fetches one page of the list at path with query q.
func page[T any](ctx context.Context, c *Client, path string, q url.Values) (*Page[T], error) {
	var items []T
	p, err := c.do(ctx, &request{method: "GET", path: path, query: q}, &items)
	if err != nil {
		return nil, err
	}
	out := &Page[T]{Items: items}
	if p != nil {
		out.Pagination = *p
	}
	return out, nil
}

// all iterates every item of the list at path from query q on, page after
// page, following next_cursor. An error ends the iteration after yielding it.
func all[T any](ctx context.Context, c *Client, path string, q url.Values) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		for {
			p, err := page[T](ctx, c, path, q)
			if err != nil {
				var zero T
				yield(zero, err)
				return
			}
			for _, item := range p.Items {
				if !yield(item, nil) {
					return
				}
			}
			next := p.Pagination.NextCursor
			if !p.Pagination.HasNext || next == nil || *next == "" || len(p.Items) == 0 {
				return
			}
			q = cloneValues(q)
			q.Del("offset")
			q.Del("page")
			q.Del("per_page")
			q.Set("cursor", *next)
		}
	}
}

func cloneValues(q url.Values) url.Values {
	out := make(url.Values, len(q))
	for k, v := range q {
		out[k] = append([]string(nil), v...)
	}
	return out
}

// Collect gathers every item of seq in a slice, stopping at the first error.
func Collect[T any](seq iter.Seq2[T, error]) ([]T, error) {
	var out []T
	for item, err := range seq {
		if err != nil {
			return out, err
		}
		out = append(out, item)
	}
	return out, nil
}
