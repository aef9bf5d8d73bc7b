package apitest_test

// The admin console (SPEC §12) in a real browser: headless Chromium, driven
// over the DevTools protocol as the Swagger UI test does, signs in at
// /console, creates an API key and reads it once from new-secret, uses it,
// revokes it after a confirmation and sees it refused and audited; the same
// for an OAuth client's secret; reveals a credential (audited); a viewer is
// offered no action; a platform admin sees Tenants; the session refreshes
// itself; nothing leaves the origin and the page logs no error.
//
// With CREDVAULT_CONSOLE_SCREENSHOTS=docs/console (a folder, relative to the
// repository's root unless absolute) it writes a 1280×800 screenshot of every
// page there, as the README shows them.

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/credvault/credvault/internal/apitest"
	"github.com/credvault/credvault/internal/apitest/chromium"
)

// consolePage drives one browser tab on the console.
type consolePage struct {
	t       *testing.T
	ctx     context.Context
	browser *chromium.Browser
	page    string
	base    string
	shots   string // folder for screenshots, "" for none

	mu     sync.Mutex
	errors []string // console errors, uncaught exceptions
}

// helpers is evaluated before each expression: byText finds an element by
// its trimmed text.
const consoleHelpers = `const byText = (sel, text, root) => [...(root || document).querySelectorAll(sel)].find((e) => e.textContent.trim() === text);
const row = (id) => document.querySelector('tr[data-id="' + id + '"]');`

func (p *consolePage) eval(expr string) any {
	p.t.Helper()
	v, err := p.browser.Eval(p.ctx, p.page, "(() => { "+consoleHelpers+" return ("+expr+"); })()")
	if err != nil {
		p.t.Fatalf("evaluate %s: %v", expr, err)
	}
	return v
}

