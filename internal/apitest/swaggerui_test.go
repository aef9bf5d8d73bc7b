package apitest_test

// Swagger UI in a real browser: headless Chromium, driven over the Chrome
// DevTools Protocol, loads /api-docs, runs "Try it out" on GET
// /api/v1/health, and sees the 200; no request leaves the server's origin.

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/credvault/credvault/internal/apitest"
)

const chromiumPath = "/usr/bin/chromium"

// cdpMessage is a DevTools protocol message: a command's answer (ID set)
// or an event (Method set).
type cdpMessage struct {
	ID        int             `json:"id,omitempty"`
	Method    string          `json:"method,omitempty"`
	Params    json.RawMessage `json:"params,omitempty"`
	SessionID string          `json:"sessionId,omitempty"`
	Result    json.RawMessage `json:"result,omitempty"`
	Error     *struct {
		Message string `json:"message"`
	} `json:"error,omitempty"`
}

// cdp is a minimal DevTools protocol client: commands, and the URLs of the
// requests the page sends (Network.requestWillBeSent).
type cdp struct {
	conn *websocket.Conn

	mu       sync.Mutex
	next     int
	pending  map[int]chan cdpMessage
	requests []string
	// onEvent, when set, sees every event (called with mu held: it must not call c).
	onEvent func(cdpMessage)
}

func dialCDP(ctx context.Context, url string) (*cdp, error) {
	conn, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		return nil, err
	}
	conn.SetReadLimit(64 << 20)
	c := &cdp{conn: conn, pending: map[int]chan cdpMessage{}}
	go c.read(ctx)
	return c, nil
}

func (c *cdp) read(ctx context.Context) {
	for {
		_, raw, err := c.conn.Read(ctx)
		if err != nil {
			return
		}
		var m cdpMessage
		if json.Unmarshal(raw, &m) != nil {
			continue
		}
		c.mu.Lock()
		if ch, ok := c.pending[m.ID]; ok && m.ID != 0 {
			delete(c.pending, m.ID)
			ch <- m
		} else if m.Method == "Network.requestWillBeSent" {
			var p struct {
				Request struct {
					URL string `json:"url"`
				} `json:"request"`
			}
			if json.Unmarshal(m.Params, &p) == nil {
				c.requests = append(c.requests, p.Request.URL)
			}
		}
		if m.Method != "" && c.onEvent != nil {
			c.onEvent(m)
		}
		c.mu.Unlock()
	}
}

