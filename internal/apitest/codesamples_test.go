package apitest_test

// The code samples of the API explorer (SPEC §13): the curl samples of
// /api/v1/openapi.json run against the live server, and /api-docs shows
// every operation's samples in tabs beside "Try it out", in a real browser.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/credvault/credvault/internal/apitest"
)

// documentCodeSamples reads the live document's x-codeSamples: operationId
// → label → source.
func documentCodeSamples(t *testing.T, e *apitest.Env) map[string]map[string]string {
	t.Helper()
	r := e.Get("/api/v1/openapi.json", "")
	wantStatus(t, r, http.StatusOK)
	var doc struct {
		Paths map[string]map[string]struct {
			OperationID string `json:"operationId"`
			Samples     []struct {
				Label  string `json:"label"`
				Source string `json:"source"`
			} `json:"x-codeSamples"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(r.Body, &doc); err != nil {
		t.Fatal(err)
	}
	out := map[string]map[string]string{}
	for _, item := range doc.Paths {
		for _, op := range item {
			out[op.OperationID] = map[string]string{}
			for _, s := range op.Samples {
				out[op.OperationID][s.Label] = s.Source
			}
		}
	}
	return out
}

// TestCodeSamplesCurlRun runs curl samples of the document, as a shell
// runs them, against the live server: the base URL and API key from the
// environment as the samples expect, the placeholders of path parameters
// replaced by real ids. Each must succeed (curl --fail-with-body) and
// answer success.
func TestCodeSamplesCurlRun(t *testing.T) {
	for _, tool := range []string{"bash", "curl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skip(tool + " is not installed: skipping the curl samples")
		}
	}
	t.Parallel()
	apitest.Each(t, func(t *testing.T, e *apitest.Env) {
		samples := documentCodeSamples(t, e)
		tn := register(t, e, "Curl Samples")
		key := tn.key(t)
		ids := map[string]string{"TENANT_ID": tn.TenantID.String()}
		runSample := func(id string) map[string]any {
			t.Helper()
			src, ok := samples[id]["curl"]
			if !ok {
				t.Fatalf("%s has no curl sample", id)
			}
			for placeholder, v := range ids {
				src = strings.ReplaceAll(src, placeholder, v)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			script := `curl() { command curl -q --fail-with-body --silent --show-error "$@"; }` + "\n" + src
			cmd := exec.CommandContext(ctx, "bash", "-euc", script)
			cmd.Env = append(os.Environ(), "CREDVAULT_URL="+e.Server.URL, "CREDVAULT_API_KEY="+key.Key,
				"no_proxy=*", "NO_PROXY=*")
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("the curl sample of %s failed: %v\n%s\n%s", id, err, src, redact(out))
			}
			// A stream answers NDJSON: its first line is an item.
			first, _, _ := strings.Cut(string(out), "\n")
			var v map[string]any
			if err := json.Unmarshal([]byte(first), &v); err != nil {
				t.Fatalf("the curl sample of %s answered %s: %v", id, redact(out), err)
			}
			return v
		}
		ok := func(id string) map[string]any {
			t.Helper()
			v := runSample(id)
			if v["success"] != true {
				t.Fatalf("the curl sample of %s answered %s", id, redact(mustJSON(v)))
			}
			data, _ := v["data"].(map[string]any)
			return data
		}

		ok("health")
		created := ok("createAPIKey")
		if created["name"] != "ci-deploy" || !strings.HasPrefix(fmt.Sprint(created["key"]), "cvk_") {
			t.Fatalf("createAPIKey's curl sample made %v", redact(mustJSON(created)))
		}
		ids["KEY_ID"] = fmt.Sprint(created["id"])
		ok("apiKeys")
		if got := ok("apiKey"); got["id"] != created["id"] {
			t.Errorf("apiKey's curl sample read %v", got["id"])
		}
		ok("rotateAPIKey")
		if got := ok("validateAPIKey"); got["valid"] != false {
			t.Errorf("validateAPIKey's curl sample: a made-up key is valid: %v", got)
		}
		ok("storeCredential")
		integration := ok("credential")
		if !strings.Contains(string(mustJSON(integration)), "sk_test_123") {
			t.Errorf("credential's curl sample does not read back the stored secret")
		}
		ok("credentialDetails")
		if got := ok("updateTenant"); got["name"] != "Acme Inc." {
			t.Errorf("updateTenant's curl sample renamed the tenant %v", got["name"])
		}
		if got := ok("revokeAPIKey"); got["status"] != "revoked" {
			t.Errorf("revokeAPIKey's curl sample left the key %v", got["status"])
		}
		if entry := runSample("exportAuditLogs"); entry["action"] == nil {
			t.Errorf("exportAuditLogs's curl sample streamed %v", entry)
		}
	})
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}

// TestSwaggerUICodeSamplesInChromium: /api-docs in headless Chromium
// shows an expanded operation's code samples in tabs (curl, JavaScript,
// Python, Go) above its "Try it out", switches tabs, and copies the shown
// sample to the clipboard; the samples are not repeated in the extensions
// table, and nothing is loaded from outside the server.
func TestSwaggerUICodeSamplesInChromium(t *testing.T) {
	needChromium(t)
	t.Parallel()
	apitest.Each(t, func(t *testing.T, e *apitest.Env) {
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		browser := openBrowser(t, ctx)
		page := openPage(t, ctx, browser, "")
		if err := browser.call(ctx, "", "Browser.grantPermissions", map[string]any{"origin": e.Server.URL,
			"permissions": []string{"clipboardReadWrite", "clipboardSanitizedWrite"}}, nil); err != nil {
			t.Fatal(err)
		}
		if err := browser.call(ctx, page, "Emulation.setFocusEmulationEnabled", map[string]any{"enabled": true}, nil); err != nil {
			t.Fatal(err)
		}
		if err := browser.call(ctx, page, "Page.navigate", map[string]any{"url": e.Server.URL + "/api-docs"}, nil); err != nil {
			t.Fatal(err)
		}
		browser.waitFor(t, ctx, page, "the operations", `document.querySelectorAll('.opblock').length > 20`)

		// POST /api/v1/api-keys: operation createAPIKey under the tag api-keys.
		const op = `document.querySelector('#operations-api-keys-createAPIKey')`
		browser.waitFor(t, ctx, page, "the createAPIKey operation", op+` !== null`)
		if _, err := browser.eval(ctx, page, op+`.querySelector('.opblock-summary-control').click()`); err != nil {
			t.Fatal(err)
		}
		browser.waitFor(t, ctx, page, "the code samples", op+`.querySelector('.cv-code-samples') !== null`)
		tabs := browser.waitFor(t, ctx, page, "the tabs",
			`Array.from(`+op+`.querySelectorAll('.cv-code-samples__tab')).map(b => b.textContent).join(',')`)
		if tabs != "curl,JavaScript SDK,Python SDK,Go SDK" {
			t.Errorf("tabs %q", tabs)
		}
		// The samples sit above "Try it out", in the same operation.
		if above, err := browser.eval(ctx, page, `(() => { const o = `+op+`;
			const s = o.querySelector('.cv-code-samples'), b = o.querySelector('.try-out__btn');
			return !!b && !!(s.compareDocumentPosition(b) & Node.DOCUMENT_POSITION_FOLLOWING); })()`); err != nil || above != true {
			t.Errorf("the samples are not above Try it out: %v %v", above, err)
		}
		source := func() string {
			v, err := browser.eval(ctx, page, op+`.querySelector('.cv-code-samples__source').textContent`)
			if err != nil {
				t.Fatal(err)
			}
			return fmt.Sprint(v)
		}
		if s := source(); !strings.Contains(s, "curl -X POST \"$CREDVAULT_URL/api/v1/api-keys\"") {
			t.Errorf("the curl tab shows:\n%s", s)
		}
		for tab, want := range map[int]string{1: "cv.apiKeys.create({", 2: "cv.api_keys.create(", 3: "c.APIKeys.Create(ctx, &credvault.CreateAPIKeyRequest{"} {
			if _, err := browser.eval(ctx, page, fmt.Sprintf(op+`.querySelectorAll('.cv-code-samples__tab')[%d].click()`, tab)); err != nil {
				t.Fatal(err)
			}
			browser.waitFor(t, ctx, page, "tab "+fmt.Sprint(tab),
				fmt.Sprintf(op+`.querySelector('.cv-code-samples__source').textContent.includes(%q)`, want))
		}
		// Copy puts the shown sample (the Go one) on the clipboard.
		if _, err := browser.eval(ctx, page, op+`.querySelector('.cv-code-samples__copy').click()`); err != nil {
			t.Fatal(err)
		}
		browser.waitFor(t, ctx, page, "Copied", op+`.querySelector('.cv-code-samples__copy').textContent === 'Copied'`)
		var clip struct {
			Result struct {
				Value string `json:"value"`
			} `json:"result"`
		}
		if err := browser.call(ctx, page, "Runtime.evaluate", map[string]any{"expression": "navigator.clipboard.readText()",
			"awaitPromise": true, "returnByValue": true}, &clip); err != nil {
			t.Fatal(err)
		}
		if clip.Result.Value != source() {
			t.Errorf("the clipboard holds %q, want the Go sample", clip.Result.Value)
		}
		// The extensions table shows x-required-scope, not the samples again.
		ext, err := browser.eval(ctx, page, op+`.textContent`)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(fmt.Sprint(ext), "x-codeSamples") {
			t.Error("the operation repeats x-codeSamples in its extensions")
		}
		for _, u := range browser.requested() {
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
	wantStatus(t, r, http.StatusOK)
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
