package server

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"
	"github.com/vektah/gqlparser/v2/validator"

	"github.com/credvault/credvault/graph"
)

// mib is the largest body /graphql takes.
const mib = 1 << 20

// repeatTo repeats unit between prefix and suffix as often as fits in size bytes.
func repeatTo(prefix, unit, suffix string, size int) string {
	return prefix + strings.Repeat(unit, (size-len(prefix)-len(suffix))/len(unit)) + suffix
}

// fragments spreads n fragments in one selection set, each selecting body.
func fragments(n int, body string) string {
	var b strings.Builder
	b.WriteString("{")
	for i := range n {
		fmt.Fprintf(&b, " ...F%d", i)
	}
	b.WriteString(" }")
	for i := range n {
		fmt.Fprintf(&b, " fragment F%d on Query { %s }", i, body)
	}
	return b.String()
}

// distinct selects field n times under different aliases.
func distinct(n int, field string) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, " s%d: %s", i, field)
	}
	return b.String()
}

// fragmentChain is levels fragments, each spreading the next twice.
func fragmentChain(levels int) string {
	var b strings.Builder
	b.WriteString("{ ...F0 }")
	for i := range levels {
		fmt.Fprintf(&b, " fragment F%d on Query { __typename ...F%d ...F%d }", i, i+1, i+1)
	}
	fmt.Fprintf(&b, " fragment F%d on Query { __typename }", levels)
	return b.String()
}

// hugeDocument is a request body built to make validation or execution
// expensive, and a word of the error refusing it.
type hugeDocument struct {
	name string
	body []byte
	want string
}

// hugeDocuments are the worst documents under 1 MiB: repeated fields, one
// response name with different arguments, deep nesting, fragments, long
// id lists.
func hugeDocuments(t testing.TB) []hugeDocument {
	ids := make([]string, 0, 25_000)
	for range cap(ids) {
		ids = append(ids, uuid.NewString())
	}
	idList := `["` + strings.Join(ids[:5000], `", "`) + `"]`
	docs := []struct {
		name, query string
		vars        map[string]any
		want        string
	}{
		{"10,000 repeated fields", "{" + strings.Repeat(" __typename", 9_990) + " }", nil, "times in one selection set"},
		{"100,000 repeated fields", "{" + strings.Repeat(" a", 100_000) + " }", nil, "tokens"},
		{"repeated fields up to 1 MiB", repeatTo("{", " __typename", " }", mib-100), nil, "tokens"},
		{"900 aliases of one field, different arguments", "{" + strings.Repeat(` a: node(id: "`+ids[0]+`") { id }`, 450) +
			strings.Repeat(` a: node(id: "`+ids[1]+`") { id }`, 450) + " }", nil, "times in one selection set"},
		{"fields nested 300 deep", "{ " + strings.Repeat(`node(id: "x") { ... on APIKey { serviceAccount { `, 300) + "id" +
			strings.Repeat(" } } }", 300) + " }", nil, "depth"},
		{"700 fragments spread in one selection set", fragments(700, "__typename"), nil, "fragment spreads"},
		{"fragments up to 1 MiB", repeatTo("{ ...F } ", "fragment F on Query { __typename ...F } ", "", mib-100), nil, "tokens"},
		{"fragments spreading fragments, 2^20 expansions", fragmentChain(20), nil, "fragment spreads"},
		{"5,000 ids in nodes", `{ nodes(ids: ` + idList + `) { id } }`, nil, "complexity"},
		{"25,000 ids in a variable", `query($ids: [ID!]!) { nodes(ids: $ids) { id } }`, map[string]any{"ids": ids}, "complexity"},
		{"variable definitions up to 1 MiB", repeatTo("query(", "$v: ID ", ") { __typename }", mib-100), nil, "tokens"},
	}
	out := make([]hugeDocument, 0, len(docs))
	for _, d := range docs {
		body, err := json.Marshal(map[string]any{"query": d.query, "variables": d.vars})
		if err != nil {
			t.Fatal(err)
		}
		if len(body) > mib {
			t.Fatalf("%s: %d bytes, over 1 MiB", d.name, len(body))
		}
		out = append(out, hugeDocument{d.name, body, d.want})
	}
	return out
}