// wait evaluates expr until it returns a non-empty string or true; on a
// timeout it fails with what the page shows.
func (p *consolePage) wait(what, expr string) any {
	p.t.Helper()
	ctx, cancel := context.WithTimeout(p.ctx, 30*time.Second)
	defer cancel()
	for {
		v, err := p.browser.Eval(ctx, p.page, "(() => { "+consoleHelpers+" return ("+expr+"); })()")
		if err != nil && ctx.Err() == nil {
			p.t.Fatalf("waiting for %s: %v", what, err)
		}
		if err == nil && v != nil && v != false && v != "" {
			return v
		}
		select {
		case <-ctx.Done():
			shown, _ := p.browser.Eval(p.ctx, p.page, `(document.querySelector('main') || document.body).innerText.slice(0, 3000)`)
			p.t.Fatalf("timed out waiting for %s; the page shows:\n%v", what, shown)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// click clicks the element expr finds, failing when there is none.
func (p *consolePage) click(what, expr string) {
	p.t.Helper()
	p.wait(what, expr+` != null`)
	p.eval(expr + `.click()`)
}

// fill sets the value of the field labelled label (inside root, a selector).
func (p *consolePage) fill(label, value string) {
	p.t.Helper()
	lbl, _ := json.Marshal(label)
	val, _ := json.Marshal(value)
	p.wait("the field "+label, `(() => { const l = byText('label', `+string(lbl)+`); return !!(l && document.getElementById(l.htmlFor)); })()`)
	p.eval(`(() => { const el = document.getElementById(byText('label', ` + string(lbl) + `).htmlFor); el.value = ` + string(val) +
		`; el.dispatchEvent(new Event('input', {bubbles: true})); el.dispatchEvent(new Event('change', {bubbles: true})); return true; })()`)
}

func (p *consolePage) navigate(pageName string) {
	p.t.Helper()
	name, _ := json.Marshal(pageName)
	p.click("the "+pageName+" link", `byText('nav a', `+string(name)+`)`)
	p.wait("the "+pageName+" heading", `(document.querySelector('main h1') || {}).textContent === `+string(name))
}

func (p *consolePage) key(key, code string, keyCode int) {
	p.t.Helper()
	for _, typ := range []string{"keyDown", "keyUp"} {
		if err := p.browser.Call(p.ctx, p.page, "Input.dispatchKeyEvent", map[string]any{"type": typ, "key": key, "code": code,
			"windowsVirtualKeyCode": keyCode, "nativeVirtualKeyCode": keyCode}, nil); err != nil {
			p.t.Fatal(err)
		}
	}
}

func (p *consolePage) viewport(width, height int) {
	p.t.Helper()
	if err := p.browser.Call(p.ctx, p.page, "Emulation.setDeviceMetricsOverride", map[string]any{
		"width": width, "height": height, "deviceScaleFactor": 1, "mobile": false}, nil); err != nil {
		p.t.Fatal(err)
	}
}

// screenshot writes the viewport as name.png when screenshots are asked for.
func (p *consolePage) screenshot(name string) {
	p.t.Helper()
	if p.shots == "" {
		return
	}
	// Let layout and the chart settle.
	p.eval(`new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(() => r(true))))`)
	var shot struct {
		Data string `json:"data"`
	}
	if err := p.browser.Call(p.ctx, p.page, "Page.captureScreenshot", map[string]any{"format": "png"}, &shot); err != nil {
		p.t.Fatal(err)
	}
	png, err := base64.StdEncoding.DecodeString(shot.Data)
	if err != nil {
		p.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(p.shots, name+".png"), png, 0o644); err != nil {
		p.t.Fatal(err)
	}
}

// noCreateOrChange asserts the page offers none of the actions a viewer may not take.
func (p *consolePage) noWriteActions(pageName string) {
	p.t.Helper()
	offered := p.eval(`[...document.querySelectorAll('main button')].map((b) => b.textContent.trim())
		.filter((t) => /^(Create|Store|Rotate|Revoke|Delete|Disable|Enable|Reveal|Send test|Retry)/.test(t)).join(', ')`)
	if offered != "" {
		p.t.Errorf("%s offers a viewer %v", pageName, offered)
	}
}

// The screenshots are written once, by the first backend's run.
var consoleShotsOnce sync.Once

func TestConsoleInChromium(t *testing.T) {
	chromium.Need(t)
	t.Parallel()
	apitest.Each(t, func(t *testing.T, e *apitest.Env) {
		ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
		defer cancel()

		// The page: its policy allows this origin only, and it has no inline script.
		resp := do(e, http.MethodGet, "/console", "", nil)
		wantStatus(t, resp, http.StatusOK)
		csp := resp.Header.Get("Content-Security-Policy")
		if !strings.Contains(csp, "default-src 'self'") || !strings.Contains(csp, "frame-ancestors 'none'") || strings.Contains(csp, "unsafe") {
			t.Errorf("Content-Security-Policy %q", csp)
		}
		for _, tag := range strings.Split(string(resp.Body), "<script")[1:] {
			if !strings.Contains(tag[:strings.Index(tag, ">")], "src=") {
				t.Errorf("the console page has an inline script: <script%s", tag[:min(80, len(tag))])
			}
		}

		tn := register(t, e, "Console Co")
		viewer := tn.user(t, "viewer")
		// Something on every page: a credential, a webhook, a service account,
		// and a day's requests for the Overview chart.
		gql(t, e, tn.AccessToken, `mutation { storeCredential(input: {integrationID: "stripe", name: "Stripe live", authType: api_key, data: {api_key: "sk_live_console"}}) { id } }`, nil, nil)
		gql(t, e, tn.AccessToken, `mutation { createWebhook(input: {url: "http://127.0.0.1:9/hooks", events: ["api_key.revoked"], description: "Audit mirror"}) { secret } }`, nil, nil)
		gql(t, e, tn.AccessToken, `mutation { createServiceAccount(input: {name: "ci-deployer", description: "Deploys from CI", scopes: ["api_keys:read"]}) { serviceAccount { id } } }`, nil, nil)
		seed := tn.key(t, "api_keys:read")
		for range 5 {
			wantStatus(t, whoami(e, seed.Key), http.StatusOK)
		}
		e.Flush()

		browser := chromium.Open(t, ctx)
		p := &consolePage{t: t, ctx: ctx, browser: browser, base: e.Server.URL}
		browser.OnEvent(func(m chromium.Message) {
			var ev struct {
				Type string `json:"type"`
				Args []struct {
					Value       any    `json:"value"`
					Description string `json:"description"`
				} `json:"args"`
				ExceptionDetails struct {
					Text      string `json:"text"`
					Exception struct {
						Description string `json:"description"`
					} `json:"exception"`
				} `json:"exceptionDetails"`
				Entry struct {
					Level  string `json:"level"`
					Source string `json:"source"`
					Text   string `json:"text"`
					URL    string `json:"url"`
				} `json:"entry"`
			}
			if json.Unmarshal(m.Params, &ev) != nil {
				return
			}
			var msg string
			switch {
			case m.Method == "Runtime.consoleAPICalled" && (ev.Type == "error" || ev.Type == "assert" || ev.Type == "warning"):
				msg = fmt.Sprintf("console.%s %v", ev.Type, ev.Args)
			case m.Method == "Runtime.exceptionThrown":
				msg = "uncaught " + ev.ExceptionDetails.Text + " " + ev.ExceptionDetails.Exception.Description
			case m.Method == "Log.entryAdded" && (ev.Entry.Level == "error" || ev.Entry.Level == "warning"):
				// A network entry is a 4xx or 5xx answer: only the deliberate
				// expired-session step below answers 401.
				if ev.Entry.Source == "network" && strings.HasSuffix(ev.Entry.URL, "/graphql") && strings.Contains(ev.Entry.Text, "401") {
					return
				}
				msg = fmt.Sprintf("%s %s: %s %s", ev.Entry.Level, ev.Entry.Source, ev.Entry.Text, ev.Entry.URL)
			default:
				return
			}
			p.mu.Lock()
			p.errors = append(p.errors, msg)
			p.mu.Unlock()
		})
		p.page = browser.OpenPage(t, ctx, "")
		if err := browser.Call(ctx, p.page, "Log.enable", map[string]any{}, nil); err != nil {
			t.Fatal(err)
		}
		consoleShotsOnce.Do(func() {
			dir := os.Getenv("CREDVAULT_CONSOLE_SCREENSHOTS")
			if dir == "" {
				return
			}
			if !filepath.IsAbs(dir) {
				dir = filepath.Join("..", "..", dir) // the repository's root, from internal/apitest
			}
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			p.shots = dir
		})
		p.viewport(1280, 800)
		if err := browser.Call(ctx, p.page, "Page.navigate", map[string]any{"url": e.Server.URL + "/console"}, nil); err != nil {
			t.Fatal(err)
		}

		// Sign in: every field labelled, the button named Sign in, a link for SSO.
		p.wait("the sign-in form", `byText('button', 'Sign in') != null`)
		for _, label := range []string{"Email", "Password", "Tenant"} {
			p.wait("the "+label+" field", `(() => { const l = byText('label', '`+label+`'); return !!(l && document.getElementById(l.htmlFor)); })()`)
		}
		p.fill("Tenant", tn.Slug)
		sso := fmt.Sprint(p.eval(`byText('a', 'Sign in with SSO').href`))
		if want := e.Server.URL + "/api/v1/auth/sso/" + tn.Slug + "/start?redirect_uri="; !strings.HasPrefix(sso, want) {
			t.Errorf("Sign in with SSO links to %s, want %s…", sso, want)
		}
		p.fill("Tenant", "")
		p.screenshot("sign-in")
		signIn := func(email, password, slug string) {
			p.fill("Email", email)
			p.fill("Password", password)
			p.fill("Tenant", slug)
			p.click("Sign in", `byText('button', 'Sign in')`)
			p.wait("the console", `byText('button', 'Sign out') != null && byText('nav a', 'Overview') != null`)
		}
		// A wrong password: the server's message, no session.
		p.fill("Email", tn.Email)
		p.fill("Password", "not-the-password")
		p.fill("Tenant", tn.Slug)
		p.click("Sign in", `byText('button', 'Sign in')`)
		p.wait("the server's error", `(document.querySelector('[role=alert]') || {}).textContent || ''`)
		signIn(tn.Email, testPassword, tn.Slug)

		links := p.eval(`[...document.querySelectorAll('nav a')].map((a) => a.textContent.trim()).join('|')`)
		if links != "Overview|API keys|OAuth clients|Credentials|Users|Service accounts|Webhooks|Audit log" {
			t.Errorf("navigation %v", links)
		}

		// Overview: stats, the chart of requests per day, recent audit entries.
		p.wait("the stats", `document.querySelectorAll('.stat').length >= 3`)
		p.wait("the chart", `document.querySelector('.chart canvas') != null`)
		// The five requests of the seeded key are today's bar.
		label := fmt.Sprint(p.wait("the chart's label", `document.querySelector('.chart canvas').getAttribute('aria-label')`))
		if !strings.Contains(label, "5 today") {
			t.Errorf("the chart says %q, want the 5 requests of today", label)
		}
		p.wait("recent audit entries", `document.querySelectorAll('main tr[data-action]').length > 0`)
		p.screenshot("overview")

		// API keys: create, read the key once, use it, revoke it after confirming.
		p.navigate("API keys")
		p.click("Create API key", `byText('button', 'Create API key')`)
		p.fill("Name", "console-key")
		p.click("api_keys:read", `document.querySelector('input[type=checkbox][value="api_keys:read"]')`)
		p.click("Create", `byText('main form button[type=submit]', 'Create')`)
		key := fmt.Sprint(p.wait("the new key", `(document.querySelector('[data-testid="new-secret"]') || {}).textContent || ''`))
		if !keyRE.MatchString(key) {
			t.Fatalf("new-secret shows %s, not an API key", short(key))
		}
		p.wait("the copy button", `byText('button', 'Copy to clipboard') != null`)
		m := me(t, e, key)
		if m.PrincipalType != "api_key" || !slices.Equal(m.Scopes, []string{"api_keys:read"}) {
			t.Errorf("the console's key authenticates as %s with %v", m.PrincipalType, m.Scopes)
		}
		keyID := *m.APIKeyID
		p.wait("the key's row", `row('`+keyID+`') != null`)
		p.screenshot("api-keys")
		// Shown once: after leaving the page it is nowhere.
		p.navigate("Overview")
		p.navigate("API keys")
		p.wait("the key's row", `row('`+keyID+`') != null`)
		if p.eval(`document.body.innerText.includes(`+jsString(key)+`) || document.querySelector('[data-testid="new-secret"]') != null`) != false {
			t.Error("the key is shown again after leaving the page")
		}
		// Revoke asks first; Escape (the keyboard) cancels, the key still works.
		p.click("Revoke", `byText('button', 'Revoke', row('`+keyID+`'))`)
		p.wait("the confirmation", `document.querySelector('dialog[open]') != null && byText('dialog button', 'Confirm') != null`)
		if focused := p.eval(`document.activeElement.textContent`); focused != "Cancel" {
			t.Errorf("the confirmation opens with %v focused, want Cancel", focused)
		}
		p.key("Escape", "Escape", 27)
		p.wait("the confirmation to close", `document.querySelector('dialog') == null`)
		wantStatus(t, whoami(e, key), http.StatusOK)
		p.click("Revoke", `byText('button', 'Revoke', row('`+keyID+`'))`)
		p.click("Confirm", `byText('dialog button', 'Confirm')`)
		p.wait("the key revoked", `(row('`+keyID+`') || {}).textContent.includes('revoked')`)
		wantUnauthorized(t, whoami(e, key), "revoked")

		// OAuth clients: the same, with the client's secret.
		p.navigate("OAuth clients")
		p.click("Create OAuth client", `byText('button', 'Create OAuth client')`)
		p.fill("Name", "console-client")
		p.click("api_keys:read", `document.querySelector('input[type=checkbox][value="api_keys:read"]')`)
		p.click("Create", `byText('main form button[type=submit]', 'Create')`)
		secret := fmt.Sprint(p.wait("the new secret", `(document.querySelector('[data-testid="new-secret"]') || {}).textContent || ''`))
		clientID := fmt.Sprint(p.wait("the client id", `(document.querySelector('[data-testid="new-client-id"]') || {}).textContent || ''`))
		tok := issueToken(t, e, clientJSON{ClientID: clientID, ClientSecret: secret}, "")
		if m := me(t, e, tok.AccessToken); m.PrincipalType != "oauth_client" {
			t.Errorf("the console's client authenticates as %s", m.PrincipalType)
		}
		var clientRow string
		for _, r := range strings.Fields(fmt.Sprint(p.wait("the client's row", `[...document.querySelectorAll('tr[data-id]')].filter((r) => r.textContent.includes(`+jsString(clientID)+`)).map((r) => r.dataset.id).join(' ')`))) {
			clientRow = r
		}
		p.screenshot("oauth-clients")
		p.click("Delete", `byText('button', 'Delete', row('`+clientRow+`'))`)
		p.click("Confirm", `byText('dialog button', 'Confirm')`)
		p.wait("the client gone", `row('`+clientRow+`') == null`)
		wantStatus(t, clientCredentials(e, clientID, secret, ""), http.StatusUnauthorized)
		wantStatus(t, whoami(e, tok.AccessToken), http.StatusUnauthorized)

		// Audit log: filters list the revocation and the deletion.
		p.navigate("Audit log")
		p.fill("Action contains", "api_key.revoke")
		p.click("Apply filters", `byText('button', 'Apply filters')`)
		// Only revocations once the filter applies, the console's among them.
		p.wait("the revocation in the audit log", `(() => { const rows = [...document.querySelectorAll('main tbody tr')];
			return rows.length > 0 && rows.every((r) => r.textContent.includes('api_key.revoke')) && rows.some((r) => r.textContent.includes('`+keyID+`')); })()`)
		p.fill("Action contains", "oauth_client.delete")
		p.click("Apply filters", `byText('button', 'Apply filters')`)
		p.wait("the deletion in the audit log", `[...document.querySelectorAll('main tbody tr')].some((r) => r.textContent.includes('oauth_client.delete'))`)
		p.click("Clear filters", `byText('button', 'Clear filters')`)
		p.wait("every entry", `document.querySelectorAll('main tbody tr').length > 5`)
		p.screenshot("audit-log")

		// Credentials: metadata; Reveal decrypts, and the server audits it.
		p.navigate("Credentials")
		p.click("Reveal", `byText('button', 'Reveal')`)
		revealed := fmt.Sprint(p.wait("the secret", `(document.querySelector('[data-testid="revealed-secret"]') || {}).textContent || ''`))
		if !strings.Contains(revealed, "sk_live_console") {
			t.Errorf("Reveal shows %s", short(revealed))
		}
		awaitAudit(t, e, tn.TenantID, "credential.decrypt", nil)
		p.screenshot("credentials")

		for _, page := range []struct{ name, shot, ready string }{
			{"Users", "users", `document.querySelectorAll('main tbody tr[data-id]').length >= 2`},
			{"Service accounts", "service-accounts", `byText('main td', 'ci-deployer') != null`},
			{"Webhooks", "webhooks", `document.querySelectorAll('main tbody tr[data-id]').length >= 1`},
		} {
			p.navigate(page.name)
			p.wait(page.name, page.ready)
			if page.name == "Webhooks" {
				p.click("Deliveries", `byText('main button', 'Deliveries')`)
				p.wait("the deliveries", `byText('h2', 'Deliveries to http://127.0.0.1:9/hooks') != null`)
			}
			p.screenshot(page.shot)
		}

		// The session refreshes itself: a dead access token is replaced by the refresh token.
		p.eval(`(() => { const k = 'credvault.console.session'; const s = JSON.parse(sessionStorage.getItem(k)); s.accessToken = 'expired'; sessionStorage.setItem(k, JSON.stringify(s)); return true; })()`)
		if err := browser.Call(ctx, p.page, "Page.reload", map[string]any{}, nil); err != nil {
			t.Fatal(err)
		}
		p.wait("the console after a refresh", `byText('button', 'Sign out') != null && document.querySelector('main h1') != null`)
		if p.eval(`JSON.parse(sessionStorage.getItem('credvault.console.session')).accessToken`) == "expired" {
			t.Error("the session did not refresh itself")
		}

		// A narrow screen: the navigation moves above the page, nothing scrolls sideways.
		p.viewport(390, 844)
		p.navigate("API keys")
		if w := p.eval(`document.documentElement.scrollWidth <= window.innerWidth`); w != true {
			t.Error("the console scrolls sideways on a narrow screen")
		}
		p.screenshot("narrow")
		p.viewport(1280, 800)

		// Sign out ends the session.
		p.click("Sign out", `byText('button', 'Sign out')`)
		p.wait("the sign-in form", `byText('button', 'Sign in') != null`)
		if p.eval(`sessionStorage.getItem('credvault.console.session')`) != nil {
			t.Error("Sign out left the session in storage")
		}

		// A viewer sees every page it may read and is offered no action.
		signIn(viewer.Email, testPassword, tn.Slug)
		for _, page := range []string{"Overview", "API keys", "OAuth clients", "Credentials", "Users", "Service accounts", "Webhooks", "Audit log"} {
			p.navigate(page)
			p.wait(page+" loaded", `document.querySelector('main table, main .stats, main .error') != null`)
			p.noWriteActions(page)
		}
		p.click("Sign out", `byText('button', 'Sign out')`)
		p.wait("the sign-in form", `byText('button', 'Sign in') != null`)

		// Everything came from the server itself, and the console spoke only GraphQL.
		for _, u := range browser.Requested() {
			if strings.HasPrefix(u, "data:") {
				continue // Chromium's own icons, such as a date field's
			}
			if !strings.HasPrefix(u, e.Server.URL+"/") {
				t.Errorf("the console requested %s, outside %s", u, e.Server.URL)
				continue
			}
			switch strings.TrimPrefix(u, e.Server.URL) {
			case "/console", "/console/app.js", "/console/app.css", "/console/favicon.svg", "/graphql":
			default:
				t.Errorf("the console requested %s: it talks only to /graphql", u)
			}
		}
		p.mu.Lock()
		for _, msg := range p.errors {
			t.Errorf("the console logged: %s", msg)
		}
		p.mu.Unlock()
	})
}

// TestConsoleTenantsForPlatformAdmins: Tenants is a platform admin's page.
func TestConsoleTenantsForPlatformAdmins(t *testing.T) {
	chromium.Need(t)
	t.Parallel()
	apitest.Each(t, func(t *testing.T, e *apitest.Env) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		other := register(t, e, "Another Co")
		browser := chromium.Open(t, ctx)
		p := &consolePage{t: t, ctx: ctx, browser: browser, base: e.Server.URL, page: browser.OpenPage(t, ctx, "")}
		if dir := os.Getenv("CREDVAULT_CONSOLE_SCREENSHOTS"); dir != "" && strings.HasSuffix(t.Name(), "/sqlite") {
			if !filepath.IsAbs(dir) {
				dir = filepath.Join("..", "..", dir)
			}
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			p.shots = dir
		}
		p.viewport(1280, 800)
		if err := browser.Call(ctx, p.page, "Page.navigate", map[string]any{"url": e.Server.URL + "/console"}, nil); err != nil {
			t.Fatal(err)
		}
		p.wait("the sign-in form", `byText('button', 'Sign in') != null`)
		p.fill("Email", adminEmail)
		p.fill("Password", adminPass)
		p.fill("Tenant", "")
		p.click("Sign in", `byText('button', 'Sign in')`)
		p.navigate("Tenants")
		p.wait("the tenants", `document.querySelectorAll('main tbody tr[data-id]').length >= 2`)
		p.screenshot("tenants")
		// Suspending a tenant asks first, then stops its sessions at once.
		p.click("Suspend", `byText('button', 'Suspend', row('`+other.TenantID.String()+`'))`)
		p.click("Confirm", `byText('dialog button', 'Confirm')`)
		p.wait("the tenant suspended", `(row('`+other.TenantID.String()+`') || {}).textContent.includes('suspended')`)
		wantStatus(t, whoami(e, other.AccessToken), http.StatusUnauthorized)
		if p.eval(`byText('button', 'Suspend', document.querySelector('tr[data-id]'))`) != nil {
			t.Error("the platform tenant may be suspended from the console")
		}
	}, withAdmin)
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
