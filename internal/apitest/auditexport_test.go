package apitest_test

// The audit export (GET /admin/audit-logs/export and `credvault audit
// export`): a large trail streams in bounded memory and round-trips in
// both formats; filters, negotiation, refusals, isolation, rate limiting
// and a stream cut short by a failing database.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/credvault/credvault/ent"
	"github.com/credvault/credvault/ent/auditlog"
	"github.com/credvault/credvault/internal/apitest"
	"github.com/credvault/credvault/internal/audit"
	"github.com/credvault/credvault/internal/platform/config"
	"github.com/credvault/credvault/internal/platform/store"
	"github.com/credvault/credvault/internal/platform/store/storetest"
)

const exportPath = "/api/v1/admin/audit-logs/export"

// exportBase is when the inserted entries start: before any real one, so
// a since/until window picks exactly them.
var exportBase = time.Date(2025, 3, 1, 0, 0, 0, 0, time.UTC)

// insertAudit inserts n entries of tenant directly, in bulk: entry i
// occurred at exportBase + (i/3) ms (three to a millisecond, so a batch
// boundary falls between entries of one time and the keyset's tie on id
// matters), with varied fields and about 400 bytes of JSON each.
func insertAudit(t testing.TB, client *ent.Client, tenant uuid.UUID, n int) {
	t.Helper()
	ctx := unrestricted()
	outcomes := []auditlog.Outcome{auditlog.OutcomeSuccess, auditlog.OutcomeFailure, auditlog.OutcomeDenied}
	note := strings.Repeat("n", 80)
	for start := 0; start < n; start += 1000 {
		bulk := make([]*ent.AuditLogCreate, 0, 1000)
		for i := start; i < min(start+1000, n); i++ {
			bulk = append(bulk, client.AuditLog.Create().SetTenantID(tenant).
				SetOccurredAt(exportBase.Add(time.Duration(i/3)*time.Millisecond)).
				SetActorType("user").SetActorID(fmt.Sprintf("actor-%d", i%17)).
				SetAction(fmt.Sprintf("export.test%d", i%5)).SetResourceType("api_key").
				SetResourceID(fmt.Sprintf("res-%d", i)).SetOutcome(outcomes[i%3]).
				SetRequestID(fmt.Sprintf("req-%d", i)).SetIP("203.0.113.7").
				SetUserAgent(`exporter/1.0 "quoted", comma`).
				SetDetails(map[string]any{"seq": i, "note": note, "nested": map[string]any{"ok": i%2 == 0}}))
		}
		if err := client.AuditLog.CreateBulk(bulk...).Exec(ctx); err != nil {
			t.Fatalf("insert audit entries: %v", err)
		}
	}
}

// entryDigest is what an export must reproduce of an entry, hashed: every
// field, the time to the microsecond, details as canonical JSON.
func entryDigest(id, tenant uuid.UUID, at time.Time, fields []string, details map[string]any) [32]byte {
	d, _ := json.Marshal(details)
	return sha256.Sum256(fmt.Appendf(nil, "%s|%s|%d|%q|%s", id, tenant, at.UnixMicro(), fields, d))
}

// viewDigest is entryDigest of an exported line.
func viewDigest(v *audit.View) [32]byte {
	return entryDigest(v.ID, v.TenantID, v.OccurredAt, []string{v.ActorType, v.ActorID, v.Action, v.ResourceType,
		v.ResourceID, v.Outcome, v.RequestID, v.IP, v.UserAgent}, v.Details)
}

