package store_test

import (
	"context"
	"slices"
	"testing"

	"github.com/google/uuid"

	"github.com/credvault/credvault/internal/platform/store/storetest"
)

// TestPostgresUUIDArguments: a uuid.UUID argument, sent as its 16 bytes
// (TestUUIDsEncodeAsBytes), reads back the same as a uuid and as text.
func TestPostgresUUIDArguments(t *testing.T) {
	t.Parallel()
	if !slices.Contains(storetest.Backends(), "postgres") {
		t.Skip(storetest.EnvURL + " is not set")
	}
	st := storetest.Open(t, "postgres")
	ctx := context.Background()
	id := uuid.New()
	var back uuid.UUID
	var text string
	if err := st.DB.QueryRowContext(ctx, "SELECT $1::uuid, $2::text", id, id).Scan(&back, &text); err != nil {
		t.Fatal(err)
	}
	if back != id || text != id.String() {
		t.Fatalf("read back %s and %q, want %s", back, text, id)
	}
}
