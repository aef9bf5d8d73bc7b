package faulttest

// PostgreSQL stopped and started again under load, the server running on
// through it: every answer during the outage is 503 SERVICE_UNAVAILABLE
// with Retry-After (GraphQL: extensions.code), full service returns within
// 5 s of the database, and nothing acknowledged is lost — no write, no
// audit entry.

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/ent/apikey"
	"github.com/credvault/credvault/ent/auditlog"
	"github.com/credvault/credvault/ent/credential"
	"github.com/credvault/credvault/internal/apitest"
	"github.com/credvault/credvault/internal/platform/apperr"
	"github.com/credvault/credvault/internal/platform/config"
	"github.com/credvault/credvault/internal/platform/store"
	"github.com/credvault/credvault/internal/vault/crypt"
	"github.com/credvault/credvault/internal/vault/dek"
)

const (
	loadWorkers = 6
	// warmUp is the load before the stop, outage how long PostgreSQL stays
	// down, and afterUp the load once it is back: long enough to show the
	// 5 s recovery and some fully served seconds after it.
	warmUp  = 2 * time.Second
	outage  = 3 * time.Second
	afterUp = 8 * time.Second
	// recoveryLimit is the claim: full service within 5 s of the database.
	recoveryLimit = 5 * time.Second
)

func TestPostgreSQLRestartUnderLoad(t *testing.T) {
	pg := startPostgres(t)
	// Thousands of requests answer 503 below, each logged at WARN.
	logger := slog.Default()
	slog.SetDefault(slog.New(slog.DiscardHandler))
	t.Cleanup(func() { slog.SetDefault(logger) })
	st := pg.Open()
	mk, err := crypt.GenerateMasterKey()
	if err != nil {
		t.Fatal(err)
	}
	e := apitest.New(t, st, func(c *config.Config) { c.MasterKey = mk.Encode() })
	l := newLoad(t, e.Server.URL)
	l.setUp()

	stopLoad := l.run()
	time.Sleep(warmUp)
	stoppedAt := time.Now()
	pg.Stop("fast")
	time.Sleep(outage)
	pg.Start()
	upAt := time.Now()
	time.Sleep(afterUp)
	stopLoad()

	before, during, after := l.split(stoppedAt, upAt)
	t.Logf("answers: %d before the stop, %d while PostgreSQL was stopping, down or starting (%v), %d after it was back",
		len(before), len(during), upAt.Sub(stoppedAt).Round(time.Millisecond), len(after))
	t.Logf("during the outage: %s", statusCounts(during))
	t.Logf("after PostgreSQL was back: %s", statusCounts(after))
	wantAnswers(t, "before the outage", before, false)
	if unavailable := wantAnswers(t, "during the outage", during, true); unavailable == 0 {
		t.Errorf("no answer during the outage was SERVICE_UNAVAILABLE (%d answers): the database was not missed", len(during))
	}
	wantAnswers(t, "after the outage", after, true)
	recovery, lastFailure := recoveryOf(after, upAt)
	t.Logf("seconds to recovery: %d (the first second, counted from PostgreSQL accepting connections again, from which every answer succeeded; %s)",
		recovery, lastFailure)
	if time.Duration(recovery)*time.Second > recoveryLimit {
		t.Errorf("full service returned %d s after PostgreSQL, want at most %v", recovery, recoveryLimit)
	}
	if served := servedFrom(after, upAt.Add(recoveryLimit)); served < loadWorkers {
		t.Errorf("only %d answers after the recovery limit: the load did not go on", served)
	}

	// Every batched entry written before anything is counted; the server
	// flushes as it does on shutdown.
	e.Flush()
	l.checkWrites(st, mk)
	l.checkAudit(st)
}

// wantAnswers fails when an answer of a phase is neither a success nor,
// when unavailable is allowed, a correct outage answer; it returns how
// many were outage answers.
func wantAnswers(t *testing.T, phase string, as []answer, unavailableAllowed bool) (unavailable int) {
	t.Helper()
	var wrong []answer
	for _, a := range as {
		switch {
		case a.ok():
		case unavailableAllowed && a.unavailable():
			unavailable++
		default:
			wrong = append(wrong, a)
		}
	}
	if len(wrong) > 0 {
		want := "a success"
		if unavailableAllowed {
			want += " or SERVICE_UNAVAILABLE (REST: 503 with Retry-After)"
		}
		t.Errorf("%s, %d answers were not %s: %s (the first to %s)", phase, len(wrong), want, statusCounts(wrong), wrong[0].op)
	}
	return unavailable
}