func parse(t *testing.T, query string) *ast.QueryDocument {
	t.Helper()
	doc, err := parser.ParseQuery(&ast.Source{Input: query})
	if err != nil {
		t.Fatalf("%.80s: %v", query, err)
	}
	return doc
}

func TestDocumentDepth(t *testing.T) {
	t.Parallel()
	nest := func(n int) string {
		return "{ " + strings.Repeat(`node(id: "x") { ... on APIKey { serviceAccount { `, n) + "id" + strings.Repeat(" } } }", n) + " }"
	}
	for _, tc := range []struct {
		query string
		depth int
	}{
		{`{ health { status } }`, 2},
		{`{ __typename }`, 0},
		{`{ __schema { types { fields { type { ofType { name } } } } } }`, 0},
		{`{ node(id: "x") { id } }`, 2},
		{`{ node(id: "x") { ... on ServiceAccount { apiKeys { edges { node { id } } } } } }`, 5},
		{`{ node(id: "x") { ...SA } } fragment SA on ServiceAccount { apiKeys { totalCount } }`, 3},
		{`{ a: health { status } b: node(id: "x") { ... on APIKey { serviceAccount { apiKeys { edges { cursor } } } } } }`, 5},
		// The sub-selections of fields sharing a response name merge.
		{`{ node(id: "x") { id } node(id: "x") { ... on APIKey { serviceAccount { id } } } }`, 3},
		{nest(5), 11},
		{nest(6), 13},
	} {
		doc := parse(t, tc.query)
		s := sizer{definitions: map[string]*ast.FragmentDefinition{}, expanding: map[string]bool{}}
		for _, f := range doc.Fragments {
			s.definitions[f.Name] = f
		}
		if got := s.group([]ast.SelectionSet{doc.Operations[0].SelectionSet}); got != tc.depth {
			t.Errorf("%s: depth %d, want %d", tc.query, got, tc.depth)
		}
		err := checkDocument(doc)
		if over := tc.depth > maxDepth; over != (err != nil) {
			t.Errorf("%s: depth %d refused: %v", tc.query, tc.depth, err)
		}
	}
}

// TestDocumentLimitsAtTheirEdges: each limit admits its value and refuses
// one more.
func TestDocumentLimitsAtTheirEdges(t *testing.T) {
	t.Parallel()
	aliases := func(n int) string {
		var b strings.Builder
		for i := range n {
			fmt.Fprintf(&b, " a%d: __typename", i)
		}
		return b.String()
	}
	for _, tc := range []struct {
		name, query, refused string
	}{
		{"same name", "{" + strings.Repeat(" __typename", maxSameName) + " }", ""},
		{"same name", "{" + strings.Repeat(" __typename", maxSameName+1) + " }", `selects "__typename" more than 50 times`},
		{"same name in merged sub-selections", "{" + strings.Repeat(" health { status }", maxSameName) + " }", ""},
		{"same name in merged sub-selections", "{" + strings.Repeat(" health { status status }", 26) + " }", `selects "status" more than 50 times`},
		{"same name through fragments", "{ ...A ...A } fragment A on Query {" + strings.Repeat(" __typename", 26) + " }", `selects "__typename"`},
		{"spreads", fragments(maxSpreads, "__typename"), ""},
		{"spreads", fragments(maxSpreads+1, "__typename"), "more than 50 fragment spreads"},
		{"selections", "{" + aliases(maxSelections) + " }", ""},
		{"selections", "{" + aliases(maxSelections+1) + " }", "more than 2000 selections"},
		{"selections of fragment definitions", "{" + aliases(1000) + " } fragment A on Query {" + aliases(1001) + " }", "more than 2000 selections"},
		{"selections of fragments wherever spread", "{" + distinct(70, "health { ...S }") + " } fragment S on HealthStatus {" + distinct(28, "status") + " }", "more than 2000 selections"},
		{"spreads of fragments within fragments", fragmentChain(10), "more than 50 fragment spreads"},
		{"a cycle is left to validation", "{ ...A } fragment A on Query { __typename ...A }", ""},
		{"GraphiQL's introspection query", introspectionQuery, ""},
	} {
		err := checkDocument(parse(t, tc.query))
		switch {
		case tc.refused == "" && err != nil:
			t.Errorf("%s: refused: %v", tc.name, err)
		case tc.refused != "" && (err == nil || !strings.Contains(err.Message, tc.refused)):
			t.Errorf("%s: %v, want an error with %q", tc.name, err, tc.refused)
		case err != nil && err.Extensions["code"] != "GRAPHQL_VALIDATION_FAILED":
			t.Errorf("%s: code %v", tc.name, err.Extensions["code"])
		}
	}
}

