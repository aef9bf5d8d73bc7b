package schema

import (
	"entgo.io/ent"
	"entgo.io/ent/schema/index"
)

// pageIndexes are the indexes a list of a table pages by. Every list is
// ordered by one sort field and then id, within scope (the tenant, or
// nothing for a table without one), and pages seek to (sort value, id): so
// each sort has the index (scope..., sort, id), and a page reads its own
// rows from it in order, however deep. (scope..., id) serves the GraphQL
// connections' default order.
func pageIndexes(scope []string, sorts ...string) []ent.Index {
	out := []ent.Index{index.Fields(append(append([]string{}, scope...), "id")...)}
	for _, s := range sorts {
		out = append(out, index.Fields(append(append([]string{}, scope...), s, "id")...))
	}
	return out
}

// filterIndexes are the indexes of equality filters over a list in its
// default order: (scope..., filter..., sort, id) for each filter, a page
// of matching rows then being as cheap as an unfiltered one.
func filterIndexes(scope []string, sort string, filters ...[]string) []ent.Index {
	out := make([]ent.Index, 0, len(filters))
	for _, f := range filters {
		out = append(out, index.Fields(append(append(append([]string{}, scope...), f...), sort, "id")...))
	}
	return out
}

// tenantScope scopes the lists of tenant-owned rows.
var tenantScope = []string{"tenant_id"}
