package auth

import (
	"encoding/base64"
	"encoding/json"
	"strings"
)

// isAccessToken peeks at a JWT's header, unverified, to route it to the
// verifier of its type; each verifier checks the type again with the signature.
func isAccessToken(jwt string) bool {
	head, _, _ := strings.Cut(jwt, ".")
	raw, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		return false
	}
	var h struct {
		Typ string `json:"typ"`
	}
	return json.Unmarshal(raw, &h) == nil && strings.EqualFold(h.Typ, "at+jwt")
}