// call sends a command (to a page when session is set) and decodes its result into out.
func (c *cdp) call(ctx context.Context, session, method string, params, out any) error {
	c.mu.Lock()
	c.next++
	id := c.next
	ch := make(chan cdpMessage, 1)
	c.pending[id] = ch
	c.mu.Unlock()
	raw, err := json.Marshal(map[string]any{"id": id, "method": method, "params": params, "sessionId": session})
	if err != nil {
		return err
	}
	if err := c.conn.Write(ctx, websocket.MessageText, raw); err != nil {
		return err
	}
	select {
	case m := <-ch:
		if m.Error != nil {
			return fmt.Errorf("%s: %s", method, m.Error.Message)
		}
		if out != nil {
			return json.Unmarshal(m.Result, out)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("%s: %w", method, ctx.Err())
	}
}

// eval evaluates a JavaScript expression in the page and returns its value.
func (c *cdp) eval(ctx context.Context, session, expr string) (any, error) {
	var res struct {
		Result struct {
			Value any `json:"value"`
		} `json:"result"`
		ExceptionDetails *struct {
			Text string `json:"text"`
		} `json:"exceptionDetails"`
	}
	if err := c.call(ctx, session, "Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true}, &res); err != nil {
		return nil, err
	}
	if res.ExceptionDetails != nil {
		return nil, errors.New(res.ExceptionDetails.Text)
	}
	return res.Result.Value, nil
}

// waitFor evaluates expr until it returns a non-empty string or true, and
// returns that value; what the page shows is polled for, not slept on.
func (c *cdp) waitFor(t *testing.T, ctx context.Context, session, what, expr string) any {
	t.Helper()
	for {
		v, err := c.eval(ctx, session, expr)
		if err != nil {
			t.Fatalf("waiting for %s: %v", what, err)
		}
		if v != nil && v != false && v != "" {
			return v
		}
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s", what)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (c *cdp) requested() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.requests...)
}

// startChromium runs headless Chromium with remote debugging on a free
// port and returns the browser's DevTools WebSocket URL. When the test ends
// its process group (the browser and the helpers it started) is killed, and
// then its profile folder removed.
func startChromium(t *testing.T) string {
	t.Helper()
	profile, err := os.MkdirTemp("", "credvault-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(chromiumPath, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
		"--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--user-data-dir="+profile, "--remote-debugging-port=0", "--remote-allow-origins=*", "about:blank")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	t.Cleanup(func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		_ = cmd.Wait()
		// A helper may still be exiting; the folder empties once it has.
		for deadline := time.Now().Add(10 * time.Second); ; {
			err := os.RemoveAll(profile)
			if err == nil || time.Now().After(deadline) {
				if err != nil {
					t.Errorf("remove the Chromium profile: %v", err)
				}
				return
			}
			time.Sleep(50 * time.Millisecond)
		}
	})
	lines := bufio.NewScanner(stderr)
	for lines.Scan() {
		if _, url, ok := strings.Cut(lines.Text(), "DevTools listening on "); ok {
			// Keep draining stderr so Chromium never blocks on a full pipe.
			go func() {
				for lines.Scan() {
				}
			}()
			return strings.TrimSpace(url)
		}
	}
	t.Fatalf("chromium did not print its DevTools URL: %v", lines.Err())
	return ""
}

// needChromium skips t when Chromium is not installed (CI installs it).
func needChromium(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(chromiumPath); err != nil {
		t.Skip(chromiumPath + " is not installed (apt-get install chromium): skipping the browser test")
	}
}

// openBrowser starts headless Chromium and connects to it; ctx bounds the
// whole browser session, and the connection closes when t ends.
func openBrowser(t *testing.T, ctx context.Context) *cdp {
	t.Helper()
	browser, err := dialCDP(ctx, startChromium(t))
	if err != nil {
		t.Fatalf("connect to chromium: %v", err)
	}
	t.Cleanup(func() { browser.conn.Close(websocket.StatusNormalClosure, "") })
	return browser
}

func TestSwaggerUITryItOutInChromium(t *testing.T) {
	needChromium(t)
	t.Parallel()
	apitest.Each(t, func(t *testing.T, e *apitest.Env) {
		ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
		defer cancel()
		browser := openBrowser(t, ctx)
		page := openPage(t, ctx, browser, "")
		if err := browser.call(ctx, page, "Page.navigate", map[string]any{"url": e.Server.URL + "/api-docs"}, nil); err != nil {
			t.Fatal(err)
		}
		// The document loaded and rendered: one block per operation.
		browser.waitFor(t, ctx, page, "the operations", `document.querySelectorAll('.opblock').length > 20`)
		title := browser.waitFor(t, ctx, page, "the title", `(document.querySelector('.info .title') || {}).textContent || ''`)
		if !strings.Contains(fmt.Sprint(title), "CredVault API") {
			t.Errorf("title %q", title)
		}
		// Try it out: GET /api/v1/health (operation "health" under the tag "health").
		const op = `document.querySelector('#operations-health-health')`
		browser.waitFor(t, ctx, page, "the health operation", op+` !== null`)
		if _, err := browser.eval(ctx, page, op+`.querySelector('.opblock-summary-control').click()`); err != nil {
			t.Fatal(err)
		}
		browser.waitFor(t, ctx, page, "Try it out", op+`.querySelector('.try-out__btn') !== null`)
		if _, err := browser.eval(ctx, page, op+`.querySelector('.try-out__btn').click()`); err != nil {
			t.Fatal(err)
		}
		browser.waitFor(t, ctx, page, "Execute", op+`.querySelector('.execute') !== null`)
		if _, err := browser.eval(ctx, page, op+`.querySelector('.execute').click()`); err != nil {
			t.Fatal(err)
		}
		status := browser.waitFor(t, ctx, page, "the live response",
			`(`+op+`.querySelector('.live-responses-table .response .response-col_status') || {}).textContent || ''`)
		if !strings.HasPrefix(strings.TrimSpace(fmt.Sprint(status)), "200") {
			t.Fatalf("Try it out answered %q, want 200", status)
		}
		body := browser.waitFor(t, ctx, page, "the response body",
			`(`+op+`.querySelector('.live-responses-table .response-col_description pre') || {}).textContent || ''`)
		if !strings.Contains(fmt.Sprint(body), `"service is healthy"`) {
			t.Errorf("response body shown: %v", body)
		}
		// Everything came from the server itself: no CDN, no other host.
		requests := browser.requested()
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
