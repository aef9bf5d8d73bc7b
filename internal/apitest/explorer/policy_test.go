package explorer_test

import (
	"context"
	"testing"
	"time"

	"github.com/credvault/credvault/internal/apitest"
	"github.com/credvault/credvault/internal/apitest/chromium"
)

// TestBrowserPagesKeepTheirPolicy loads /api-docs and /playground in
// headless Chromium and records every Content-Security-Policy violation
// from the first script on: the pages, under their policy, render and
// break no rule (the Swagger UI "Try it out" runs in
// TestSwaggerUITryItOutInChromium).
func TestBrowserPagesKeepTheirPolicy(t *testing.T) {
	chromium.Need(t)
	t.Parallel()
	apitest.Each(t, func(t *testing.T, e *apitest.Env) {
		// Two pages on a busy machine: Swagger UI alone can take a minute.
		ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
		defer cancel()
		browser := chromium.Open(t, ctx)
		for _, c := range []struct{ path, rendered string }{
			{"/api-docs", `document.querySelectorAll('.opblock').length > 20 &&
				(document.querySelector('#operations-health-health .opblock-summary-control').click(), true)`},
			{"/playground", `document.querySelector('.graphiql-container') !== null`},
		} {
			page := browser.OpenPage(t, ctx, `window.__violations = [];
				document.addEventListener('securitypolicyviolation',
					ev => window.__violations.push(ev.effectiveDirective + ' blocked ' + (ev.blockedURI || 'inline') + ' at ' + ev.sourceFile + ':' + ev.lineNumber));`)
			if err := browser.Call(ctx, page, "Page.navigate", map[string]any{"url": e.Server.URL + c.path}, nil); err != nil {
				t.Fatal(err)
			}
			browser.WaitFor(t, ctx, page, c.path+" rendered", c.rendered)
			if c.path == "/api-docs" {
				browser.WaitFor(t, ctx, page, "an operation opened", `document.querySelector('#operations-health-health .try-out__btn') !== null`)
			}
			v, err := browser.Eval(ctx, page, `window.__violations`)
			if err != nil {
				t.Fatal(err)
			}
			if vs, _ := v.([]any); len(vs) > 0 {
				t.Errorf("%s: the page broke its Content-Security-Policy: %v", c.path, vs)
			}
		}
	})
}
