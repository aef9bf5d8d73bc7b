package server

import (
	"encoding/json"
	"net/http"

	"github.com/credvault/credvault/internal/identity/tokens"
)

// jwks serves the public signing keys (RFC 7517), current and previous.
func jwks(keys *tokens.Keyring) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "public, max-age=300")
		_ = json.NewEncoder(w).Encode(map[string]any{"keys": keys.JWKS()})
	}
}
