// Package console serves CredVault's admin console at /console: a page, one
// script and one style sheet, built from src/ into dist/ (npm run build) and
// embedded in the binary, so `go run .` serves it with nothing installed.
// The console talks to the server only through /graphql; its operations are
// the files of src/graphql, checked against the schema by this package's
// tests.
package console

import (
	"embed"
	"io/fs"
	"net/http"
	"strings"
)

//go:embed dist
var dist embed.FS

// CSP is the console's Content-Security-Policy: everything from this origin
// only, no inline script or style, never framed.
const CSP = "default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'none'; " +
	"form-action 'self'; frame-ancestors 'none'"

// Handler serves the console under /console: the page at /console and
// /console/, its assets by name. Every answer carries the policy above and
// refuses framing and MIME sniffing.
func Handler() http.Handler {
	files, err := fs.Sub(dist, "dist")
	if err != nil {
		panic(err) // dist is embedded: it is always there
	}
	assets := http.FileServerFS(files)
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", CSP)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("X-Frame-Options", "DENY")
		h.Set("Referrer-Policy", "no-referrer")
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			h.Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		name := strings.TrimPrefix(strings.TrimPrefix(r.URL.Path, "/console"), "/")
		if name == "" || name == "index.html" {
			// The page itself is never cached: a new build's asset names are read at once.
			h.Set("Cache-Control", "no-cache")
			page, err := fs.ReadFile(files, "index.html")
			if err != nil {
				http.Error(w, "console not built", http.StatusInternalServerError)
				return
			}
			h.Set("Content-Type", "text/html; charset=utf-8")
			_, _ = w.Write(page)
			return
		}
		if strings.Contains(name, "/") {
			http.NotFound(w, r)
			return
		}
		h.Set("Cache-Control", "no-cache")
		r2 := r.Clone(r.Context())
		r2.URL.Path = "/" + name
		assets.ServeHTTP(w, r2)
	})
}
