package server

import (
	"context"
	"errors"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/parser"
)

// Limits of one GraphQL document, checked on the parsed document before
// gqlgen validates it. Validation compares the fields that share a
// response name pairwise, and every fragment spread in a selection set with
// every other (OverlappingFieldsCanBeMerged), so its cost grows with the
// square of those numbers; the limits keep it to milliseconds.
const (
	// maxTokens bounds parsing: gqlparser stops reading past it.
	maxTokens = 10_000
	// maxSelections bounds the walk of validation: fields, inline fragments
	// and fragment spreads of every operation and fragment definition, a
	// fragment's selections counted again wherever it is spread.
	maxSelections = 2_000
	// maxSameName bounds the fields sharing one response name in one
	// selection set (fragments included, and the sub-selections of fields
	// that share a name merged, as validation compares them).
	maxSameName = 50
	// maxSpreads bounds the fragment spreads in one selection set.
	maxSpreads = 50
	// maxDepth bounds the nesting of fields; introspection fields are not
	// counted (GraphiQL's own schema query is deep).
	maxDepth = 12
	// maxComplexity bounds execution: gqlgen's count of one operation's
	// fields, each list field multiplied as its complexity function says (a
	// connection by the rows of its page, nodes(ids) by its ids): 50 parents
	// with 50 rows each of a nested connection, a dozen fields a row, pass;
	// 200 rows under each of 200 parents do not.
	maxComplexity = 40_000
)

// complexityLimitExceeded is gqlgen's code for an operation over
// maxComplexity; registered as a protocol error, it answers 422 as the other
// limits do, where gqlgen would answer 200.
const complexityLimitExceeded = "COMPLEXITY_LIMIT_EXCEEDED"

func init() { errcode.RegisterErrorType(complexityLimitExceeded, errcode.KindProtocol) }

// documentLimits refuses a document over maxTokens, maxSelections,
// maxSameName, maxSpreads or maxDepth before gqlgen parses and validates
// it, for every caller (credentials are checked only when fields run). It runs before persisted
// queries are looked up or stored, so a stored query has passed it; a
// document in parsed, gqlgen's cache of validated documents, has passed it
// too and is not parsed again.
type documentLimits struct {
	parsed graphql.Cache[*ast.QueryDocument]
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationParameterMutator
} = documentLimits{}

func (documentLimits) ExtensionName() string                   { return "DocumentLimits" }
func (documentLimits) Validate(graphql.ExecutableSchema) error { return nil }

func (l documentLimits) MutateOperationParameters(ctx context.Context, p *graphql.RawParams) *gqlerror.Error {
	if p.Query == "" {
		return nil
	}
	if _, ok := l.parsed.Get(ctx, p.Query); ok {
		return nil
	}
	doc, err := parser.ParseQueryWithTokenLimit(&ast.Source{Input: p.Query}, maxTokens)
	if err != nil {
		var ge *gqlerror.Error
		if !errors.As(err, &ge) {
			ge = gqlerror.Wrap(err)
		}
		if strings.HasPrefix(ge.Message, "exceeded token limit") {
			return limitError("document has more than %d tokens, the limit", maxTokens)
		}
		errcode.Set(ge, errcode.ParseFailed)
		return ge
	}
	return checkDocument(doc)
}

func limitError(format string, args ...any) *gqlerror.Error {
	err := gqlerror.Errorf(format, args...)
	errcode.Set(err, errcode.ValidationFailed)
	return err
}

// checkDocument holds doc to the limits, in time linear in the selections
// it counts: past maxSelections it stops.
func checkDocument(doc *ast.QueryDocument) *gqlerror.Error {
	s := sizer{definitions: map[string]*ast.FragmentDefinition{}, expanding: map[string]bool{}}
	for _, f := range doc.Fragments {
		s.definitions[f.Name] = f
	}
	for _, op := range doc.Operations {
		depth := s.group([]ast.SelectionSet{op.SelectionSet})
		if s.err != nil {
			return s.err
		}
		if depth > maxDepth {
			return limitError("operation has depth %d, more than the limit of %d", depth, maxDepth)
		}
	}
	// Validation walks each fragment definition on its own as well.
	for _, f := range doc.Fragments {
		if s.group([]ast.SelectionSet{f.SelectionSet}); s.err != nil {
			return s.err
		}
	}
	return nil
}

type sizer struct {
	definitions map[string]*ast.FragmentDefinition
	// expanding holds the fragments being expanded within one group: a
	// fragment spread within itself is left to validation to name.
	expanding  map[string]bool
	selections int
	err        *gqlerror.Error
}

// responseName is the fields of one group that answer under one name.
type responseName struct {
	count int
	// counted is whether one of them is not an introspection field, so
	// counts for depth with its sub-selections.
	counted bool
	subs    []ast.SelectionSet
}

// group checks the fields that sets select together — a selection set, or
// the sub-selections of the fields sharing one response name, which
// validation compares with each other — with their fragments expanded, and
// returns their depth.
func (s *sizer) group(sets []ast.SelectionSet) int {
	var names []string
	byName := map[string]*responseName{}
	spreads := 0
	var collect func(set ast.SelectionSet)
	collect = func(set ast.SelectionSet) {
		for _, sel := range set {
			if s.err != nil {
				return
			}
			if s.selections++; s.selections > maxSelections {
				s.err = limitError("document has more than %d selections (a fragment counted wherever it is spread), the limit", maxSelections)
				return
			}
			switch x := sel.(type) {
			case *ast.Field:
				n := byName[x.Alias]
				if n == nil {
					n = &responseName{}
					byName[x.Alias] = n
					names = append(names, x.Alias)
				}
				if n.count++; n.count > maxSameName {
					s.err = limitError("document selects %q more than %d times in one selection set, the limit", x.Alias, maxSameName)
					return
				}
				n.counted = n.counted || !strings.HasPrefix(x.Name, "__")
				if len(x.SelectionSet) > 0 {
					n.subs = append(n.subs, x.SelectionSet)
				}
			case *ast.InlineFragment:
				collect(x.SelectionSet)
			case *ast.FragmentSpread:
				if spreads++; spreads > maxSpreads {
					s.err = limitError("document has more than %d fragment spreads in one selection set, the limit", maxSpreads)
					return
				}
				def := s.definitions[x.Name]
				if def == nil || s.expanding[x.Name] {
					continue
				}
				s.expanding[x.Name] = true
				collect(def.SelectionSet)
				delete(s.expanding, x.Name)
			}
		}
	}
	for _, set := range sets {
		collect(set)
	}
	depth := 0
	for _, name := range names {
		n := byName[name]
		d := 0
		if len(n.subs) > 0 {
			d = s.group(n.subs)
		}
		if s.err != nil {
			return 0
		}
		if n.counted {
			d++
		} else {
			d = 0
		}
		depth = max(depth, d)
	}
	return depth
}
