package console_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/validator/rules"

	"github.com/credvault/credvault/graph"
)

// TestOperationsMatchSchema parses and validates every GraphQL operation of
// the console (src/graphql/*.graphql) against the server's schema: a schema
// change that breaks the console fails the build.
func TestOperationsMatchSchema(t *testing.T) {
	schema := graph.NewExecutableSchema(graph.Config{}).Schema()
	files, err := filepath.Glob(filepath.Join("src", "graphql", "*.graphql"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) < 10 {
		t.Fatalf("found %d operation files under src/graphql, want one per page", len(files))
	}
	seen := map[string]string{}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		doc, errs := gqlparser.LoadQueryWithRules(schema, string(src), rules.NewDefaultRules())
		if errs != nil {
			t.Errorf("%s: %v", f, errs)
			continue
		}
		if len(doc.Operations) == 0 {
			t.Errorf("%s: no operation", f)
		}
		for _, op := range doc.Operations {
			if op.Name == "" {
				t.Errorf("%s: an operation without a name (the console sends each by name)", f)
			}
			if other, ok := seen[op.Name]; ok {
				t.Errorf("operation %s is in both %s and %s", op.Name, other, f)
			}
			seen[op.Name] = f
		}
	}
	// Every operation the script sends by name is one of these files'.
	app, err := os.ReadFile(filepath.Join("src", "app.js"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range sentOperations(string(app)) {
		if _, ok := seen[name]; !ok {
			t.Errorf("src/app.js sends operation %s, which no src/graphql file defines", name)
		}
	}
	_ = ast.Query
}

// sentOperations lists the names in the script's gql('Name', …) calls.
func sentOperations(src string) []string {
	var names []string
	for _, part := range strings.Split(src, "gql('")[1:] {
		if name, _, ok := strings.Cut(part, "'"); ok {
			names = append(names, name)
		}
	}
	return names
}
