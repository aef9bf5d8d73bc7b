// Package ids makes the primary keys of stored rows.
package ids

import "github.com/google/uuid"

// New returns a time-ordered UUID (version 7): rows inserted together land
// on the same index pages, where random ids would each dirty a page of their
// own in every index holding the id (a write's cost on SQLite and
// PostgreSQL alike). Ids are not secrets: tenant rules guard every row.
func New() uuid.UUID { return uuid.Must(uuid.NewV7()) }
