package playground

import (
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

// newServer mounts the handler the way chi's Mount does: both the prefix
// and everything below it reach the handler with the full path.
func newServer(t *testing.T, title, endpoint string) *httptest.Server {
	t.Helper()
	h := Handler(title, endpoint)
	mux := http.NewServeMux()
	mux.Handle("/playground", h)
	mux.Handle("/playground/", h)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

func get(t *testing.T, url string) (*http.Response, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(body)
}

var linkRE = regexp.MustCompile(`(?:src|href)="([^"]*)"`)

func TestPage(t *testing.T) {
	srv := newServer(t, "CredVault", "/graphql")
	for _, p := range []string{"/playground", "/playground/"} {
		t.Run(p, func(t *testing.T) {
			resp, body := get(t, srv.URL+p)
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status %d", resp.StatusCode)
			}
			if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
				t.Errorf("Content-Type %q", ct)
			}
			if cc := resp.Header.Get("Cache-Control"); cc != "no-cache" {
				t.Errorf("Cache-Control %q", cc)
			}
			if csp := resp.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "script-src 'self';") {
				t.Errorf("Content-Security-Policy %q", csp)
			}
			if !strings.Contains(body, `data-endpoint="/graphql"`) {
				t.Error("page does not contain the endpoint")
			}
			if strings.Contains(body, "http://") || strings.Contains(body, "https://") {
				t.Error("page contains an absolute URL")
			}
			if strings.Contains(body, "<script>") || strings.Contains(body, "<style") {
				t.Error("page contains an inline script or style")
			}

			links := linkRE.FindAllStringSubmatch(body, -1)
			if len(links) != 6 {
				t.Fatalf("found %d asset links, want 6", len(links))
			}
			for _, l := range links {
				u := l[1]
				if !strings.HasPrefix(u, "/playground/assets/") {
					t.Errorf("link %q is not below /playground/assets/", u)
					continue
				}
				resp, body := get(t, srv.URL+u)
				if resp.StatusCode != http.StatusOK || body == "" {
					t.Errorf("%s: status %d, %d bytes", u, resp.StatusCode, len(body))
				}
				ct := resp.Header.Get("Content-Type")
				if !strings.HasPrefix(ct, "text/javascript") && !strings.HasPrefix(ct, "text/css") {
					t.Errorf("%s: Content-Type %q", u, ct)
				}
				if cc := resp.Header.Get("Cache-Control"); !strings.Contains(cc, "max-age=31536000") {
					t.Errorf("%s: Cache-Control %q", u, cc)
				}
			}
		})
	}
}

func TestPageEscapesTitleAndEndpoint(t *testing.T) {
	srv := newServer(t, "</title><script>alert(1)</script>", `/graphql"><script>alert(2)</script>`)
	_, body := get(t, srv.URL+"/playground")
	if strings.Contains(body, "<script>alert") {
		t.Errorf("title or endpoint not escaped:\n%s", body)
	}
	if !strings.Contains(body, "&lt;/title&gt;&lt;script&gt;alert(1)") {
		t.Error("escaped title missing")
	}
}

func TestAssetContentTypes(t *testing.T) {
	srv := newServer(t, "CredVault", "/graphql")
	for name, want := range map[string]string{
		"graphiql.min.js":             "text/javascript; charset=utf-8",
		"graphiql.min.css":            "text/css; charset=utf-8",
		"react.production.min.js":     "text/javascript; charset=utf-8",
		"react-dom.production.min.js": "text/javascript; charset=utf-8",
		"init.js":                     "text/javascript; charset=utf-8",
		"page.css":                    "text/css; charset=utf-8",
	} {
		resp, _ := get(t, srv.URL+"/playground/assets/"+name)
		if ct := resp.Header.Get("Content-Type"); ct != want {
			t.Errorf("%s: Content-Type %q, want %q", name, ct, want)
		}
	}
}

func TestAssetNotModified(t *testing.T) {
	srv := newServer(t, "CredVault", "/graphql")
	resp, _ := get(t, srv.URL+"/playground/assets/init.js")
	req, err := http.NewRequest(http.MethodGet, srv.URL+"/playground/assets/init.js", nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("If-None-Match", resp.Header.Get("ETag"))
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotModified {
		t.Errorf("status %d, want 304", resp.StatusCode)
	}
}

func TestNotFoundAndMethod(t *testing.T) {
	srv := newServer(t, "CredVault", "/graphql")
	for _, p := range []string{"/playground/assets/nope.js", "/playground/assets/", "/playground/assets/LICENSES.md"} {
		if resp, _ := get(t, srv.URL+p); resp.StatusCode != http.StatusNotFound {
			t.Errorf("%s: status %d, want 404", p, resp.StatusCode)
		}
	}
	resp, err := http.Post(srv.URL+"/playground", "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST: status %d, want 405", resp.StatusCode)
	}
}

func TestPageLinksStayOnOrigin(t *testing.T) {
	rec := httptest.NewRecorder()
	Handler("CredVault", "/graphql").ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "//evil.example/", nil))
	if body := rec.Body.String(); strings.Contains(body, `"//`) || !strings.Contains(body, `"/evil.example/assets/init.js?v=`) {
		t.Errorf("unexpected asset links:\n%s", body)
	}
}
