-- wrk script: the GraphQL query apiKeys(first: 50), authenticated by KEY
-- (X-API-Key).
wrk.method = "POST"
wrk.path = "/graphql"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-API-Key"] = os.getenv("KEY")
wrk.body = '{"query":"{ apiKeys(first: 50) { totalCount edges { node { id name prefix scopes createdAt } } } }"}'
