package apitest_test

// The code samples of the API explorer (SPEC §13): the curl samples of
// /api/v1/openapi.json run against the live server (how /api-docs shows
// them in a browser is internal/apitest/explorer's test).

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
