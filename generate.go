package main

// ent first: gqlgen reads the schema and types that entc writes.
//go:generate go run -mod=mod ./ent/entc.go
//go:generate go tool gqlgen generate
