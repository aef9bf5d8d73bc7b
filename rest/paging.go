package rest

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/google/uuid"

	"github.com/credvault/credvault/internal/platform/apperr"
	"github.com/credvault/credvault/internal/platform/paging"
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
	// after is the cursor's position, when the page follows a cursor.
	after *cursor
}

// Pagination is meta.pagination of a list response.
type Pagination struct {
	Limit  int `json:"limit"`
	Offset int `json:"offset"`
	Total  int `json:"total"`
	// TotalIsLowerBound is set (true) when the list runs on more than
	// paging.TotalCap items past the page's start: total is then a lower
	// bound, not a count.
	TotalIsLowerBound bool    `json:"total_is_lower_bound,omitempty"`
	HasNext           bool    `json:"has_next"`
	NextCursor        *string `json:"next_cursor"`
	Page              *int    `json:"page,omitempty"`
	PerPage           *int    `json:"per_page,omitempty"`
	TotalPages        *int    `json:"total_pages,omitempty"`
	HasPrevious       *bool   `json:"has_previous,omitempty"`
}

// cursor is what an opaque cursor holds: the position of the last item of
// a page in its list's order (sort and direction, the item's sort value and
// id), where the next page seeks to. It is not signed: Offset only says how
// many items came before, for meta.pagination, and Limit is only the next
// page's default size, bounded like limit.
type cursor struct {
	List string `json:"l"`
	Sort string `json:"s"`
	Desc bool   `json:"d,omitempty"`
	// Value is the sort value as paging.Column.Format wrote it; Null is set
	// when the item had none.
	Value  string    `json:"v,omitempty"`
	Null   bool      `json:"z,omitempty"`
	ID     uuid.UUID `json:"i"`
	Offset int       `json:"o"`
	Limit  int       `json:"n"`
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
		if !ok || cur.List != list || !slices.Contains(sortable, cur.Sort) {
			return p, apperr.Invalid("cursor", "invalid")
		}
		p.Offset, p.after = cur.Offset, &cur
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
	// A cursor is a position in one order: its own, which sort and order
	// may repeat but not change.
	if cur := p.after; cur != nil {
		if q.Has("sort") && p.Sort != cur.Sort || q.Has("order") && p.Desc != cur.Desc {
			return p, apperr.Invalid("cursor", "not of this sort and order")
		}
		p.Sort, p.Desc = cur.Sort, cur.Desc
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
	if err != nil || json.Unmarshal(raw, &c) != nil || c.Offset < 0 || c.Offset > MaxOffset || c.Limit < 1 || (c.Null && c.Value != "") {
		return c, false
	}
	return c, true
}

func encodeCursor(c cursor) string {
	raw, _ := json.Marshal(c)
	return base64.RawURLEncoding.EncodeToString(raw)
}

// Window is the page p asks for, as the lists' services take it: col is
// the sort column, which reads the cursor's value (422 when it does not).
func (p Paging) Window(col paging.Column) (paging.Window, error) {
	w := paging.Window{Offset: p.Offset, Limit: p.Limit, Sort: p.Sort, Desc: p.Desc, Nullable: col.Nullable()}
	if cur := p.after; cur != nil {
		v, err := col.Parse(cur.Value, cur.Null)
		if err != nil {
			return w, apperr.Invalid("cursor", "invalid")
		}
		w.After = &paging.Position{Value: v, ID: cur.ID}
	}
	return w, nil
}

// Pagination describes the page p of a list counted as total (as
// paging.Fetch counts, lowerBound when it stopped counting), whose last
// item is at last (nil on an empty page).
func (p Paging) Pagination(total int, lowerBound bool, last *paging.Position) *Pagination {
	out := &Pagination{Limit: p.Limit, Offset: p.Offset, Total: total, TotalIsLowerBound: lowerBound,
		HasNext: p.Offset+p.Limit < total && last != nil}
	if out.HasNext {
		value, null := paging.Format(last.Value)
		next := encodeCursor(cursor{List: p.list, Sort: p.Sort, Desc: p.Desc, Value: value, Null: null, ID: last.ID,
			Offset: p.Offset + p.Limit, Limit: p.Limit})
		out.NextCursor = &next
	}
	if p.ByPage {
		pages := (total + p.Limit - 1) / p.Limit
		prev := p.Page > 1
		out.Page, out.PerPage, out.TotalPages, out.HasPrevious = &p.Page, &p.Limit, &pages, &prev
	}
	return out
}
