// Package playground serves the GraphiQL IDE with all of its scripts and
// styles embedded in the binary, so it works on machines without internet
// access and under a strict Content-Security-Policy.
package playground

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"html/template"
	"io"
	"net/http"
	"path"
	"strings"
	"time"
)

// assetFS holds GraphiQL, React and the page's own script and style sheet.
// See assets/LICENSES.md for where the third-party files come from.
//
//go:embed assets/*.js assets/*.css
var assetFS embed.FS

// asset is one embedded file's metadata; its bytes stay in the binary
// (ReadFile would copy 4 MiB of GraphiQL into the heap).
type asset struct {
	contentType string
	version     string // content hash, used in URLs and as the ETag
}

// assets maps a file name under assets/ to its content.
var assets = loadAssets()

// loadAssets hashes every embedded file once, so each file's version is
// computed only at start-up.
func loadAssets() map[string]asset {
	entries, err := assetFS.ReadDir("assets")
	if err != nil {
		panic(err)
	}
	m := make(map[string]asset, len(entries))
	for _, e := range entries {
		f, err := assetFS.Open("assets/" + e.Name())
		if err != nil {
			panic(err)
		}
		h := sha256.New()
		if _, err := io.Copy(h, f); err != nil {
			panic(err)
		}
		f.Close()
		ct := "text/css; charset=utf-8"
		if strings.HasSuffix(e.Name(), ".js") {
			ct = "text/javascript; charset=utf-8"
		}
		m[e.Name()] = asset{contentType: ct, version: hex.EncodeToString(h.Sum(nil)[:8])}
	}
	return m
}

// csp allows only same-origin scripts, styles and connections. GraphiQL's
// fonts and icons are data: URLs inside its style sheet, hence data: for
// fonts and images. Opening a dialog makes GraphiQL try to add a
// scroll-lock <style> element, which this policy blocks (the browser logs
// it); that is harmless, as page.css already keeps the body from scrolling.
const csp = "default-src 'none'; script-src 'self'; style-src 'self'; " +
	"img-src 'self' data:; font-src 'self' data:; connect-src 'self'; " +
	"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

// page is the GraphiQL HTML page. It has no inline script or style; init.js
// reads the endpoint from the data-endpoint attribute.
var page = template.Must(template.New("page").Funcs(template.FuncMap{
	"asset": assetURL,
}).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<link rel="stylesheet" href="{{asset .Base "graphiql.min.css"}}">
<link rel="stylesheet" href="{{asset .Base "page.css"}}">
</head>
<body>
<div id="graphiql" data-endpoint="{{.Endpoint}}">Loading…</div>
<script src="{{asset .Base "react.production.min.js"}}"></script>
<script src="{{asset .Base "react-dom.production.min.js"}}"></script>
<script src="{{asset .Base "graphiql.min.js"}}"></script>
<script src="{{asset .Base "init.js"}}"></script>
</body>
</html>
`))

// assetURL returns the URL of the named asset below base. The version query
// changes whenever the file does, which makes the long cache lifetime safe.
func assetURL(base, name string) string {
	a, ok := assets[name]
	if !ok {
		panic("playground: no embedded asset " + name)
	}
	return base + "/assets/" + name + "?v=" + a.version
}

// Handler returns a handler serving a GraphiQL page titled title that sends
// its queries to endpoint, with a headers editor for an Authorization
// header. endpoint should be on the page's origin (a path such as
// "/graphql"): the page's Content-Security-Policy only allows connections
// to 'self'.
//
// The handler needs the full request path, so mount it without stripping
// the prefix, for example with chi:
//
//	r.Mount("/playground", playground.Handler("CredVault", "/graphql"))
//
// or r.Handle("/playground*", ...), which passes the same paths.
//
// It works out the prefix from each request: a path whose last directory is
// "assets" (/playground/assets/graphiql.min.js) names an embedded asset,
// and any other path (/playground, /playground/) gets the page, which links
// its assets below that path. Hence the prefix must not itself end in an
// "assets" segment, and http.StripPrefix must not be put in front of it.
func Handler(title, endpoint string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
			return
		}
		if dir, name := path.Split(r.URL.Path); strings.HasSuffix(dir, "/assets/") {
			serveAsset(w, r, name)
			return
		}
		servePage(w, r, title, endpoint)
	})
}

// serveAsset writes the named embedded asset, or 404 if there is none.
func serveAsset(w http.ResponseWriter, r *http.Request, name string) {
	a, ok := assets[name]
	if !ok {
		http.NotFound(w, r)
		return
	}
	f, err := assetFS.Open("assets/" + name)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	defer f.Close()
	h := w.Header()
	h.Set("Content-Type", a.contentType)
	h.Set("Cache-Control", "public, max-age=31536000, immutable")
	h.Set("ETag", `"`+a.version+`"`)
	h.Set("X-Content-Type-Options", "nosniff")
	http.ServeContent(w, r, name, time.Time{}, f.(io.ReadSeeker))
}

// servePage writes the HTML page, linking assets below the request path.
// The path is cleaned so that, say, "//host" cannot turn the links into
// protocol-relative URLs pointing at another origin.
func servePage(w http.ResponseWriter, r *http.Request, title, endpoint string) {
	base := strings.TrimSuffix(path.Clean("/"+r.URL.EscapedPath()), "/")
	var buf bytes.Buffer
	err := page.Execute(&buf, struct{ Title, Endpoint, Base string }{title, endpoint, base})
	if err != nil {
		http.Error(w, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Content-Type-Options", "nosniff")
	// frame-ancestors 'none' for browsers too old to read it from the CSP.
	h.Set("X-Frame-Options", "DENY")
	w.Write(buf.Bytes())
}
