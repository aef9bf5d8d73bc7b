package rest_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/credvault/credvault/internal/platform/apperr"
	"github.com/credvault/credvault/internal/platform/paging"
	"github.com/credvault/credvault/rest"
)

// A cursor is a position in its own order: the next page keeps the sort and
// direction it was made in, may repeat them, and may not change them.
func TestCursorKeepsItsOrder(t *testing.T) {
	t.Parallel()
	sortable := []string{"created_at", "name"}
	p, err := rest.ParsePaging(url.Values{"sort": {"name"}, "order": {"asc"}, "limit": {"2"}}, "GET /items", sortable)
	if err != nil {
		t.Fatal(err)
	}
	cur := *p.Pagination(10, false, &paging.Position{Value: "item 2", ID: uuid.New()}).NextCursor
	for _, q := range []url.Values{
		{"cursor": {cur}},
		{"cursor": {cur}, "sort": {"name"}, "order": {"asc"}},
	} {
		next, err := rest.ParsePaging(q, "GET /items", sortable)
		if err != nil || next.Sort != "name" || next.Desc || next.Offset != 2 || next.Limit != 2 {
			t.Errorf("%v: %+v, %v; want name ascending from 2, 2 a page", q, next, err)
		}
	}
	for _, q := range []url.Values{
		{"cursor": {cur}, "sort": {"created_at"}},
		{"cursor": {cur}, "order": {"desc"}},
	} {
		if _, err := rest.ParsePaging(q, "GET /items", sortable); !isValidation(err, "cursor") {
			t.Errorf("%v: %v, want 422 naming cursor", q, err)
		}
	}
}

// A cursor whose value is not of its sort column (here a time column) is
// 422, never a query.
func TestCursorOfAnotherTypeIsRefused(t *testing.T) {
	t.Parallel()
	h := router(itemsRoute(5))
	forged := func(c map[string]any) string {
		raw, _ := json.Marshal(c)
		return base64.RawURLEncoding.EncodeToString(raw)
	}
	id := uuid.New().String()
	for name, c := range map[string]map[string]any{
		"text for a time": {"l": "GET /items", "s": "created_at", "d": true, "v": "yesterday", "i": id, "o": 2, "n": 2},
		"null for a time": {"l": "GET /items", "s": "created_at", "d": true, "z": true, "i": id, "o": 2, "n": 2},
		"unknown sort":    {"l": "GET /items", "s": "password", "d": true, "v": "x", "i": id, "o": 2, "n": 2},
	} {
		_, _, r := listPage(t, h, "cursor="+forged(c))
		if r.status != 422 || r.code() != "VALIDATION_ERROR" || r.env.Error.Details["field"] != "cursor" {
			t.Errorf("%s: %d %s, want 422 naming cursor", name, r.status, r.body)
		}
	}
	ok := forged(map[string]any{"l": "GET /items", "s": "created_at", "d": true,
		"v": time.Unix(1, 0).UTC().Format(time.RFC3339Nano), "i": id, "o": 2, "n": 2})
	if _, _, r := listPage(t, h, "cursor="+ok); r.status != 200 {
		t.Errorf("a well-formed cursor: %d %s", r.status, r.body)
	}
}

// Past paging.TotalCap items after the page's start, total is a lower
// bound, and says so; otherwise the flag is absent.
func TestTotalLowerBound(t *testing.T) {
	t.Parallel()
	p, err := rest.ParsePaging(url.Values{"offset": {"100"}}, "GET /items", nil)
	if err != nil {
		t.Fatal(err)
	}
	last := &paging.Position{ID: uuid.New()}
	for _, tc := range []struct {
		lowerBound bool
		want       string
	}{
		{true, `"total_is_lower_bound":true`},
		{false, ""},
	} {
		raw, _ := json.Marshal(p.Pagination(100+paging.TotalCap+1, tc.lowerBound, last))
		var got map[string]any
		_ = json.Unmarshal(raw, &got)
		if flag, present := got["total_is_lower_bound"]; present != tc.lowerBound || (present && flag != true) || got["has_next"] != true {
			t.Errorf("lower bound %v: %s", tc.lowerBound, raw)
		}
	}
}

func isValidation(err error, field string) bool {
	var ae *apperr.Error
	return errors.As(err, &ae) && ae.Code == apperr.Validation && ae.Details["field"] == field
}
