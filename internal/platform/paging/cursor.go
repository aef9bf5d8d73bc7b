package paging

import (
	"math"
	"reflect"
	"time"

	"entgo.io/contrib/entgql"
	"github.com/google/uuid"

	"github.com/credvault/credvault/internal/platform/apperr"
)

// Cursors are a connection page's after and before cursors and the order
// in effect: an ent order such as *ent.APIKeyOrder, or nil for entgql's
// default, by id.
type Cursors struct {
	After, Before *entgql.Cursor[uuid.UUID]
	Order         any
}

// check refuses a cursor whose order value the order in effect could not
// have written, as invalid input naming the argument: a value under the
// default order (which writes none), or one of another type than the order
// field's. The database would otherwise be asked to compare it with the
// column, and fail: PostgreSQL cannot read "x" as a timestamp, SQLite
// takes no unsigned integer past the largest signed one.
func (c Cursors) check() error {
	for _, arg := range [...]struct {
		name   string
		cursor *entgql.Cursor[uuid.UUID]
	}{{"after", c.After}, {"before", c.Before}} {
		if arg.cursor == nil || arg.cursor.Value == nil {
			continue
		}
		// Read only for a cursor with a value: a first page costs nothing.
		if want, ok := orderValueType(c.Order); !ok || !fits(arg.cursor.Value, want) {
			return apperr.Invalid(arg.name, "not a cursor of this order")
		}
	}
	return nil
}

// orderValueType is the type of the value order writes into its cursors:
// what its field's Value gives for an empty node (the pointed-to type for
// a field that may be null). False for the default order, which writes
// none.
func orderValueType(order any) (reflect.Type, bool) {
	o := reflect.ValueOf(order)
	if o.Kind() != reflect.Pointer || o.IsNil() {
		return nil, false
	}
	field := o.Elem().FieldByName("Field")
	if field.Kind() != reflect.Pointer || field.IsNil() {
		return nil, false
	}
	value := field.Elem().FieldByName("Value")
	if value.Kind() != reflect.Func || value.IsNil() {
		return nil, false
	}
	out := value.Call([]reflect.Value{reflect.New(value.Type().In(0).Elem())})
	v := out[0].Elem()
	if !v.IsValid() {
		return nil, false
	}
	t := v.Type()
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t, true
}

// fits says whether v, an order value as a cursor decodes it, can be
// compared with a column whose values are of type t.
func fits(v any, t reflect.Type) bool {
	if t == reflect.TypeFor[time.Time]() {
		_, ok := v.(time.Time)
		return ok
	}
	rv := reflect.ValueOf(v)
	switch t.Kind() {
	case reflect.String:
		return rv.Kind() == reflect.String
	case reflect.Bool:
		return rv.Kind() == reflect.Bool
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return isInt64(rv)
	case reflect.Float32, reflect.Float64:
		return isInt64(rv) || rv.Kind() == reflect.Float32 || rv.Kind() == reflect.Float64
	}
	return false
}

// isInt64 says whether rv is an integer that a signed 64-bit column holds.
func isInt64(rv reflect.Value) bool {
	switch rv.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return true
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return rv.Uint() <= math.MaxInt64
	}
	return false
}
