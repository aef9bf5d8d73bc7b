package store

import (
	"bytes"
	"fmt"
	"testing"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgtype"
)

// TestUUIDsEncodeAsBytes: a uuid.UUID argument is encoded as the 16 bytes
// it is, not by pgx's plan for a driver.Valuer (its text, a failed binary
// encode and a parse, each time); a pointer, a nil pointer and a text
// parameter still encode.
func TestUUIDsEncodeAsBytes(t *testing.T) {
	m := pgtype.NewMap()
	registerTypes(m)
	id := uuid.New()
	if plan := m.PlanEncode(pgtype.UUIDOID, pgtype.BinaryFormatCode, id); fmt.Sprintf("%T", plan) != "*store.uuidEncodePlan" {
		t.Fatalf("uuid.UUID planned as %T", plan)
	}
	for _, v := range []any{id, &id} {
		buf, err := m.Encode(pgtype.UUIDOID, pgtype.BinaryFormatCode, v, nil)
		if err != nil || !bytes.Equal(buf, id[:]) {
			t.Fatalf("%T encoded as %x (%v), want its 16 bytes", v, buf, err)
		}
	}
	if buf, err := m.Encode(pgtype.UUIDOID, pgtype.BinaryFormatCode, (*uuid.UUID)(nil), nil); err != nil || buf != nil {
		t.Fatalf("a nil *uuid.UUID encoded as %x (%v), want NULL", buf, err)
	}
	if buf, err := m.Encode(pgtype.TextOID, pgtype.TextFormatCode, id, nil); err != nil || string(buf) != id.String() {
		t.Fatalf("uuid.UUID as text encoded as %q (%v), want %s", buf, err, id)
	}
}
