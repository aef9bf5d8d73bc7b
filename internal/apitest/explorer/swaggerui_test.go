// Package explorer_test runs the API explorers in headless Chromium: Swagger
// UI at /api-docs ("Try it out", the code samples) and GraphiQL at
// /playground, each under its Content-Security-Policy. Chromium's share of
// the machine then counts against this package's time, not internal/apitest's.
package explorer_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/credvault/credvault/internal/apitest"
	"github.com/credvault/credvault/internal/apitest/chromium"
)

// TestSwaggerUITryItOutInChromium: /api-docs in headless Chromium runs
// "Try it out" on GET /api/v1/health and shows the 200; no request leaves
// the server's origin.
func TestSwaggerUITryItOutInChromium(t *testing.T) {
	chromium.Need(t)
	t.Parallel()
	apitest.Each(t, func(t *testing.T, e *apitest.Env) {
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		browser := chromium.Open(t, ctx)
		page := browser.OpenPage(t, ctx, "")
		if err := browser.Call(ctx, page, "Page.navigate", map[string]any{"url": e.Server.URL + "/api-docs"}, nil); err != nil {
			t.Fatal(err)
		}
		// The document loaded and rendered: one block per operation.
		browser.WaitFor(t, ctx, page, "the operations", `document.querySelectorAll('.opblock').length > 20`)
		title := browser.WaitFor(t, ctx, page, "the title", `(document.querySelector('.info .title') || {}).textContent || ''`)
		if !strings.Contains(fmt.Sprint(title), "CredVault API") {
			t.Errorf("title %q", title)
		}
		// Try it out: GET /api/v1/health (operation "health" under the tag "health").
		const op = `document.querySelector('#operations-health-health')`
		browser.WaitFor(t, ctx, page, "the health operation", op+` !== null`)
		if _, err := browser.Eval(ctx, page, op+`.querySelector('.opblock-summary-control').click()`); err != nil {
			t.Fatal(err)
		}
		browser.WaitFor(t, ctx, page, "Try it out", op+`.querySelector('.try-out__btn') !== null`)
		if _, err := browser.Eval(ctx, page, op+`.querySelector('.try-out__btn').click()`); err != nil {
			t.Fatal(err)
		}
		browser.WaitFor(t, ctx, page, "Execute", op+`.querySelector('.execute') !== null`)
		if _, err := browser.Eval(ctx, page, op+`.querySelector('.execute').click()`); err != nil {
			t.Fatal(err)
		}
		status := browser.WaitFor(t, ctx, page, "the live response",
			`(`+op+`.querySelector('.live-responses-table .response .response-col_status') || {}).textContent || ''`)
		if !strings.HasPrefix(strings.TrimSpace(fmt.Sprint(status)), "200") {
			t.Fatalf("Try it out answered %q, want 200", status)
		}
		body := browser.WaitFor(t, ctx, page, "the response body",
			`(`+op+`.querySelector('.live-responses-table .response-col_description pre') || {}).textContent || ''`)
		if !strings.Contains(fmt.Sprint(body), `"service is healthy"`) {
			t.Errorf("response body shown: %v", body)
		}
		// Everything came from the server itself: no CDN, no other host.
		requests := browser.Requested()
		sawHealth := false
		for _, u := range requests {
			if u == e.Server.URL+"/api/v1/health" {
				sawHealth = true
			}
			if !strings.HasPrefix(u, e.Server.URL+"/") && !strings.HasPrefix(u, "data:") {
				t.Errorf("the page requested %s, outside %s", u, e.Server.URL)
			}
		}
		if !sawHealth || len(requests) < 4 {
			t.Errorf("requests %v: want the page, its assets, the document and GET /api/v1/health", requests)
		}
	})
}

