package rest

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/credvault/credvault/internal/platform/apperr"
)

// Paging limits.
const (
	DefaultLimit   = 50
	MaxLimit       = 200
	DefaultPerPage = 20
	MaxPerPage     = 100
	// MaxPage and MaxOffset bound where a window may start, so its offset
	// never overflows: past them is 422, no list is that long.
	MaxPage   = 1_000_000
	MaxOffset = 1_000_000_000
)

// Paging is a list request's window and order, parsed from the query string:
// limit/offset, page/per_page, or an opaque cursor, plus sort and order.
type Paging struct {
	Limit  int
	Offset int
	// ByPage is set when the client paged with page and per_page.
	ByPage bool
	Page   int
	// Sort is the field to sort by ("" for the list's default); Desc its direction.
	Sort string
	Desc bool
	// list names the list a cursor belongs to, so a cursor of another list is refused.
	list string
}

// Pagination is meta.pagination of a list response.
type Pagination struct {
	Limit       int     `json:"limit"`
	Offset      int     `json:"offset"`
	Total       int     `json:"total"`
	HasNext     bool    `json:"has_next"`
	NextCursor  *string `json:"next_cursor"`
	Page        *int    `json:"page,omitempty"`
	PerPage     *int    `json:"per_page,omitempty"`
	TotalPages  *int    `json:"total_pages,omitempty"`
	HasPrevious *bool   `json:"has_previous,omitempty"`
}

// cursor is what an opaque cursor holds.
type cursor struct {
	List   string `json:"l"`
	Offset int    `json:"o"`
	Limit  int    `json:"n"`
}

// ParsePaging reads the paging parameters of a list named list, allowing the
// sort fields in sortable (the first is the default, newest first).
func ParsePaging(q url.Values, list string, sortable []string) (Paging, error) {
	p := Paging{Limit: DefaultLimit, list: list, Desc: true}
	var err error
	if p.Limit, err = intParam(q, "limit", DefaultLimit, 1, MaxLimit); err != nil {
		return p, err
	}
	if p.Offset, err = boundedParam(q, "offset", 0, 0, MaxOffset); err != nil {
		return p, err
	}
	if q.Has("page") || q.Has("per_page") {
		if q.Has("offset") || q.Has("limit") {
			return p, apperr.Invalid("page", "not combinable with limit or offset")
		}
		if p.Page, err = boundedParam(q, "page", 1, 1, MaxPage); err != nil {
			return p, err
		}
		perPage, err := intParam(q, "per_page", DefaultPerPage, 1, MaxPerPage)
		if err != nil {
			return p, err
		}
		p.ByPage, p.Limit, p.Offset = true, perPage, (p.Page-1)*perPage
	}
	if c := q.Get("cursor"); c != "" {
		if q.Has("offset") || p.ByPage {
			return p, apperr.Invalid("cursor", "not combinable with offset or page")
		}
		cur, ok := decodeCursor(c)
		if !ok || cur.List != list {
			return p, apperr.Invalid("cursor", "invalid")
		}
		// The cursor is not signed: its position is bounded like offset, and
		// its page size is only a default, bounded like limit.
		p.Offset = cur.Offset
		if !q.Has("limit") {
			p.Limit = min(cur.Limit, MaxLimit)
		}
	}
	if s := q.Get("sort"); s != "" {
		if !slices.Contains(sortable, s) {
			return p, apperr.Invalid("sort", "unknown").With("allowed", sortable)
		}
		p.Sort = s
	} else if len(sortable) > 0 {
		p.Sort = sortable[0]
	}
	switch q.Get("order") {
	case "", "desc":
	case "asc":
		p.Desc = false
	default:
		return p, apperr.Invalid("order", "must be asc or desc")
	}
	return p, nil
}

// intParam parses a page size within [lo, hi]; a value over hi (however
// large) is clamped to it, as clients expect of page sizes.
func intParam(q url.Values, name string, def, lo, hi int) (int, error) {
	if !q.Has(name) {
		return def, nil
	}
	v, err := strconv.Atoi(q.Get(name))
	if errors.Is(err, strconv.ErrRange) && !strings.HasPrefix(q.Get(name), "-") {
		return hi, nil
	}
	if err != nil {
		return 0, apperr.Invalid(name, "must be an integer")
	}
	if v < lo {
		return 0, apperr.Invalid(name, "must be at least "+strconv.Itoa(lo))
	}
	return min(v, hi), nil
}

// boundedParam parses a window position within [lo, hi]: 422 outside it.
func boundedParam(q url.Values, name string, def, lo, hi int) (int, error) {
	if !q.Has(name) {
		return def, nil
	}
	v, err := strconv.Atoi(q.Get(name))
	if err != nil && !errors.Is(err, strconv.ErrRange) {
		return 0, apperr.Invalid(name, "must be an integer")
	}
	if err != nil || v < lo || v > hi {
		return 0, apperr.Invalid(name, "must be between "+strconv.Itoa(lo)+" and "+strconv.Itoa(hi))
	}
	return v, nil
}

func decodeCursor(s string) (cursor, bool) {
	var c cursor
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || json.Unmarshal(raw, &c) != nil || c.Offset < 0 || c.Offset > MaxOffset || c.Limit < 1 {
		return c, false
	}
	return c, true
}

func encodeCursor(c cursor) string {
	raw, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(raw)
}

// Pagination describes the window p over a list of total items.
func (p Paging) Pagination(total int) *Pagination {
	out := &Pagination{Limit: p.Limit, Offset: p.Offset, Total: total, HasNext: p.Offset+p.Limit < total}
	if out.HasNext {
		next := encodeCursor(cursor{List: p.list, Offset: p.Offset + p.Limit, Limit: p.Limit})
		out.NextCursor = &next
	}
	if p.ByPage {
		pages := (total + p.Limit - 1) / p.Limit
		prev := p.Page > 1
		out.Page, out.PerPage, out.TotalPages, out.HasPrevious = &p.Page, &p.Limit, &pages, &prev
	}
	return out
}
