package apitest_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/credvault/credvault/internal/platform/store"
	"github.com/credvault/credvault/internal/platform/store/storetest"
)

// readmeExamples are the README's sh blocks from "## First requests" on,
// in order, each with the heading it is under.
func readmeExamples(t *testing.T) (blocks, headings []string) {
	t.Helper()
	raw, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(raw)
	start := strings.Index(text, "\n## First requests\n")
	if start < 0 {
		t.Fatal(`README.md has no "## First requests" section`)
	}
	heading := ""
	var block *strings.Builder
	for _, line := range strings.Split(text[start:], "\n") {
		switch {
		case block != nil && line == "```":
			blocks, headings = append(blocks, block.String()), append(headings, heading)
			block = nil
		case block != nil:
			block.WriteString(line + "\n")
		case line == "```sh":
			block = &strings.Builder{}
		case strings.HasPrefix(line, "#"):
			heading = line
		}
	}
	if block != nil {
		t.Fatalf("an sh block under %q is not closed", heading)
	}
	return blocks, headings
}

// curlCommand matches the start of a curl command in an example.
var curlCommand = regexp.MustCompile(`(?m)(^|\$\()curl\s`)

// TestReadmeExamplesRun runs the README's examples top to bottom, as
// written, with bash against a server started as main starts it: the
// one change is the port, localhost:8080 becoming the server's. Every
// curl fails on a non-2xx answer (--fail-with-body), and so does the run.
func TestReadmeExamplesRun(t *testing.T) {
	t.Parallel()
	for _, tool := range []string{"bash", "curl", "jq"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("the README examples need %s: install it (apt-get install %s); .ci/run does", tool, tool)
		}
	}
	blocks, headings := readmeExamples(t)
	curls := 0
	for _, b := range blocks {
		curls += len(curlCommand.FindAllString(b, -1))
	}
	if len(blocks) < 5 || curls < 20 {
		t.Fatalf("found %d sh blocks with %d curl commands in the README, want the five sections' examples", len(blocks), curls)
	}
	storetest.EachParallel(t, func(t *testing.T, st *store.Store) {
		base := serveAsMain(t, st, nil)
		host := strings.TrimPrefix(base, "http://")

		var script strings.Builder
		// Each curl counts its requests, so that none is left unrun.
		script.WriteString(`set -eo pipefail
curl() { echo >>"$CURL_LOG"; command curl -q --fail-with-body --show-error "$@"; }
trap 'echo "README example failed: $BASH_COMMAND (under: $SECTION)" >&2' ERR
`)
		for i, b := range blocks {
			fmt.Fprintf(&script, "SECTION=%q\n%s\n", headings[i], strings.ReplaceAll(b, "localhost:8080", host))
		}
		log := t.TempDir() + "/curl.log"
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "bash", "-c", script.String())
		cmd.Dir = t.TempDir()
		// No proxy, and no curlrc (-q), may come between the examples and the server.
		cmd.Env = append(os.Environ(), "CURL_LOG="+log, "no_proxy=*", "NO_PROXY=*")
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		if err := cmd.Run(); err != nil {
			t.Fatalf("the README examples fail: %v\nstderr:\n%s\nstdout (end):\n%s", err, errOut.String(), tail(out.String(), 2000))
		}
		ran, err := os.ReadFile(log)
		if err != nil {
			t.Fatal(err)
		}
		if n := bytes.Count(ran, []byte("\n")); n != curls {
			t.Fatalf("%d requests ran, the README has %d curl commands", n, curls)
		}
	})
}

func tail(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return "…" + s[len(s)-n:]
}
