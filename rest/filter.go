package rest

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"strconv"
	"time"

	"github.com/google/uuid"

	"github.com/credvault/credvault/internal/platform/apperr"
	"github.com/credvault/credvault/internal/platform/inputs"
	"github.com/credvault/credvault/internal/platform/paging"
)

// Filter is a query parameter of a list route, named after the field it
// filters by (SPEC §5). The declaration is the whole of it: Where decodes
// and checks it into the list's where input, and the OpenAPI document
// describes it, so what a route reads and what it documents are one list.
type Filter struct {
	Name string
	// Field is the field of the where input the value goes to, such as
	// "Status" or "OccurredAtGTE".
	Field string
	// Enum is the set of allowed values, when the field has one.
	Enum []string
	// Format is the OpenAPI string format of the value: "uuid" or "date-time".
	Format string
	// Doc describes the filter; the default is "Only items whose <name> is this value."
	Doc string
}

// check refuses a value outside the filter's set or format: 422 naming it.
func (f Filter) check(v string) error {
	switch {
	case len(f.Enum) > 0 && !slices.Contains(f.Enum, v):
		return apperr.Invalid(f.Name, "invalid").With("allowed", f.Enum)
	case f.Format == "uuid":
		if _, err := uuid.Parse(v); err != nil {
			return apperr.Invalid(f.Name, "must be a UUID")
		}
	case f.Format == "date-time":
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return apperr.Invalid(f.Name, "must be an RFC 3339 time")
		}
		return inputs.Time(f.Name, t)
	}
	return nil
}

// Where decodes the route's declared filters present in the query into a
// new where input W (an entgql WhereInput), each into its Field. A route
// reads no other query parameter: its filters are exactly its declaration.
func Where[W any](c *Call) (*W, error) {
	where := new(W)
	rv := reflect.ValueOf(where).Elem()
	q := c.Request.URL.Query()
	for _, f := range c.route.Filters {
		v := q.Get(f.Name)
		if v == "" {
			continue
		}
		if err := f.check(v); err != nil {
			return nil, err
		}
		field := rv.FieldByName(f.Field)
		if !field.IsValid() || field.Kind() != reflect.Pointer {
			panic(fmt.Sprintf("rest: filter %s of %s %s: %T has no pointer field %q", f.Name, c.route.Method, c.route.Path, where, f.Field))
		}
		field.Set(filterValue(field.Type().Elem(), v))
	}
	return where, nil
}

// filterValue is v, already checked, as a pointer to a value of type t.
func filterValue(t reflect.Type, v string) reflect.Value {
	p := reflect.New(t)
	switch t {
	case reflect.TypeFor[uuid.UUID]():
		p.Elem().Set(reflect.ValueOf(uuid.MustParse(v)))
	case reflect.TypeFor[time.Time]():
		tm, _ := time.Parse(time.RFC3339Nano, v)
		p.Elem().Set(reflect.ValueOf(tm))
	case reflect.TypeFor[bool]():
		b, _ := strconv.ParseBool(v)
		p.Elem().SetBool(b)
	default:
		p.Elem().SetString(v) // a string, or an ent enum of string kind
	}
	return p
}

// HandleWhere makes a list route over a service's list: the route's
// declared filters decode into the where input W, the paging into the
// window, and toJSON shapes each row.
func HandleWhere[W, T, Item any](r Route, list func(context.Context, *W, paging.Window) ([]T, int, error), toJSON func(T) Item) Route {
	return HandleList(r, func(ctx context.Context, c *Call, w paging.Window) ([]T, int, error) {
		where, err := Where[W](c)
		if err != nil {
			return nil, 0, err
		}
		return list(ctx, where, w)
	}, toJSON)
}
