package graph_test

import (
	"context"
	"strings"
	"testing"

	"github.com/credvault/credvault/graph"
)

// TestEveryConnectionCountsItsRows: each connection field of the schema,
// root or nested, today's and any added tomorrow, counts its selections
// once per row its page may hold, 50 when neither first nor last is given,
// at most 200, so the complexity limit sees what a document reads.
func TestEveryConnectionCountsItsRows(t *testing.T) {
	es := graph.NewSchema(&graph.Resolver{})
	ctx := context.Background()
	n := 0
	for _, typ := range es.Schema().Types {
		for _, f := range typ.Fields {
			if !strings.HasSuffix(f.Type.Name(), "Connection") || f.Arguments.ForName("first") == nil {
				continue
			}
			n++
			name := typ.Name + "." + f.Name
			for args, want := range map[string]struct {
				raw  map[string]any
				want int
			}{
				"first: 7":    {map[string]any{"first": 7}, 1 + 7*10},
				"last: 3":     {map[string]any{"last": 3}, 1 + 3*10},
				"neither":     {map[string]any{}, 1 + 50*10},
				"first: 5000": {map[string]any{"first": 5000}, 1 + 200*10},
			} {
				got, ok := es.Complexity(ctx, typ.Name, f.Name, 10, want.raw)
				if !ok || got != want.want {
					t.Errorf("%s (%s): complexity %d (%v), want %d", name, args, got, ok, want.want)
				}
			}
		}
	}
	if n < 25 {
		t.Fatalf("%d connection fields found, want the 25 or more of today", n)
	}
}
