package graph

import (
	"reflect"

	"entgo.io/contrib/entgql"
	"github.com/google/uuid"

	"github.com/credvault/credvault/ent"
)

// pageComplexity counts a connection as the rows its page may hold: the
// complexity of what each row selects, times first or last as ent.PageSize
// bounds them. Counted as one field, a connection nested in another's rows
// let a document of a few fields read 200 rows for each of 200 parents, and
// so on down as deep as the depth limit allows.
func pageComplexity(childComplexity int, first, last *int) int {
	first, last = ent.PageSize(first, last)
	rows := 0
	switch {
	case first != nil:
		rows = *first
	case last != nil:
		rows = *last
	}
	return 1 + max(rows, 1)*childComplexity
}

// countPages sets pageComplexity on every connection field of c, found by
// its arguments (after, first, before, last), so a connection added to the
// schema is counted by its page the day it is added.
func countPages(c *ComplexityRoot) {
	cursor, size := reflect.TypeFor[*entgql.Cursor[uuid.UUID]](), reflect.TypeFor[*int]()
	types := reflect.ValueOf(c).Elem()
	for i := range types.NumField() {
		fields := types.Field(i)
		for j := range fields.NumField() {
			f := fields.Field(j)
			t := f.Type()
			if t.Kind() != reflect.Func || t.NumIn() < 5 || t.In(1) != cursor || t.In(2) != size || t.In(3) != cursor || t.In(4) != size {
				continue
			}
			f.Set(reflect.MakeFunc(t, func(args []reflect.Value) []reflect.Value {
				n := pageComplexity(int(args[0].Int()), args[2].Interface().(*int), args[4].Interface().(*int))
				return []reflect.Value{reflect.ValueOf(n)}
			}))
		}
	}
}