// answer is one request's outcome.
type answer struct {
	op         string
	start, end time.Time
	status     int
	code       string // the REST envelope's error code, or GraphQL's extensions.code
	retryAfter string
	graphql    bool
	err        error
}

func (a answer) ok() bool {
	return a.err == nil && a.status >= 200 && a.status < 300 && a.code == ""
}

// unavailable reports a correct outage answer: REST 503 with the code and
// Retry-After; GraphQL with extensions.code, and Retry-After when the HTTP
// status is 503 too.
func (a answer) unavailable() bool {
	if a.err != nil || a.code != "SERVICE_UNAVAILABLE" {
		return false
	}
	if a.status == http.StatusServiceUnavailable {
		return a.retryAfter == fmt.Sprint(apperr.RetryAfterSeconds)
	}
	return a.graphql && a.status == http.StatusOK
}

// outcome names the answer for counting: status and code.
func (a answer) outcome() string {
	if a.err != nil {
		return "transport error: " + a.err.Error()
	}
	s := fmt.Sprint(a.status)
	if a.graphql {
		s += " graphql"
	}
	if a.code != "" {
		s += " " + a.code
	}
	if a.status == http.StatusServiceUnavailable && a.retryAfter == "" {
		s += " without Retry-After"
	}
	return s
}

// load drives the server from several workers and remembers what it
// acknowledged.
type load struct {
	t      *testing.T
	base   string
	client *http.Client
	// The tenant, its load key, and per worker a credential to decrypt
	// and a key to validate.
	tenant    uuid.UUID
	bearer    string
	readCreds []credFixture
	targets   []keyFixture

	mu      sync.Mutex
	answers []answer
	// What was acknowledged: key creations, credentials with their data,
	// decrypts by credential and successful validations by key.
	keys      []uuid.UUID
	creds     map[uuid.UUID]map[string]any
	decrypts  map[uuid.UUID]int
	validates map[uuid.UUID]int
	// wrong lists successful answers whose content was not what was stored.
	wrong []string
}

type credFixture struct {
	id          uuid.UUID
	integration string
	data        map[string]any
}

type keyFixture struct {
	id  uuid.UUID
	key string
}

func newLoad(t *testing.T, base string) *load {
	return &load{t: t, base: base,
		client: &http.Client{Timeout: 20 * time.Second,
			Transport: &http.Transport{MaxIdleConnsPerHost: loadWorkers * 2}},
		creds: map[uuid.UUID]map[string]any{}, decrypts: map[uuid.UUID]int{}, validates: map[uuid.UUID]int{}}
}

// setUp registers the tenant, its load key and each worker's fixtures.
func (l *load) setUp() {
	var reg struct {
		Tenant      struct{ ID uuid.UUID } `json:"tenant"`
		AccessToken string                 `json:"access_token"`
	}
	tag := uuid.NewString()[:8]
	l.mustDo(http.MethodPost, "/api/v1/auth/register", "", map[string]any{"tenant_name": "Faults " + tag,
		"email": "owner-" + tag + "@faults.test", "password": "correct horse battery staple"}, http.StatusCreated, &reg)
	l.tenant = reg.Tenant.ID
	var k struct {
		ID  uuid.UUID `json:"id"`
		Key string    `json:"key"`
	}
	l.mustDo(http.MethodPost, "/api/v1/api-keys", reg.AccessToken, map[string]any{"name": "load"}, http.StatusCreated, &k)
	l.bearer = k.Key
	for w := range loadWorkers {
		l.mustDo(http.MethodPost, "/api/v1/api-keys", l.bearer, map[string]any{"name": fmt.Sprintf("target %d", w)}, http.StatusCreated, &k)
		l.targets = append(l.targets, keyFixture{id: k.ID, key: k.Key})
		c := credFixture{integration: fmt.Sprintf("read-%d", w), data: map[string]any{"api_key": "sk_read_" + uuid.NewString()}}
		var out struct{ ID uuid.UUID }
		l.mustDo(http.MethodPost, "/api/v1/credentials", l.bearer,
			map[string]any{"integration_id": c.integration, "auth_type": "api_key", "data": c.data}, http.StatusCreated, &out)
		c.id = out.ID
		l.readCreds = append(l.readCreds, c)
	}
	if l.tenant == uuid.Nil || l.bearer == "" {
		l.t.Fatal("set-up: no tenant or load key")
	}
}