// dbDigests reads the entries of tenant in [since, until) from the
// database, in batches, as digests by id.
func dbDigests(t testing.TB, client *ent.Client, tenant uuid.UUID, since, until time.Time) map[uuid.UUID][32]byte {
	t.Helper()
	out := map[uuid.UUID][32]byte{}
	q := client.AuditLog.Query().Where(auditlog.TenantID(tenant), auditlog.OccurredAtGTE(since), auditlog.OccurredAtLT(until))
	var after uuid.UUID
	for {
		rows, err := q.Clone().Where(auditlog.IDGT(after)).Order(ent.Asc(auditlog.FieldID)).Limit(5000).All(unrestricted())
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range rows {
			out[a.ID] = viewDigest(audit.NewView(a))
		}
		if len(rows) < 5000 {
			return out
		}
		after = rows[len(rows)-1].ID
	}
}

// heapPeak samples the heap in use and the resident set every 2 ms until
// stopped, and reports their peaks above what they were when it started,
// after a collection.
type heapPeak struct {
	base, peak       uint64
	rssBase, rssPeak uint64
	stop             chan struct{}
	done             sync.WaitGroup
}

func watchHeap() *heapPeak {
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	h := &heapPeak{base: m.HeapInuse, peak: m.HeapInuse, rssBase: rss(), stop: make(chan struct{})}
	h.rssPeak = h.rssBase
	h.done.Go(func() {
		tick := time.NewTicker(2 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-h.stop:
				return
			case <-tick.C:
				runtime.ReadMemStats(&m)
				h.peak = max(h.peak, m.HeapInuse)
				h.rssPeak = max(h.rssPeak, rss())
			}
		}
	})
	return h
}

// growth stops the sampling and returns the peak growth of the heap in
// use and of the resident set (0 where /proc is not), in MiB.
func (h *heapPeak) growth() (heap, resident float64) {
	close(h.stop)
	h.done.Wait()
	return float64(h.peak-h.base) / (1 << 20), float64(h.rssPeak-h.rssBase) / (1 << 20)
}

// rss is the process's resident set in bytes, from /proc/self/statm, or 0.
func rss() uint64 {
	raw, err := os.ReadFile("/proc/self/statm")
	if err != nil {
		return 0
	}
	var size, pages uint64
	if _, err := fmt.Sscan(string(raw), &size, &pages); err != nil {
		return 0
	}
	return pages * uint64(os.Getpagesize())
}

// exportRequest is a GET of the export with query, as cred, accepting accept.
func exportRequest(t testing.TB, e *apitest.Env, cred, query, accept string) *http.Response {
	t.Helper()
	req := e.HTTPRequest(apitest.Request{Method: http.MethodGet, Path: exportPath + "?" + query, Bearer: cred,
		Header: map[string]string{"Accept": accept}})
	resp, err := e.Server.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		t.Fatalf("export %s: %d %s", query, resp.StatusCode, redact(body))
	}
	return resp
}

