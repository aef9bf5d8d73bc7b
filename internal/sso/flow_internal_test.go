package sso

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/credvault/credvault/ent/user"
)

// TestClaimsNameFitsTheUsersTable: the name a provider sends becomes the
// user's name as the users table takes it, however long and in whatever
// script: at most 200 bytes, whole characters.
func TestClaimsNameFitsTheUsersTable(t *testing.T) {
	for _, in := range []string{"  Jane Doe  ", strings.Repeat("é", 150), strings.Repeat("名", 100), strings.Repeat("a", 300)} {
		got := (&idClaims{Name: in}).name()
		if err := user.NameValidator(got); err != nil || !utf8.ValidString(got) || !strings.HasPrefix(strings.TrimSpace(in), got) {
			t.Errorf("name of %d bytes became %q (%v): want a prefix the users table takes", len(in), got, err)
		}
	}
}
