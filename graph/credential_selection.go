package graph

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
)

// selectsCredentialData reports whether the query selects the data of the
// credentials under the current IntegrationCredentials field: the vault
// then checks the decrypting read (credentials:decrypt) instead of the
// metadata read (credentials:read), as the REST routes do.
func selectsCredentialData(ctx context.Context) bool {
	oc := graphql.GetOperationContext(ctx)
	for _, f := range graphql.CollectFieldsCtx(ctx, []string{"IntegrationCredentials"}) {
		if f.Name != "credentials" {
			continue
		}
		for _, g := range graphql.CollectFields(oc, f.Selections, []string{"Credential", "Node"}) {
			if g.Name == "data" {
				return true
			}
		}
	}
	return false
}