// TestAuditExportStreamsBoundedAndRoundTrips inserts 70,000 entries (35 MB
// of NDJSON), then exports them over HTTP as NDJSON and as CSV and with the
// CLI: every line parses, equals its row of the database, comes once and in
// order, and the server's heap grows by far less than the export's size
// while it streams. Not parallel: the heap measured is the whole process's,
// so the test holds the package's other tests back (27 s here; 35 s with
// the 100,000 entries it had, no surer of being bounded).
func TestAuditExportStreamsBoundedAndRoundTrips(t *testing.T) {
	const n = 70_000
	apitest.Each(t, func(t *testing.T, e *apitest.Env) {
		a := register(t, e, "Export Big")
		b := register(t, e, "Export Other")
		start := time.Now()
		insertAudit(t, e.Store.Client, a.TenantID, n)
		insertAudit(t, e.Store.Client, b.TenantID, 1000)
		t.Logf("inserted %d entries in %v", n+1000, time.Since(start).Round(time.Millisecond))
		since, until := exportBase, exportBase.Add(time.Hour)
		query := url.Values{"since": {since.Format(time.RFC3339)}, "until": {until.Format(time.RFC3339)}}.Encode()
		want := dbDigests(t, e.Store.Client, a.TenantID, since, until)
		if len(want) != n {
			t.Fatalf("the database holds %d of the tenant's entries in the window, want %d", len(want), n)
		}

		// A collection every 20% of growth, so that the heap in use is what
		// is held, not garbage awaiting a collection that GOGC=100 defers.
		defer debug.SetGCPercent(debug.SetGCPercent(20))
		heap := watchHeap()
		began := time.Now()
		resp := exportRequest(t, e, a.AccessToken, query, "")
		if ct := resp.Header.Get("Content-Type"); ct != "application/x-ndjson; charset=utf-8" {
			t.Errorf("Content-Type %q", ct)
		}
		if cc := resp.Header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("Cache-Control %q, want no-store", cc)
		}
		sum := sha256.New()
		sc := bufio.NewScanner(io.TeeReader(resp.Body, sum))
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		var lines, size int
		var last audit.View
		for sc.Scan() {
			size += len(sc.Bytes()) + 1
			var v audit.View
			if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
				t.Fatalf("line %d is not JSON: %v", lines+1, err)
			}
			lines++
			if d, ok := want[v.ID]; !ok || d != viewDigest(&v) {
				t.Fatalf("line %d (%s): known %v, but not equal to its row", lines, v.ID, ok)
			}
			if lines > 1 && (v.OccurredAt.Before(last.OccurredAt) ||
				v.OccurredAt.Equal(last.OccurredAt) && strings.Compare(v.ID.String(), last.ID.String()) <= 0) {
				t.Fatalf("line %d (%s at %v) is not after line %d (%s at %v)", lines, v.ID, v.OccurredAt, lines-1, last.ID, last.OccurredAt)
			}
			last = v
		}
		if err := sc.Err(); err != nil {
			t.Fatalf("reading the stream: %v", err)
		}
		resp.Body.Close()
		elapsed := time.Since(began)
		growth, resident := heap.growth()
		// Strictly ordered lines are distinct: as many as rows, each equal
		// to one, is every row exactly once.
		if lines != n {
			t.Fatalf("%d lines, want %d", lines, n)
		}
		t.Logf("NDJSON: %d entries, %.1f MB in %v; heap in use grew by at most %.1f MiB, the resident set by %.1f MiB",
			lines, float64(size)/1e6, elapsed.Round(time.Millisecond), growth, resident)
		if size < 30e6 {
			t.Errorf("the export is %d bytes: too small to show memory is bounded", size)
		}
		if growth >= 32 {
			t.Errorf("heap in use grew by %.1f MiB while %.1f MB streamed: not bounded", growth, float64(size)/1e6)
		}

		// CSV: a header, then a record per entry, equal to its row.
		heap = watchHeap()
		resp = exportRequest(t, e, a.AccessToken, query, "text/csv")
		if ct := resp.Header.Get("Content-Type"); ct != "text/csv; charset=utf-8" {
			t.Errorf("CSV Content-Type %q", ct)
		}
		r := csv.NewReader(resp.Body)
		r.ReuseRecord = true
		header, err := r.Read()
		if err != nil || !slices.Equal(header, audit.Columns) {
			t.Fatalf("CSV header %v (%v), want %v", header, err, audit.Columns)
		}
		records := 0
		for {
			rec, err := r.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("CSV record %d: %v", records+1, err)
			}
			records++
			v := audit.View{ID: uuid.MustParse(rec[0]), TenantID: uuid.MustParse(rec[1]), ActorType: rec[3], ActorID: rec[4],
				Action: rec[5], ResourceType: rec[6], ResourceID: rec[7], Outcome: rec[8], RequestID: rec[9], IP: rec[10], UserAgent: rec[11]}
			if v.OccurredAt, err = time.Parse(time.RFC3339Nano, rec[2]); err != nil {
				t.Fatalf("CSV record %d: occurred_at %q", records, rec[2])
			}
			if err := json.Unmarshal([]byte(rec[12]), &v.Details); err != nil {
				t.Fatalf("CSV record %d: details %q", records, rec[12])
			}
			if d, ok := want[v.ID]; !ok || d != viewDigest(&v) {
				t.Fatalf("CSV record %d (%s): known %v, but not equal to its row", records, v.ID, ok)
			}
		}
		resp.Body.Close()
		growth, resident = heap.growth()
		t.Logf("CSV: %d records; heap in use grew by at most %.1f MiB, the resident set by %.1f MiB", records, growth, resident)
		if records != n {
			t.Errorf("%d CSV records, want %d", records, n)
		}
		if growth >= 32 {
			t.Errorf("heap in use grew by %.1f MiB during the CSV export: not bounded", growth)
		}

		// The CLI shares the route's streaming code: byte for byte the same.
		out := filepath.Join(t.TempDir(), "trail.ndjson")
		var stderr bytes.Buffer
		err = audit.Command(context.Background(), []string{"export", "--database-url", e.Store.URL,
			"--since", since.Format(time.RFC3339), "--until", until.Format(time.RFC3339), "--tenant", a.TenantID.String(),
			"--out", out}, func(string) string { return "" }, io.Discard, &stderr)
		if err != nil {
			t.Fatalf("credvault audit export: %v (%s)", err, stderr.String())
		}
		file, err := os.ReadFile(out)
		if err != nil {
			t.Fatal(err)
		}
		if got := sha256.Sum256(file); !bytes.Equal(got[:], sum.Sum(nil)) {
			t.Errorf("the CLI's export (%d bytes) differs from the route's (%d bytes)", len(file), size)
		}
		if !strings.Contains(stderr.String(), fmt.Sprintf("exported %d audit entries", n)) {
			t.Errorf("CLI summary %q", stderr.String())
		}
	})
}

