package rest

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	credvault "github.com/credvault/credvault/sdk/go"
)

// documentedSample is one x-codeSamples entry of the document, with its operation.
type documentedSample struct {
	id, method, path    string
	lang, label, source string
}

// documentSamples returns the document's operations by id, each with its
// samples in order.
func documentSamples(t *testing.T) map[string][]documentedSample {
	t.Helper()
	raw, err := json.Marshal(OpenAPI((&API{}).Routes(), "test"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Paths map[string]map[string]struct {
			OperationID string `json:"operationId"`
			Samples     []struct {
				Lang, Label, Source string
			} `json:"x-codeSamples"`
		} `json:"paths"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	out := map[string][]documentedSample{}
	for path, item := range doc.Paths {
		for method, op := range item {
			out[op.OperationID] = []documentedSample{}
			for _, s := range op.Samples {
				out[op.OperationID] = append(out[op.OperationID], documentedSample{op.OperationID,
					strings.ToUpper(method), path, s.Lang, s.Label, s.Source})
			}
		}
	}
	return out
}

// TestCodeSamplesCoverEveryOperation: every operation of the document
// carries curl, JavaScript, Python and Go samples (a browser's leg of
// single sign-on curl alone), each naming the operation's path or SDK
// method; sdkCalls has no entry for an operation that is gone.
func TestCodeSamplesCoverEveryOperation(t *testing.T) {
	ops := documentSamples(t)
	if len(ops) < 50 {
		t.Fatalf("%d operations in the document", len(ops))
	}
	for id, samples := range ops {
		call, ok := sdkCalls[id]
		if !ok {
			t.Errorf("operation %s has no entry in sdkCalls (rest/codesamples.go)", id)
			continue
		}
		want := []string{"curl", "JavaScript SDK", "Python SDK", "Go SDK"}
		if call.Browser {
			want = want[:1]
		}
		var labels []string
		for _, s := range samples {
			labels = append(labels, s.label)
		}
		if strings.Join(labels, ",") != strings.Join(want, ",") {
			t.Errorf("%s: samples %v, want %v", id, labels, want)
			continue
		}
		if call.Alias != "" {
			call = sdkCalls[call.Alias]
		}
		for _, s := range samples {
			var mention string
			switch s.label {
			case "curl":
				literal, _, _ := strings.Cut(s.path, "{") // up to the first parameter
				mention = "$CREDVAULT_URL/api/v1" + literal
				if s.method != "GET" && !strings.Contains(s.source, "-X "+s.method+" ") {
					t.Errorf("%s: curl sample without -X %s:\n%s", id, s.method, s.source)
				}
			case "JavaScript SDK":
				mention = "cv." + call.JS + "("
			case "Python SDK":
				mention = "cv." + call.Python + "("
			case "Go SDK":
				mention = "c." + call.Go + "(ctx"
				if call.Go == "NewVerifier" {
					mention = "credvault.NewVerifier(c)"
				}
			}
			if !strings.Contains(s.source, mention) {
				t.Errorf("%s: the %s sample does not mention %q:\n%s", id, s.label, mention, s.source)
			}
		}
	}
	for id := range sdkCalls {
		if _, ok := ops[id]; !ok {
			t.Errorf("sdkCalls has %s, which is no operation of the document", id)
		}
	}
}

// sdkTables are the three SDKs' own operation tables: operationId →
// method, and the operations each leaves out.
func sdkTables(t *testing.T) (methods map[string]map[string]string, omitted map[string]map[string]bool) {
	t.Helper()
	read := func(path string) string {
		b, err := os.ReadFile(filepath.Join("..", path))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	block := func(src, start string) string {
		i := strings.Index(src, start)
		if i < 0 {
			t.Fatalf("no %q in an SDK's operation table", start)
		}
		src = src[i:]
		end := strings.Index(src, "\n}")
		return src[:end]
	}
	methods = map[string]map[string]string{"JS": {}, "Python": {}, "Go": credvault.Operations}
	omitted = map[string]map[string]bool{"JS": {}, "Python": {}, "Go": {}}

	js := read("sdk/js/src/operations.ts")
	for _, m := range regexp.MustCompile(`(?m)^\s+(\w+): op\('\w+', '[^']+', '([\w.]+)'\)`).FindAllStringSubmatch(block(js, "export const OPERATIONS"), -1) {
		methods["JS"][m[1]] = m[2]
	}
	for _, m := range regexp.MustCompile(`(?m)^\s+(\w+):`).FindAllStringSubmatch(block(js, "export const OMITTED_OPERATIONS"), -1) {
		omitted["JS"][m[1]] = true
	}
	py := read("sdk/python/credvault/operations.py")
	entry := regexp.MustCompile(`(?m)^\s+"(\w+)": "([^"]+)"`)
	for _, m := range entry.FindAllStringSubmatch(block(py, "OPERATIONS: Dict"), -1) {
		methods["Python"][m[1]] = m[2]
	}
	for _, m := range entry.FindAllStringSubmatch(block(py, "OMITTED: Dict"), -1) {
		omitted["Python"][m[1]] = true
	}
	for id := range credvault.Omitted {
		omitted["Go"][id] = true
	}
	for sdk, table := range methods {
		if len(table) < 40 {
			t.Fatalf("read %d operations from the %s SDK's table: has its format changed?", len(table), sdk)
		}
	}
	return methods, omitted
}

// TestCodeSamplesAgreeWithSDKTables: each sample calls the method its
// SDK's own operation table maps the operation to, and an operation the
// samples show through an alias or curl alone is one every SDK leaves out.
func TestCodeSamplesAgreeWithSDKTables(t *testing.T) {
	methods, omitted := sdkTables(t)
	for id, call := range sdkCalls {
		if call.Alias != "" || call.Browser {
			for sdk := range methods {
				if !omitted[sdk][id] {
					t.Errorf("%s: the samples treat it as left out of the SDKs, but the %s SDK does not omit it", id, sdk)
				}
			}
			continue
		}
		for sdk, got := range map[string]string{"JS": call.JS, "Python": call.Python, "Go": call.Go} {
			if want := methods[sdk][id]; got != want {
				t.Errorf("%s: the %s sample calls %q, the %s SDK's table says %q", id, sdk, got, sdk, want)
			}
		}
	}
	for sdk, table := range methods {
		for id := range table {
			if _, ok := sdkCalls[id]; !ok {
				t.Errorf("the %s SDK maps %s, which sdkCalls lacks", sdk, id)
			}
		}
	}
}

// samplesIn returns the samples labelled label, sorted by operation.
func samplesIn(t *testing.T, label string) []documentedSample {
	var out []documentedSample
	for _, samples := range documentSamples(t) {
		for _, s := range samples {
			if s.label == label {
				out = append(out, s)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].id < out[j].id })
	if len(out) < 50 {
		t.Fatalf("%d %s samples", len(out), label)
	}
	return out
}

func run(t *testing.T, dir string, env []string, name string, args ...string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}

// TestCodeSamplesGoCompile builds every Go sample, a program each, against
// the Go SDK in sdk/go, and vets it.
func TestCodeSamplesGoCompile(t *testing.T) {
	sdk, err := filepath.Abs("../sdk/go")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	mod := "module samples\n\ngo 1.23\n\nrequire github.com/credvault/credvault/sdk/go v0.0.0\n\n" +
		"replace github.com/credvault/credvault/sdk/go => " + sdk + "\n"
	if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte(mod), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, s := range samplesIn(t, "Go SDK") {
		if err := os.MkdirAll(filepath.Join(dir, s.id), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, s.id, "main.go"), []byte(s.source), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	env := []string{"GOFLAGS=-mod=mod", "GOPROXY=off", "GOWORK=off"}
	run(t, dir, env, "go", "vet", "./...")
	cmd := exec.Command("gofmt", "-l", ".")
	cmd.Dir = dir
	if out, _ := cmd.Output(); len(out) > 0 {
		t.Errorf("Go samples not gofmt-formatted:\n%s", out)
	}
}

// pythonCheck binds every sample's SDK call to the method's signature on a
// real CredVault client: a wrong method, argument name or count fails.
const pythonCheck = `
import ast, inspect, json, sys
from credvault import CredVault

cv = CredVault(base_url="http://127.0.0.1:9", api_key="cvk_x")
failed = 0
for s in json.load(sys.stdin):
    tree = ast.parse(s["source"])
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call) and ast.unparse(n.func).startswith("cv.")]
    if len(calls) != 1:
        print(s["id"], ": want one cv call, got", len(calls)); failed += 1; continue
    call = calls[0]
    target = cv
    for part in ast.unparse(call.func).split(".")[1:]:
        target = getattr(target, part, None)
    if not callable(target):
        print(s["id"], ": no method", ast.unparse(call.func)); failed += 1; continue
    try:
        args = [ast.literal_eval(a) for a in call.args]
        kwargs = {k.arg: ast.literal_eval(k.value) for k in call.keywords}
        inspect.signature(target).bind(*args, **kwargs)
    except Exception as e:
        print(s["id"], ":", ast.unparse(call), ":", e); failed += 1
sys.exit(1 if failed else 0)
`

// TestCodeSamplesPythonBind checks every Python sample's call against the
// Python SDK in sdk/python.
func TestCodeSamplesPythonBind(t *testing.T) {
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("python3 is not installed: skipping the Python samples' check")
	}
	var in []map[string]string
	for _, s := range samplesIn(t, "Python SDK") {
		in = append(in, map[string]string{"id": s.id, "source": s.source})
	}
	raw, _ := json.Marshal(in)
	sdk, _ := filepath.Abs("../sdk/python")
	cmd := exec.Command(python, "-c", pythonCheck)
	cmd.Env = append(os.Environ(), "PYTHONPATH="+sdk)
	cmd.Stdin = strings.NewReader(string(raw))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("Python samples: %v\n%s", err, out)
	}
}