// mustDo sends a set-up request and decodes the envelope's data into v.
func (l *load) mustDo(method, path, bearer string, body any, want int, v any) {
	l.t.Helper()
	resp, err := l.client.Do(l.request(method, path, bearer, body))
	if err != nil {
		l.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != want || !envelopeData(raw, v) {
		l.t.Fatalf("%s %s: %d (%v), want %d", method, path, resp.StatusCode, err, want)
	}
}

func (l *load) request(method, path, bearer string, body any) *http.Request {
	return newRequest(l.base, method, path, bearer, body)
}

// newRequest is a request to base+path with a JSON body, when there is one,
// and the bearer, when there is one.
func newRequest(base, method, path, bearer string, body any) *http.Request {
	var rd io.Reader
	if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			panic(err) // the bodies are maps of strings, which always marshal
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, base+path, rd)
	if err != nil {
		panic(err) // a known method and a path of the test's own
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	return req
}

// envelopeData decodes the REST envelope's data into v.
func envelopeData(raw []byte, v any) bool {
	var env struct{ Data json.RawMessage }
	return json.Unmarshal(raw, &env) == nil && json.Unmarshal(env.Data, v) == nil
}

// errorCode is the REST envelope's error code, or the first GraphQL
// error's extensions.code ("GRAPHQL_ERROR" without one); "" on success.
func errorCode(raw []byte, graphql bool) string {
	if graphql {
		var g struct {
			Errors []struct {
				Extensions struct{ Code string }
			}
		}
		if json.Unmarshal(raw, &g) != nil {
			return "UNREADABLE"
		}
		if len(g.Errors) == 0 {
			return ""
		}
		return cmp.Or(g.Errors[0].Extensions.Code, "GRAPHQL_ERROR")
	}
	var env struct {
		Success bool
		Error   *struct{ Code string }
	}
	switch {
	case json.Unmarshal(raw, &env) != nil:
		return "UNREADABLE"
	case env.Error != nil:
		return env.Error.Code
	case !env.Success:
		return "NOT_SUCCESS"
	}
	return ""
}

// run starts the workers; the returned func stops them and waits.
func (l *load) run() (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for n := range loadWorkers {
		wg.Go(func() {
			// Each worker starts on a different request.
			for i := n; ctx.Err() == nil; i++ {
				l.send(n, i)
			}
		})
	}
	return func() {
		cancel()
		wg.Wait()
	}
}

// send sends worker n's i-th request and records the answer; what a
// successful answer acknowledges is remembered.
func (l *load) send(n, i int) {
	name, req, ack := l.next(n, i)
	a := answer{op: name, start: time.Now(), graphql: name == "POST /graphql"}
	resp, err := l.client.Do(req)
	var raw []byte
	if err == nil {
		raw, err = io.ReadAll(resp.Body)
		resp.Body.Close()
		a.status, a.retryAfter = resp.StatusCode, resp.Header.Get("Retry-After")
	}
	a.end = time.Now()
	if a.err = err; err == nil {
		a.code = errorCode(raw, a.graphql)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.answers = append(l.answers, a)
	if a.ok() {
		ack(raw)
	}
}

// next is worker n's i-th request, in turn: three writes, each audited in
// its own transaction (an API key, a credential, a decrypt), a validation
// (audited through the batcher) and two reads (REST and GraphQL). ack runs
// under l.mu with the body of a successful answer.
func (l *load) next(n, i int) (name string, req *http.Request, ack func(raw []byte)) {
	switch i % 6 {
	case 0:
		return "POST /api-keys", l.request(http.MethodPost, "/api/v1/api-keys", l.bearer, map[string]any{"name": fmt.Sprintf("load %d-%d", n, i)}),
			func(raw []byte) {
				var k struct{ ID uuid.UUID }
				if !envelopeData(raw, &k) || k.ID == uuid.Nil {
					l.wrong = append(l.wrong, "a key creation answered no id")
					return
				}
				l.keys = append(l.keys, k.ID)
			}
	case 1:
		data := map[string]any{"username": fmt.Sprintf("u%d-%d", n, i), "password": "pw_" + uuid.NewString()}
		return "POST /credentials", l.request(http.MethodPost, "/api/v1/credentials", l.bearer,
				map[string]any{"integration_id": fmt.Sprintf("write-%d", n), "auth_type": "basic_auth", "data": data}),
			func(raw []byte) {
				var c struct{ ID uuid.UUID }
				if !envelopeData(raw, &c) || c.ID == uuid.Nil {
					l.wrong = append(l.wrong, "a credential creation answered no id")
					return
				}
				l.creds[c.ID] = data
			}
	case 2:
		rc := l.readCreds[n]
		return "GET /credentials/{integration}", l.request(http.MethodGet, "/api/v1/credentials/"+url.PathEscape(rc.integration), l.bearer, nil),
			func(raw []byte) {
				var out struct {
					Credentials []struct {
						ID   uuid.UUID
						Data map[string]any
					}
				}
				if !envelopeData(raw, &out) || len(out.Credentials) != 1 || out.Credentials[0].ID != rc.id ||
					!maps.Equal(out.Credentials[0].Data, rc.data) {
					l.wrong = append(l.wrong, "a decrypt of "+rc.integration+" did not answer the credential stored")
					return
				}
				l.decrypts[rc.id]++
			}
	case 3:
		k := l.targets[n]
		return "POST /api-keys/{id}/validate", l.request(http.MethodPost, "/api/v1/api-keys/"+k.id.String()+"/validate", l.bearer, map[string]any{"key": k.key}),
			func(raw []byte) {
				var v struct{ Valid bool }
				if !envelopeData(raw, &v) || !v.Valid {
					l.wrong = append(l.wrong, "a valid key was not answered valid")
					return
				}
				l.validates[k.id]++
			}
	case 4:
		return "GET /api-keys", l.request(http.MethodGet, "/api/v1/api-keys?limit=5", l.bearer, nil), func([]byte) {}
	}
	return "POST /graphql", l.request(http.MethodPost, "/graphql", l.bearer,
		map[string]any{"query": `{ apiKeys(first: 5) { totalCount } credentials(first: 5) { totalCount } }`}), func([]byte) {}
}

// split divides the answers: those answered before the stop; those to
// requests under way between the stop and PostgreSQL accepting connections
// again; those to requests started after.
func (l *load) split(stoppedAt, upAt time.Time) (before, during, after []answer) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.wrong) > 0 {
		l.t.Errorf("%d successful answers carried the wrong content, first: %s", len(l.wrong), l.wrong[0])
	}
	for _, a := range l.answers {
		switch {
		case a.end.Before(stoppedAt):
			before = append(before, a)
		case a.start.Before(upAt):
			during = append(during, a)
		default:
			after = append(after, a)
		}
	}
	return before, during, after
}