// TestSwaggerUICodeSamplesInChromium: /api-docs in headless Chromium
// shows an expanded operation's code samples in tabs (curl, JavaScript,
// Python, Go) above its "Try it out", switches tabs, and copies the shown
// sample to the clipboard; the samples are not repeated in the extensions
// table, and nothing is loaded from outside the server.
func TestSwaggerUICodeSamplesInChromium(t *testing.T) {
	chromium.Need(t)
	t.Parallel()
	apitest.Each(t, func(t *testing.T, e *apitest.Env) {
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		browser := chromium.Open(t, ctx)
		page := browser.OpenPage(t, ctx, "")
		if err := browser.Call(ctx, "", "Browser.grantPermissions", map[string]any{"origin": e.Server.URL,
			"permissions": []string{"clipboardReadWrite", "clipboardSanitizedWrite"}}, nil); err != nil {
			t.Fatal(err)
		}
		if err := browser.Call(ctx, page, "Emulation.setFocusEmulationEnabled", map[string]any{"enabled": true}, nil); err != nil {
			t.Fatal(err)
		}
		if err := browser.Call(ctx, page, "Page.navigate", map[string]any{"url": e.Server.URL + "/api-docs"}, nil); err != nil {
			t.Fatal(err)
		}
		browser.WaitFor(t, ctx, page, "the operations", `document.querySelectorAll('.opblock').length > 20`)

		// POST /api/v1/api-keys: operation createAPIKey under the tag api-keys.
		const op = `document.querySelector('#operations-api-keys-createAPIKey')`
		browser.WaitFor(t, ctx, page, "the createAPIKey operation", op+` !== null`)
		if _, err := browser.Eval(ctx, page, op+`.querySelector('.opblock-summary-control').click()`); err != nil {
			t.Fatal(err)
		}
		browser.WaitFor(t, ctx, page, "the code samples", op+`.querySelector('.cv-code-samples') !== null`)
		tabs := browser.WaitFor(t, ctx, page, "the tabs",
			`Array.from(`+op+`.querySelectorAll('.cv-code-samples__tab')).map(b => b.textContent).join(',')`)
		if tabs != "curl,JavaScript SDK,Python SDK,Go SDK" {
			t.Errorf("tabs %q", tabs)
		}
		// The samples sit above "Try it out", in the same operation.
		if above, err := browser.Eval(ctx, page, `(() => { const o = `+op+`;
			const s = o.querySelector('.cv-code-samples'), b = o.querySelector('.try-out__btn');
			return !!b && !!(s.compareDocumentPosition(b) & Node.DOCUMENT_POSITION_FOLLOWING); })()`); err != nil || above != true {
			t.Errorf("the samples are not above Try it out: %v %v", above, err)
		}
		source := func() string {
			v, err := browser.Eval(ctx, page, op+`.querySelector('.cv-code-samples__source').textContent`)
			if err != nil {
				t.Fatal(err)
			}
			return fmt.Sprint(v)
		}
		if s := source(); !strings.Contains(s, "curl -X POST \"$CREDVAULT_URL/api/v1/api-keys\"") {
			t.Errorf("the curl tab shows:\n%s", s)
		}
		for tab, want := range map[int]string{1: "cv.apiKeys.create({", 2: "cv.api_keys.create(", 3: "c.APIKeys.Create(ctx, &credvault.CreateAPIKeyRequest{"} {
			if _, err := browser.Eval(ctx, page, fmt.Sprintf(op+`.querySelectorAll('.cv-code-samples__tab')[%d].click()`, tab)); err != nil {
				t.Fatal(err)
			}
			browser.WaitFor(t, ctx, page, "tab "+fmt.Sprint(tab),
				fmt.Sprintf(op+`.querySelector('.cv-code-samples__source').textContent.includes(%q)`, want))
		}
		// Copy puts the shown sample (the Go one) on the clipboard.
		if _, err := browser.Eval(ctx, page, op+`.querySelector('.cv-code-samples__copy').click()`); err != nil {
			t.Fatal(err)
		}
		browser.WaitFor(t, ctx, page, "Copied", op+`.querySelector('.cv-code-samples__copy').textContent === 'Copied'`)
		var clip struct {
			Result struct {
				Value string `json:"value"`
			} `json:"result"`
		}
		if err := browser.Call(ctx, page, "Runtime.evaluate", map[string]any{"expression": "navigator.clipboard.readText()",
			"awaitPromise": true, "returnByValue": true}, &clip); err != nil {
			t.Fatal(err)
		}
		if clip.Result.Value != source() {
			t.Errorf("the clipboard holds %q, want the Go sample", clip.Result.Value)
		}
		// The extensions table shows x-required-scope, not the samples again.
		ext, err := browser.Eval(ctx, page, op+`.textContent`)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(fmt.Sprint(ext), "x-codeSamples") {
			t.Error("the operation repeats x-codeSamples in its extensions")
		}
		for _, u := range browser.Requested() {
			if !strings.HasPrefix(u, e.Server.URL+"/") && !strings.HasPrefix(u, "data:") {
				t.Errorf("the page requested %s, outside %s", u, e.Server.URL)
			}
		}
		wantAsset(t, e, "/api-docs/code-samples.js", "text/javascript")
		wantAsset(t, e, "/api-docs/code-samples.css", "text/css")
	})
}

// wantAsset checks the plugin's asset is served from the binary with its
// media type and the page's security headers.
func wantAsset(t *testing.T, e *apitest.Env, path, mediaType string) {
	t.Helper()
	r := e.Get(path, "")
	if r.Status != http.StatusOK {
		t.Fatalf("%s: status %d", path, r.Status)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, mediaType) {
		t.Errorf("%s: Content-Type %q", path, ct)
	}
	if r.Header.Get("Content-Security-Policy") == "" || r.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("%s: headers %v", path, r.Header)
	}
	if n := len(strings.TrimSpace(string(r.Body))); n == 0 {
		t.Errorf("%s is empty", path)
	}
}