// TestCodeSamplesJavaScriptTypeCheck type-checks every JavaScript sample,
// as a TypeScript module, against the JavaScript SDK's sources in sdk/js
// with its own TypeScript compiler (installed by npm ci in sdk/js).
func TestCodeSamplesJavaScriptTypeCheck(t *testing.T) {
	sdk, _ := filepath.Abs("../sdk/js")
	tsc := filepath.Join(sdk, "node_modules", ".bin", "tsc")
	if _, err := os.Stat(tsc); err != nil {
		t.Skip("sdk/js/node_modules is not installed (npm ci in sdk/js): skipping the JavaScript samples' check")
	}
	dir := t.TempDir()
	var files []string
	for _, s := range samplesIn(t, "JavaScript SDK") {
		name := s.id + ".ts"
		files = append(files, name)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s.source), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	config := map[string]any{
		"compilerOptions": map[string]any{
			"target": "ES2022", "lib": []string{"ES2022"}, "module": "ES2022", "moduleResolution": "Bundler",
			"strict": true, "noEmit": true, "skipLibCheck": true,
			"types": []string{"node"}, "typeRoots": []string{filepath.Join(sdk, "node_modules", "@types")},
			"paths":                      map[string]any{"@credvault/sdk": []string{filepath.Join(sdk, "src", "index.ts")}},
			"allowImportingTsExtensions": true,
		},
		"files": files,
	}
	raw, _ := json.MarshalIndent(config, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, "tsconfig.json"), raw, 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(tsc, "-p", dir)
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("JavaScript samples do not type-check: %v\n%s", err, fmt.Sprint(string(out)))
	}
}

