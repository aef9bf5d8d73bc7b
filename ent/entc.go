//go:build ignore

// entc generates the data layer and the GraphQL schema of the ent types.
package main

import (
	"log"

	"entgo.io/contrib/entgql"
	"entgo.io/ent/entc"
	"entgo.io/ent/entc/gen"
)

func main() {
	ex, err := entgql.NewExtension(
		entgql.WithSchemaGenerator(),
		entgql.WithSchemaPath("graph/ent.graphqls"),
		entgql.WithConfigPath("gqlgen.yml"),
		entgql.WithWhereInputs(true),
	)
	if err != nil {
		log.Fatalf("creating entgql extension: %v", err)
	}
	// Overrides entgql's Paginate body (see the template): added after
	// entgql's own templates, it replaces their helper of the same name.
	// collection.tmpl and edge.tmpl replace entgql's gql_collection and its
	// edge's paginate helper the same way; seek.tmpl, a template of its own
	// name, is a file of its own: ent/seek.go.
	paginate := gen.MustParse(gen.NewTemplate("paginate").Funcs(entgql.TemplateFuncs).
		ParseFiles("ent/template/paginate.tmpl", "ent/template/collection.tmpl", "ent/template/edge.tmpl",
			"ent/template/seek.tmpl"))
	err = entc.Generate("./ent/schema", &gen.Config{
		Features: []gen.Feature{
			gen.FeaturePrivacy,
			gen.FeatureEntQL,
			gen.FeatureUpsert,
			gen.FeatureLock,
			gen.FeatureModifier,
			gen.FeatureExecQuery,
		},
	}, entc.Extensions(ex), func(cfg *gen.Config) error {
		cfg.Templates = append(cfg.Templates, paginate)
		return nil
	})
	if err != nil {
		log.Fatalf("running ent codegen: %v", err)
	}
}
