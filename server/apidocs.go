package server

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"html/template"
	"net/http"
	"regexp"
	"strings"

	"github.com/swaggest/swgui"
	"github.com/swaggest/swgui/v5emb"
)

// codeSamplesUI is the Swagger UI plugin that shows each operation's
// x-codeSamples, and its style sheet.
//
//go:embed apidocs/code-samples.js apidocs/code-samples.css
var codeSamplesUI embed.FS

// apiDocs serves Swagger UI at /api-docs for the document at
// /api/v1/openapi.json. Its assets are embedded in the binary (v5emb, not a
// CDN), and "Try it out" calls this same origin, the document's server being
// the relative /api/v1. A plugin of ours, also from the binary, shows each
// operation's code samples beside "Try it out". Every answer carries a
// Content-Security-Policy that allows only this origin, and refuses framing
// and MIME sniffing.
func apiDocs() http.Handler {
	ui := v5emb.NewHandlerWithConfig(swgui.Config{
		Title:       "CredVault API",
		SwaggerJSON: "/api/v1/openapi.json",
		BasePath:    "/api-docs/",
		AppendHead: template.HTML(`<link rel="stylesheet" type="text/css" href="/api-docs/code-samples.css">` +
			`<script src="/api-docs/code-samples.js"></script>`),
		SettingsUI: map[string]string{
			// Show the schemas section: the REST shapes are what clients code against.
			"defaultModelsExpandDepth": "0",
			"plugins":                  "[SwaggerUIBundle.plugins.DownloadUrl, window.CredVaultCodeSamples]",
		},
	})
	csp := apiDocsCSP(ui)
	assets := http.FileServerFS(codeSamplesUI)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", csp)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		switch r.URL.Path {
		case "/api-docs/code-samples.js", "/api-docs/code-samples.css":
			r2 := r.Clone(r.Context())
			r2.URL.Path = "/apidocs/" + strings.TrimPrefix(r.URL.Path, "/api-docs/")
			assets.ServeHTTP(w, r2)
			return
		}
		ui.ServeHTTP(w, r)
	})
}

// inlineElement matches the inline scripts and style sheets of a page.
var inlineElement = regexp.MustCompile(`(?s)<(script|style)>(.*?)</(?:script|style)>`)

// apiDocsCSP is the policy of Swagger UI's pages: scripts, styles and
// connections from this origin only. The page Swagger UI renders has inline
// scripts and a style sheet; it is the same on every request, so it is
// rendered once here and its inline elements are allowed by their hashes,
// never by 'unsafe-inline'. Swagger UI's icons are data: URLs.
func apiDocsCSP(ui http.Handler) string {
	page := &pageRecorder{header: http.Header{}}
	req, _ := http.NewRequest(http.MethodGet, "/api-docs/", nil) // a constant, valid URL
	ui.ServeHTTP(page, req)
	hashes := map[string][]string{}
	for _, m := range inlineElement.FindAllSubmatch(page.body.Bytes(), -1) {
		sum := sha256.Sum256(m[2])
		hashes[string(m[1])] = append(hashes[string(m[1])], "'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'")
	}
	return "default-src 'none'; " +
		"script-src 'self' " + strings.Join(hashes["script"], " ") + "; " +
		"style-src 'self' " + strings.Join(hashes["style"], " ") + "; " +
		"img-src 'self' data:; font-src 'self' data:; connect-src 'self'; " +
		"base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
}

// pageRecorder keeps what a handler writes.
type pageRecorder struct {
	header http.Header
	body   bytes.Buffer
}

func (p *pageRecorder) Header() http.Header         { return p.header }
func (p *pageRecorder) Write(b []byte) (int, error) { return p.body.Write(b) }
func (p *pageRecorder) WriteHeader(int)             {}
