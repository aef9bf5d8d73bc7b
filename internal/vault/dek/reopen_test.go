package dek_test

import (
	"errors"
	"testing"

	"github.com/credvault/credvault/internal/vault/dek"
)

func TestReopenReadsAgainOnceOnFailure(t *testing.T) {
	errStale, errGone := errors.New("stale"), errors.New("gone")
	open := func(row string) (string, error) {
		if row == "stale" {
			return "", errStale
		}
		return "opened " + row, nil
	}
	rereads := 0
	reread := func(row string, err error) func() (string, error) {
		return func() (string, error) { rereads++; return row, err }
	}
	for _, tc := range []struct {
		row       string
		reread    func() (string, error)
		want      string
		wantErr   error
		wantReads int
	}{
		{"fresh", reread("", errGone), "opened fresh", nil, 0},
		{"stale", reread("fresh", nil), "opened fresh", nil, 1},
		{"stale", reread("stale", nil), "", errStale, 1},
		{"stale", reread("", errGone), "", errGone, 1},
	} {
		rereads = 0
		got, err := dek.Reopen(tc.row, open, tc.reread)
		if got != tc.want || !errors.Is(err, tc.wantErr) || rereads != tc.wantReads {
			t.Errorf("Reopen(%q) = %q, %v after %d rereads; want %q, %v after %d", tc.row, got, err, rereads, tc.want, tc.wantErr, tc.wantReads)
		}
	}
}