// statusCounts counts answers by outcome, e.g. "503 SERVICE_UNAVAILABLE: 812, 200: 4".
func statusCounts(as []answer) string {
	counts := map[string]int{}
	for _, a := range as {
		counts[a.outcome()]++
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(counts)) {
		parts = append(parts, fmt.Sprintf("%s: %d", k, counts[k]))
	}
	return strings.Join(parts, ", ")
}

// recoveryOf is the first whole second after upAt from which every answer
// succeeded, and when the last failing request after upAt started.
func recoveryOf(after []answer, upAt time.Time) (seconds int, lastFailure string) {
	lastFailure = "no request started after it failed"
	var last time.Duration
	for _, a := range after {
		if at := a.start.Sub(upAt); !a.ok() && at >= last {
			last, seconds = at, int(at/time.Second)+1
			lastFailure = fmt.Sprintf("the last failing request started %v after", at.Round(time.Millisecond))
		}
	}
	return seconds, lastFailure
}

// servedFrom counts the answers to requests started at or after from.
func servedFrom(as []answer, from time.Time) int {
	n := 0
	for _, a := range as {
		if !a.start.Before(from) {
			n++
		}
	}
	return n
}

// checkWrites finds every acknowledged key and credential in the
// database, each credential opening to the data sent.
func (l *load) checkWrites(st *store.Store, mk *crypt.MasterKey) {
	t := l.t
	ctx := store.Unrestricted(t.Context())
	keys, err := st.Client.APIKey.Query().Where(apikey.IDIn(l.keys...)).IDs(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rows, err := st.Client.Credential.Query().Where(credential.IDIn(slices.Collect(maps.Keys(l.creds))...)).All(ctx)
	if err != nil {
		t.Fatal(err)
	}
	deks := dek.New(st.Client, mk, nil)
	intact := 0
	for _, c := range rows {
		if got, err := openCredential(ctx, deks, c); err != nil || !maps.Equal(got, l.creds[c.ID]) {
			t.Errorf("credential %s does not open to the data acknowledged (%v)", c.ID, err)
			continue
		}
		intact++
	}
	acked, present := len(l.keys)+len(l.creds), len(keys)+intact
	t.Logf("writes acknowledged: %d (%d API keys, %d credentials); present: %d (%d, %d, every credential opening to its data); missing: %d",
		acked, len(l.keys), len(l.creds), present, len(keys), intact, acked-present)
	if present != acked {
		t.Errorf("%d acknowledged writes are missing", acked-present)
	}
}

// openCredential decrypts a credential row as the server does.
func openCredential(ctx context.Context, deks *dek.Manager, c *ent.Credential) (map[string]any, error) {
	key, err := deks.Key(ctx, c.TenantID, c.DekVersion)
	if err != nil {
		return nil, err
	}
	pt, err := crypt.Credential.Open(key, c.Ciphertext, c.TenantID, c.ID, c.DekVersion)
	if err != nil {
		return nil, err
	}
	var data map[string]any
	return data, json.Unmarshal(pt, &data)
}

// checkAudit finds the audit entry of every acknowledged write and
// validation: one row per key or credential created and per decrypt; the
// validations of a key tallied in rows whose details.count add up.
func (l *load) checkAudit(st *store.Store) {
	t := l.t
	ctx := store.Unrestricted(t.Context())
	rows, err := st.Client.AuditLog.Query().Where(auditlog.TenantID(l.tenant),
		auditlog.ActionIn("api_key.create", "credential.create", "credential.decrypt", "api_key.validate")).All(ctx)
	if err != nil {
		t.Fatal(err)
	}
	type entry struct{ action, resource string }
	present := map[entry]int{}
	for _, r := range rows {
		n := 1
		if r.Action == "api_key.validate" {
			if r.Outcome != auditlog.OutcomeSuccess {
				continue
			}
			count, _ := r.Details["count"].(float64)
			n = int(count)
		}
		present[entry{r.Action, r.ResourceID}] += n
	}
	expected := map[entry]int{}
	for _, id := range l.keys {
		expected[entry{"api_key.create", id.String()}]++
	}
	for id := range l.creds {
		expected[entry{"credential.create", id.String()}]++
	}
	for id, n := range l.decrypts {
		expected[entry{"credential.decrypt", id.String()}] += n
	}
	for id, n := range l.validates {
		expected[entry{"api_key.validate", id.String()}] += n
	}
	byAction := map[string][2]int{} // expected, found
	lost := 0
	for e, want := range expected {
		found := min(present[e], want)
		lost += want - found
		c := byAction[e.action]
		byAction[e.action] = [2]int{c[0] + want, c[1] + found}
	}
	var parts []string
	total := [2]int{}
	for _, a := range slices.Sorted(maps.Keys(byAction)) {
		c := byAction[a]
		parts = append(parts, fmt.Sprintf("%s %d/%d", a, c[1], c[0]))
		total = [2]int{total[0] + c[0], total[1] + c[1]}
	}
	t.Logf("audit entries expected: %d, present: %d, lost: %d (present/expected by action: %s)",
		total[0], total[1], lost, strings.Join(parts, ", "))
	if lost > 0 {
		t.Errorf("%d audit entries of acknowledged requests are lost", lost)
	}
}