// introspectionQuery is graphql-js's getIntrospectionQuery with every
// option on, as GraphiQL sends it.
var introspectionQuery = `query IntrospectionQuery {
  __schema {
    description
    queryType { name kind }
    mutationType { name kind }
    subscriptionType { name kind }
    types { ...FullType }
    directives { name description isRepeatable locations args(includeDeprecated: true) { ...InputValue } }
  }
}
fragment FullType on __Type {
  kind name description specifiedByURL isOneOf
  fields(includeDeprecated: true) {
    name description
    args(includeDeprecated: true) { ...InputValue }
    type { ...TypeRef }
    isDeprecated deprecationReason
  }
  inputFields(includeDeprecated: true) { ...InputValue }
  interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
  possibleTypes { ...TypeRef }
}
fragment InputValue on __InputValue {
  name description type { ...TypeRef } defaultValue isDeprecated deprecationReason
}
fragment TypeRef on __Type {
  kind name` + strings.Repeat(" ofType { kind name", 9) + strings.Repeat(" }", 9) + `
}`

// worstAdmitted are documents within every limit built to make validation
// costly: many fields sharing names, fragments spread in many selection
// sets, many operations.
func worstAdmitted() map[string]string {
	var b strings.Builder
	b.WriteString("{")
	for i := range maxSelections / maxSameName {
		b.WriteString(strings.Repeat(fmt.Sprintf(" a%d: __typename", i), maxSameName))
	}
	b.WriteString(" }")
	sameNames := b.String()

	b.Reset()
	for i := range 40 {
		fmt.Fprintf(&b, "query Q%d {%s } ", i, strings.Repeat(" __typename", 49))
	}
	operations := b.String()
	return map[string]string{
		"40 names, each 50 times":          sameNames,
		"50 fields sharing a name, merged": "{" + strings.Repeat(" health {"+distinct(38, "status")+" }", maxSameName) + " }",
		"50 spreads of 19 fields":          fragments(maxSpreads, distinct(19, "__typename")),
		"50 spreads, conflicting":          fragmentsWithArgs(maxSpreads),
		"40 operations":                    operations,
	}
}

// fragmentsWithArgs spreads n fragments selecting node under one response
// name with n different ids: every pair conflicts.
func fragmentsWithArgs(n int) string {
	var b strings.Builder
	b.WriteString("{")
	for i := range n {
		fmt.Fprintf(&b, " ...F%d", i)
	}
	b.WriteString(" }")
	for i := range n {
		fmt.Fprintf(&b, ` fragment F%d on Query { node(id: "%d") { id } }`, i, i)
	}
	return b.String()
}

// TestWorstAdmittedDocumentsValidate: what the limits admit is validated
// by gqlgen's own rules (the pairwise comparisons the limits bound).
func TestWorstAdmittedDocumentsValidate(t *testing.T) {
	t.Parallel()
	schema := graph.NewSchema(&graph.Resolver{}).Schema()
	for name, query := range worstAdmitted() {
		doc, err := parser.ParseQueryWithTokenLimit(&ast.Source{Input: query}, maxTokens)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if err := checkDocument(doc); err != nil {
			t.Fatalf("%s: refused: %v", name, err)
		}
		errs := validator.ValidateWithRules(schema, doc, rulesWithoutSuggestions())
		if conflicts := strings.Contains(name, "conflicting"); conflicts != (len(errs) > 0) {
			t.Errorf("%s: %d validation errors", name, len(errs))
		}
	}
}
