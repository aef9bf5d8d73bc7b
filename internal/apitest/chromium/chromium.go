// Package chromium drives headless Chromium over the DevTools protocol for
// the browser tests: start it, open a tab, evaluate JavaScript, wait for
// what the page shows, and see every request the page sent.
package chromium

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
)

// Path is where CI installs Chromium (Debian's package).
const Path = "/usr/bin/chromium"

// Message is a DevTools protocol message: a command's answer (ID set) or
// an event (Method set).
type Message struct {
	ID        int             `json:"id,omitempty"`
	Method    string          `json:"method,omitempty"`
	Params    json.RawMessage `json:"params,omitempty"`
	SessionID string          `json:"sessionId,omitempty"`
	Result    json.RawMessage `json:"result,omitempty"`
	Error     *struct {
		Message string `json:"message"`
	} `json:"error,omitempty"`
}

// Browser is a minimal DevTools protocol client: commands, and the URLs of
// the requests its pages send (Network.requestWillBeSent).
type Browser struct {
	conn *websocket.Conn

	mu       sync.Mutex
	next     int
	pending  map[int]chan Message
	requests []string
	onEvent  func(Message)
}

// Need skips t when Chromium is not installed (CI installs it).
func Need(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(Path); err != nil {
		t.Skip(Path + " is not installed (apt-get install chromium): skipping the browser test")
	}
}

// Open starts headless Chromium and connects to it; ctx bounds the whole
// browser session, and the browser is gone when t ends.
func Open(t *testing.T, ctx context.Context) *Browser {
	t.Helper()
	b, err := dial(ctx, start(t))
	if err != nil {
		t.Fatalf("connect to chromium: %v", err)
	}
	t.Cleanup(func() { b.conn.Close(websocket.StatusNormalClosure, "") })
	return b
}

func dial(ctx context.Context, url string) (*Browser, error) {
	conn, _, err := websocket.Dial(ctx, url, nil)
	if err != nil {
		return nil, err
	}
	conn.SetReadLimit(64 << 20)
	b := &Browser{conn: conn, pending: map[int]chan Message{}}
	go b.read(ctx)
	return b, nil
}

func (b *Browser) read(ctx context.Context) {
	for {
		_, raw, err := b.conn.Read(ctx)
		if err != nil {
			return
		}
		var m Message
		if json.Unmarshal(raw, &m) != nil {
			continue
		}
		b.mu.Lock()
		if ch, ok := b.pending[m.ID]; ok && m.ID != 0 {
			delete(b.pending, m.ID)
			ch <- m
		} else if m.Method == "Network.requestWillBeSent" {
			var p struct {
				Request struct {
					URL string `json:"url"`
				} `json:"request"`
			}
			if json.Unmarshal(m.Params, &p) == nil {
				b.requests = append(b.requests, p.Request.URL)
			}
		}
		if m.Method != "" && b.onEvent != nil {
			b.onEvent(m)
		}
		b.mu.Unlock()
	}
}

// OnEvent has fn see every event from now on; fn runs on the reading
// goroutine and must not call b.
func (b *Browser) OnEvent(fn func(Message)) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.onEvent = fn
}

// Call sends a command (to a page when session is set) and decodes its
// result into out.
func (b *Browser) Call(ctx context.Context, session, method string, params, out any) error {
	b.mu.Lock()
	b.next++
	id := b.next
	ch := make(chan Message, 1)
	b.pending[id] = ch
	b.mu.Unlock()
	raw, err := json.Marshal(map[string]any{"id": id, "method": method, "params": params, "sessionId": session})
	if err != nil {
		return err
	}
	if err := b.conn.Write(ctx, websocket.MessageText, raw); err != nil {
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

// Eval evaluates a JavaScript expression in the page and returns its value.
func (b *Browser) Eval(ctx context.Context, session, expr string) (any, error) {
	var res struct {
		Result struct {
			Value any `json:"value"`
		} `json:"result"`
		ExceptionDetails *struct {
			Text string `json:"text"`
		} `json:"exceptionDetails"`
	}
	if err := b.Call(ctx, session, "Runtime.evaluate", map[string]any{"expression": expr, "returnByValue": true}, &res); err != nil {
		return nil, err
	}
	if res.ExceptionDetails != nil {
		return nil, errors.New(res.ExceptionDetails.Text)
	}
	return res.Result.Value, nil
}

// WaitFor evaluates expr until it returns a non-empty string or true, and
// returns that value; what the page shows is polled for, not slept on.
func (b *Browser) WaitFor(t *testing.T, ctx context.Context, session, what, expr string) any {
	t.Helper()
	for {
		v, err := b.Eval(ctx, session, expr)
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

// Requested is the URLs of every request the pages sent so far.
func (b *Browser) Requested() []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]string(nil), b.requests...)
}

// OpenPage opens a blank tab, with script (if any) run before each
// document's own, and returns its session.
func (b *Browser) OpenPage(t *testing.T, ctx context.Context, script string) string {
	t.Helper()
	var target struct {
		TargetID string `json:"targetId"`
	}
	if err := b.Call(ctx, "", "Target.createTarget", map[string]any{"url": "about:blank"}, &target); err != nil {
		t.Fatal(err)
	}
	var attached struct {
		SessionID string `json:"sessionId"`
	}
	if err := b.Call(ctx, "", "Target.attachToTarget", map[string]any{"targetId": target.TargetID, "flatten": true}, &attached); err != nil {
		t.Fatal(err)
	}
	page := attached.SessionID
	for _, domain := range []string{"Network.enable", "Page.enable", "Runtime.enable"} {
		if err := b.Call(ctx, page, domain, map[string]any{}, nil); err != nil {
			t.Fatal(err)
		}
	}
	if script == "" {
		return page
	}
	if err := b.Call(ctx, page, "Page.addScriptToEvaluateOnNewDocument", map[string]any{"source": script}, nil); err != nil {
		t.Fatal(err)
	}
	return page
}

// start runs headless Chromium with remote debugging on a free port and
// returns the browser's DevTools WebSocket URL. When the test ends its
// process group (the browser and the helpers it started) is killed, and
// then its profile folder removed.
func start(t *testing.T) string {
	t.Helper()
	profile, err := os.MkdirTemp("", "credvault-chromium-")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(Path, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
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