// exportLines exports with query and accept and returns the status, the
// headers and the body's lines (an envelope when refused).
func exportLines(t *testing.T, e *apitest.Env, cred, query, accept string) (*apitest.Response, []string) {
	t.Helper()
	r := e.Do(apitest.Request{Method: http.MethodGet, Path: exportPath + "?" + query, Bearer: cred,
		Header: map[string]string{"Accept": accept}})
	body := strings.TrimSuffix(string(r.Body), "\n")
	if body == "" {
		return r, nil
	}
	return r, strings.Split(body, "\n")
}

// TestAuditExportRules checks what the export shares with the list and
// what is its own: the same filters select the same entries, Accept picks
// the format, an empty export is a 200, refusals come in the envelope,
// another tenant's entries never appear, and one export is one request
// to the rate limiter however long it streams.
func TestAuditExportRules(t *testing.T) {
	t.Parallel()
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		a := register(t, e, "Export Rules")
		b := register(t, e, "Export Rules Other")
		insertAudit(t, e.Store.Client, a.TenantID, 1500)
		insertAudit(t, e.Store.Client, b.TenantID, 50)
		window := "since=" + url.QueryEscape(exportBase.Format(time.RFC3339)) + "&until=" +
			url.QueryEscape(exportBase.Add(time.Hour).Format(time.RFC3339))

		// The list's filters select the list's entries.
		filter := window + "&action=export.test2&outcome=failure&actor_id=actor-3"
		r, lines := exportLines(t, e, a.AccessToken, filter, "application/x-ndjson")
		wantStatus(t, r, http.StatusOK)
		var exported []string
		for _, l := range lines {
			var v audit.View
			if err := json.Unmarshal([]byte(l), &v); err != nil {
				t.Fatalf("line %q: %v", l, err)
			}
			if v.Action != "export.test2" || v.Outcome != "failure" || v.ActorID != "actor-3" || v.TenantID != a.TenantID {
				t.Errorf("filtered export has %+v", v)
			}
			exported = append(exported, v.ID.String())
		}
		var listed []map[string]any
		listPage(t, e, a.AccessToken, "/api/v1/admin/audit-logs?"+filter+"&limit=100", &listed)
		var ids []string
		for _, l := range listed {
			ids = append(ids, l["id"].(string))
		}
		if len(exported) == 0 || !sameSet(exported, ids) {
			t.Errorf("export selected %d entries, the list %d: %v vs %v", len(exported), len(ids), exported, ids)
		}

		// Accept picks the format; without one, or with another, NDJSON.
		for accept, want := range map[string]string{"": audit.NDJSONType, "*/*": audit.NDJSONType, "application/json": audit.NDJSONType,
			"text/csv": audit.CSVType, "application/x-ndjson;q=0.4, text/csv;q=0.9": audit.CSVType,
			"text/csv;q=0.1, application/x-ndjson": audit.NDJSONType} {
			r, _ := exportLines(t, e, a.AccessToken, filter, accept)
			wantStatus(t, r, http.StatusOK)
			if ct, _, _ := strings.Cut(r.Header.Get("Content-Type"), ";"); ct != want {
				t.Errorf("Accept %q: Content-Type %q, want %s", accept, r.Header.Get("Content-Type"), want)
			}
		}
		_, csvLines := exportLines(t, e, a.AccessToken, filter, "text/csv")
		if len(csvLines) != len(exported)+1 || csvLines[0] != strings.Join(audit.Columns, ",") {
			t.Errorf("CSV of %d entries has %d lines, first %q", len(exported), len(csvLines), csvLines[0])
		}

		// The whole window: every entry of A once, none of B, past batch boundaries.
		r, lines = exportLines(t, e, a.AccessToken, window, "")
		if len(lines) != 1500 {
			t.Errorf("window export: %d lines, want 1500", len(lines))
		}
		if strings.Contains(string(r.Body), b.TenantID.String()) {
			t.Error("tenant A's export holds tenant B's entries")
		}
		// Without a window, A's own entries of its sign-up are there too.
		_, all := exportLines(t, e, a.AccessToken, "", "")
		if len(all) <= 1500 || !strings.Contains(all[len(all)-1], `"tenant_id":"`+a.TenantID.String()) {
			t.Errorf("the whole trail: %d lines", len(all))
		}

		// Nothing selected: 200, an empty body, or the CSV header alone.
		empty := window + "&action=no.such.action"
		if r, lines := exportLines(t, e, a.AccessToken, empty, ""); r.Status != http.StatusOK || len(lines) != 0 {
			t.Errorf("empty NDJSON export: %d, %d lines", r.Status, len(lines))
		}
		if r, lines := exportLines(t, e, a.AccessToken, empty, "text/csv"); r.Status != http.StatusOK || len(lines) != 1 {
			t.Errorf("empty CSV export: %d, %d lines", r.Status, len(lines))
		}

		// Refusals, in the envelope, before any line.
		r, _ = exportLines(t, e, "", window, "")
		wantUnauthorized(t, r)
		noAudit := a.key(t, "api_keys:read")
		r, _ = exportLines(t, e, noAudit.Key, window, "")
		wantError(t, r, http.StatusForbidden, "FORBIDDEN", "required_scope", "audit:read")
		reader := a.key(t, "audit:read")
		if r, lines := exportLines(t, e, reader.Key, window, ""); r.Status != http.StatusOK || len(lines) != 1500 {
			t.Errorf("an audit:read key: %d, %d lines", r.Status, len(lines))
		}
		for _, q := range []string{"outcome=maybe", "since=yesterday", "until=2025-13-01T00:00:00Z"} {
			r, _ = exportLines(t, e, a.AccessToken, q, "")
			wantError(t, r, http.StatusUnprocessableEntity, "VALIDATION_ERROR")
			if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("%s: refused as %q", q, ct)
			}
		}
		r = e.Do(apitest.Request{Method: http.MethodGet, Path: exportPath, Bearer: b.AccessToken,
			Header: map[string]string{"x-tenantid": a.TenantID.String()}})
		wantError(t, r, http.StatusForbidden, "TENANT_MISMATCH")

		// A platform admin exports the tenant it selects.
		r = e.Do(apitest.Request{Method: http.MethodGet, Path: exportPath + "?" + window, Bearer: adminToken(t, e),
			Header: map[string]string{"x-tenantid": a.TenantID.String()}})
		wantStatus(t, r, http.StatusOK)
		if n := strings.Count(string(r.Body), `"tenant_id":"`+a.TenantID.String()+`"`); n != 1500 || strings.Count(string(r.Body), "\n") != 1500 {
			t.Errorf("the platform admin's export of A: %d of A's entries in %d lines", n, strings.Count(string(r.Body), "\n"))
		}
	}, withAdmin)
}

