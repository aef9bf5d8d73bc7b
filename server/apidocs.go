package server

import (
	"net/http"

	"github.com/swaggest/swgui"
	"github.com/swaggest/swgui/v5emb"
)

// apiDocs serves Swagger UI at /api-docs for the document at
// /api/v1/openapi.json. Its assets are embedded in the binary (v5emb, not a
// CDN), and "Try it out" calls this same origin, the document's server being
// the relative /api/v1.
func apiDocs() http.Handler {
	return v5emb.NewHandlerWithConfig(swgui.Config{
		Title:       "CredVault API",
		SwaggerJSON: "/api/v1/openapi.json",
		BasePath:    "/api-docs/",
		// Show the schemas section: the REST shapes are what clients code against.
		SettingsUI: map[string]string{"defaultModelsExpandDepth": "0"},
	})
}