// TestCodeSamplesCurlIsShell runs every curl sample through bash with a
// curl that prints its arguments: each is valid shell, its URL is the
// operation's under $CREDVAULT_URL, and its body reaches curl as one
// argument that is a JSON object.
func TestCodeSamplesCurlIsShell(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("bash is not installed: skipping the curl samples' check")
	}
	for _, s := range samplesIn(t, "curl") {
		script := `curl() { printf '%s\0' "$@"; }` + "\n" + s.source
		cmd := exec.Command(bash, "-euc", script)
		cmd.Env = append(os.Environ(), "CREDVAULT_URL=http://cv.test", "CREDVAULT_API_KEY=cvk_test")
		out, err := cmd.Output()
		if err != nil {
			t.Errorf("%s: the curl sample is not valid shell: %v\n%s", s.id, err, s.source)
			continue
		}
		args := strings.Split(strings.TrimSuffix(string(out), "\x00"), "\x00")
		literal, _, _ := strings.Cut(s.path, "{")
		if !slices.ContainsFunc(args, func(a string) bool { return strings.HasPrefix(a, "http://cv.test/api/v1"+literal) }) {
			t.Errorf("%s: no URL of %s among curl's arguments %q", s.id, s.path, args)
		}
		if i := slices.Index(args, "-d"); i >= 0 {
			var body map[string]any
			if i+1 >= len(args) || json.Unmarshal([]byte(args[i+1]), &body) != nil {
				t.Errorf("%s: the body curl gets is not a JSON object: %q", s.id, args[i:])
			}
		}
	}
}
