package paging

import (
	"errors"
	"reflect"
	"strings"
	"time"

	"github.com/google/uuid"
)

// Column is a sort column of a listed row type, found among the row's
// fields by JSON name: ent names each entity field after its column, so
// the column a list sorts by is the field a cursor reads.
type Column struct {
	field, id []int
	kind      reflect.Type
}

var (
	timeType = reflect.TypeFor[time.Time]()
	uuidType = reflect.TypeFor[uuid.UUID]()
)

// ColumnOf finds the column name of the row type T (a struct or a pointer
// to one) and T's id field: false when T has either missing, or the column
// is of a type no cursor holds (a time, a string, or a pointer to either).
func ColumnOf[T any](name string) (Column, bool) {
	t := reflect.TypeFor[T]()
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t.Kind() != reflect.Struct {
		return Column{}, false
	}
	var c Column
	for _, f := range reflect.VisibleFields(t) {
		switch json, _, _ := strings.Cut(f.Tag.Get("json"), ","); json {
		case name:
			c.field, c.kind = f.Index, f.Type
		case "id":
			if f.Type == uuidType {
				c.id = f.Index
			}
		}
	}
	value := c.kind
	if value != nil && value.Kind() == reflect.Pointer {
		value = value.Elem()
	}
	ok := c.id != nil && value != nil && (value == timeType || value.Kind() == reflect.String)
	return c, ok
}

// Nullable reports whether the column may hold NULL.
func (c Column) Nullable() bool { return c.kind.Kind() == reflect.Pointer }

// Position is where row (of the column's row type) stands in an order by
// the column: its value (a time.Time, a string or nil) and its id.
func (c Column) Position(row any) Position {
	v := reflect.Indirect(reflect.ValueOf(row))
	p := Position{ID: v.FieldByIndex(c.id).Interface().(uuid.UUID)}
	f := v.FieldByIndex(c.field)
	if f.Kind() == reflect.Pointer {
		if f.IsNil() {
			return p
		}
		f = f.Elem()
	}
	if f.Type() == timeType {
		p.Value = f.Interface().(time.Time)
	} else {
		p.Value = f.String()
	}
	return p
}

// Format writes a Position's value as text, which Parse reads back; null
// when there is none.
func Format(v any) (text string, null bool) {
	switch v := v.(type) {
	case time.Time:
		return v.UTC().Format(time.RFC3339Nano), false
	case string:
		return v, false
	default:
		return "", true
	}
}

// errNotOfColumn refuses a value that cannot be the column's.
var errNotOfColumn = errors.New("paging: value not of the column's type")

// Parse reads text written by Format as a value of the column.
func (c Column) Parse(text string, null bool) (any, error) {
	switch {
	case null && c.Nullable():
		return nil, nil
	case null:
		return nil, errNotOfColumn
	}
	t := c.kind
	if t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t != timeType {
		return text, nil
	}
	v, err := time.Parse(time.RFC3339Nano, text)
	if err != nil {
		return nil, errNotOfColumn
	}
	return v.UTC(), nil
}
