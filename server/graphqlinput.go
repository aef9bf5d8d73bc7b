package server

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"entgo.io/contrib/entgql"
	"github.com/99designs/gqlgen/graphql"
	"github.com/google/uuid"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"

	"github.com/credvault/credvault/internal/platform/apperr"
	"github.com/credvault/credvault/internal/platform/inputs"
)

// inputCheck checks every argument of an operation, literals and variables
// alike, before anything runs: a malformed ID, UUID, Time, Cursor or Map
// (which gqlgen would otherwise fail to decode inside execution, an
// INTERNAL_ERROR), a time outside years 1–9999 or a NUL character (the
// inputs rules), input objects nested deeper than maxInputDepth, a where
// filter of more than maxFilters filters or a list of more than maxListItems
// items, is a VALIDATION_ERROR naming the argument, such as
// input.expiresAt, and nothing runs.
type inputCheck struct{ schema *ast.Schema }

// Bounds of an argument, which a variable can make as large as the body:
// a where filter nested a thousand deep, or of a thousand alternatives,
// became SQL the database refused (SQLite's expression depth, an
// INTERNAL_ERROR) or took long to plan.
const (
	// maxInputDepth bounds the input objects nested in one argument.
	maxInputDepth = 10
	// maxFilters bounds the where filters (input objects of a type named
	// …WhereInput: one, and each of its and, or and not) in one argument.
	maxFilters = 100
	// maxListItems bounds a list in an argument: a filter's nameIn of 40,000
	// names passed the databases' limit of bound parameters (INTERNAL_ERROR).
	maxListItems = 1000
)

var _ interface {
	graphql.HandlerExtension
	graphql.OperationContextMutator
} = &inputCheck{}

func (*inputCheck) ExtensionName() string { return "InputCheck" }

func (c *inputCheck) Validate(es graphql.ExecutableSchema) error {
	c.schema = es.Schema()
	return nil
}

func (c *inputCheck) MutateOperationContext(_ context.Context, oc *graphql.OperationContext) *gqlerror.Error {
	if oc.Operation == nil {
		return nil
	}
	if err := c.selections(oc, oc.Operation.SelectionSet, map[string]bool{}); err != nil {
		return &gqlerror.Error{Message: err.Message, Err: err}
	}
	return nil
}

// selections checks the arguments of every field in set, each fragment once
// (its arguments are the same wherever it is spread).
func (c *inputCheck) selections(oc *graphql.OperationContext, set ast.SelectionSet, seen map[string]bool) *apperr.Error {
	for _, sel := range set {
		var err *apperr.Error
		switch s := sel.(type) {
		case *ast.Field:
			if err = c.arguments(oc, s); err == nil {
				err = c.selections(oc, s.SelectionSet, seen)
			}
		case *ast.InlineFragment:
			err = c.selections(oc, s.SelectionSet, seen)
		case *ast.FragmentSpread:
			if s.Definition != nil && !seen[s.Name] {
				seen[s.Name] = true
				err = c.selections(oc, s.Definition.SelectionSet, seen)
			}
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (c *inputCheck) arguments(oc *graphql.OperationContext, f *ast.Field) *apperr.Error {
	if f.Definition == nil {
		return nil
	}
	for _, arg := range f.Arguments {
		def := f.Definition.Arguments.ForName(arg.Name)
		if def == nil || arg.Value == nil {
			continue
		}
		v, err := arg.Value.Value(oc.Variables)
		if err != nil {
			continue // gqlparser's validation has answered this already
		}
		filters := 0
		if err := c.value(def.Type, v, arg.Name, 0, &filters); err != nil {
			return err
		}
	}
	return nil
}

// value checks v, a decoded argument value, against its schema type t; v
// is depth input objects deep in its argument, which has filters where
// filters so far.
func (c *inputCheck) value(t *ast.Type, v any, path string, depth int, filters *int) *apperr.Error {
	if v == nil {
		return nil
	}
	if t.Elem != nil {
		list, ok := v.([]any)
		if !ok {
			return c.value(t.Elem, v, path, depth, filters)
		}
		if len(list) > maxListItems {
			return apperr.Invalid(path, "too_long").With("max_items", maxListItems)
		}
		for i, item := range list {
			if err := c.value(t.Elem, item, path+"["+strconv.Itoa(i)+"]", depth, filters); err != nil {
				return err
			}
		}
		return nil
	}
	def := c.schema.Types[t.NamedType]
	if def == nil {
		return nil
	}
	if def.Kind == ast.InputObject {
		if depth++; depth > maxInputDepth {
			return apperr.Invalid(path, "too_deep").With("max_depth", maxInputDepth)
		}
		if strings.HasSuffix(def.Name, "WhereInput") {
			if *filters++; *filters > maxFilters {
				arg, _, _ := strings.Cut(path, ".")
				arg, _, _ = strings.Cut(arg, "[")
				return apperr.Invalid(arg, "too_long").With("max_filters", maxFilters)
			}
		}
		fields, _ := v.(map[string]any)
		for name, fv := range fields {
			if fd := def.Fields.ForName(name); fd != nil {
				if err := c.value(fd.Type, fv, path+"."+name, depth, filters); err != nil {
					return err
				}
			}
		}
		return nil
	}
	return scalar(def.Name, v, path)
}

// scalar decodes v as gqlgen will, so what would fail there fails here, as
// a VALIDATION_ERROR, and applies the inputs rules.
func scalar(name string, v any, path string) *apperr.Error {
	var err error
	switch name {
	case "String":
		s, _ := v.(string)
		err = inputs.String(path, s)
	case "ID", "UUID":
		if _, perr := graphql.UnmarshalUUID(v); perr != nil {
			err = apperr.Invalid(path, "must be a UUID")
		}
	case "Time":
		t, perr := graphql.UnmarshalTime(v)
		if perr != nil {
			err = apperr.Invalid(path, "must be an RFC 3339 time")
		} else {
			err = inputs.Time(path, t)
		}
	case "Cursor":
		if perr := new(entgql.Cursor[uuid.UUID]).UnmarshalGQL(v); perr != nil {
			err = apperr.Invalid(path, "invalid")
		}
	case "Map":
		m, perr := graphql.UnmarshalMap(v)
		if perr != nil {
			err = apperr.Invalid(path, "must be an object")
		} else {
			err = anyStrings(m, path)
		}
	}
	if err != nil {
		return apperr.From(err)
	}
	return nil
}

// anyStrings applies the inputs rules to every string in v, a decoded JSON
// value, keys included.
func anyStrings(v any, path string) error {
	switch v := v.(type) {
	case string:
		return inputs.String(path, v)
	case []any:
		for i, item := range v {
			if err := anyStrings(item, path+"["+strconv.Itoa(i)+"]"); err != nil {
				return err
			}
		}
	case map[string]any:
		for k, item := range v {
			sub := fmt.Sprintf("%s.%s", path, k)
			if err := inputs.String(sub, k); err != nil {
				return err
			}
			if err := anyStrings(item, sub); err != nil {
				return err
			}
		}
	}
	return nil
}