// TestAuditExportCountsOnce checks that an export, however many batches it
// streams, is one request to the rate limiter.
func TestAuditExportCountsOnce(t *testing.T) {
	t.Parallel()
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		a := register(t, e, "Export Limited")
		insertAudit(t, e.Store.Client, a.TenantID, 2500)
		remaining := func(r *apitest.Response) string {
			t.Helper()
			wantStatus(t, r, http.StatusOK)
			return r.Header.Get("X-RateLimit-Remaining")
		}
		before := remaining(e.Get("/api/v1/auth/me", a.AccessToken))
		export := remaining(e.Get(exportPath, a.AccessToken))
		after := remaining(e.Get("/api/v1/auth/me", a.AccessToken))
		var x, y, z int
		fmt.Sscan(before, &x)
		fmt.Sscan(export, &y)
		fmt.Sscan(after, &z)
		if before == "" || y != x-1 || z != y-1 {
			t.Errorf("X-RateLimit-Remaining %q, then %q for an export of 3 batches, then %q: want one each", before, export, after)
		}
	}, func(c *config.Config) { c.RateLimits = "free=1000/h,pro=1000/h,enterprise=1000/h" })
}

// TestAuditExportCutShort fails the export's query between two batches: the
// answer, already begun, must end without its last chunk, so that a
// client cannot take a truncated export for a complete one.
func TestAuditExportCutShort(t *testing.T) {
	t.Parallel()
	storetest.EachParallel(t, func(t *testing.T, st *store.Store) {
		stmts := storetest.CountStatements(st)
		e := apitest.New(t, st)
		a := register(t, e, "Export Cut")
		insertAudit(t, st.Client, a.TenantID, 2500)
		batches := 0
		release := stmts.HoldNext(func(q string) bool {
			if strings.HasPrefix(q, "SELECT") && strings.Contains(q, "audit_logs") && strings.Contains(q, "ORDER BY") {
				batches++
			}
			return batches == 2
		})
		defer release()
		resp := exportRequest(t, e, a.AccessToken, "", "")
		defer resp.Body.Close()
		br := bufio.NewReader(resp.Body)
		for i := range 1000 {
			if _, err := br.ReadBytes('\n'); err != nil {
				t.Fatalf("line %d of the first batch: %v", i+1, err)
			}
		}
		// The second batch's query waits: its table goes away under it.
		rename := func(from, to string) {
			if _, err := st.DB.ExecContext(context.Background(), "ALTER TABLE "+from+" RENAME TO "+to); err != nil {
				t.Fatal(err)
			}
		}
		rename("audit_logs", "audit_logs_away")
		defer rename("audit_logs_away", "audit_logs")
		release()
		rest, err := io.ReadAll(br)
		if err == nil || !errors.Is(err, io.ErrUnexpectedEOF) {
			t.Fatalf("after the first batch: %d more bytes, then %v; want the stream cut short (unexpected EOF)", len(rest), err)
		}
		if len(rest) != 0 {
			t.Errorf("%d bytes after the first batch, want none", len(rest))
		}
	})
}
