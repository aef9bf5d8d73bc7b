package apitest_test

// Background jobs over real HTTP, on SQLite and PostgreSQL: triggering a
// job (202, its id, audited), unknown names, the jobs:read / jobs:write
// scopes, stats that match the queue's rows, and the same over GraphQL.

import (
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/credvault/credvault/ent/apikey"
	"github.com/credvault/credvault/ent/job"
	"github.com/credvault/credvault/internal/apitest"
)

// jobNames are the jobs of SPEC §9 and the sandbox reset of §15.
var jobNames = []string{"audit_retention", "dek_rotation", "expire_api_keys", "purge_deleted_tenants", "reset_sandbox_tenants"}

// jobStatsJSON is the data of GET /admin/jobs/{name}/stats.
type jobStatsJSON struct {
	JobName   string     `json:"job_name"`
	Pending   int        `json:"pending"`
	Running   int        `json:"running"`
	Completed int        `json:"completed"`
	Failed    int        `json:"failed"`
	Retrying  int        `json:"retrying"`
	LastRunAt *time.Time `json:"last_run_at"`
}

func jobStats(t *testing.T, e *apitest.Env, cred, name string) jobStatsJSON {
	t.Helper()
	var s jobStatsJSON
	wantOK(t, do(e, http.MethodGet, "/api/v1/admin/jobs/"+name+"/stats", cred, nil), http.StatusOK, &s)
	return s
}

// triggerJob triggers a job as cred and returns its id.
func triggerJob(t *testing.T, e *apitest.Env, cred, name string, args map[string]any) uuid.UUID {
	t.Helper()
	body := map[string]any{"job_name": name}
	if args != nil {
		body["args"] = args
	}
	var out struct {
		JobID uuid.UUID `json:"job_id"`
	}
	wantOK(t, do(e, http.MethodPost, "/api/v1/admin/jobs/trigger", cred, body), http.StatusAccepted, &out)
	if out.JobID == uuid.Nil {
		t.Fatal("trigger answered no job_id")
	}
	return out.JobID
}

// dbJobCounts counts the queue's rows of a job by status: every row, or
// the runs of tenant (args.tenant_id) when one is given, as its stats do.
func dbJobCounts(t *testing.T, e *apitest.Env, name string, tenant ...uuid.UUID) jobStatsJSON {
	t.Helper()
	rows, err := e.Store.Client.Job.Query().Where(job.Name(name)).All(unrestricted())
	if err != nil {
		t.Fatal(err)
	}
	s := jobStatsJSON{JobName: name}
	for _, j := range rows {
		if len(tenant) > 0 && j.Args["tenant_id"] != tenant[0].String() {
			continue
		}
		switch j.Status {
		case job.StatusPending:
			s.Pending++
		case job.StatusRunning:
			s.Running++
		case job.StatusCompleted:
			s.Completed++
		case job.StatusFailed:
			s.Failed++
		case job.StatusRetrying:
			s.Retrying++
		}
		if j.StartedAt != nil && (s.LastRunAt == nil || j.StartedAt.After(*s.LastRunAt)) {
			s.LastRunAt = j.StartedAt
		}
	}
	return s
}

func sameCounts(a, b jobStatsJSON) bool {
	return a.JobName == b.JobName && a.Pending == b.Pending && a.Running == b.Running && a.Completed == b.Completed &&
		a.Failed == b.Failed && a.Retrying == b.Retrying
}

func TestJobTriggerAndStats(t *testing.T) {
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		tn := register(t, e, "Jobs")
		owner := tn.AccessToken

		for _, name := range []string{"expire_api_keys", "audit_retention", "purge_deleted_tenants", "dek_rotation", "reset_sandbox_tenants"} {
			t.Run(name, func(t *testing.T) {
				e := on(t, e)
				// Wait for the runs the schedulers enqueued at start-up to settle.
				eventually(t, 20*time.Second, name+" settles", func() (bool, string) {
					s := dbJobCounts(t, e, name)
					return s.Pending+s.Running+s.Retrying == 0, "busy"
				})
				before := jobStats(t, e, owner, name)
				if before.JobName != name {
					t.Fatalf("stats job_name %q", before.JobName)
				}
				id := triggerJob(t, e, owner, name, nil)
				j, err := e.Store.Client.Job.Get(unrestricted(), id)
				if err != nil || j.Name != name {
					t.Fatalf("triggered job row: %+v, %v", j, err)
				}
				if name == "dek_rotation" && j.Args["tenant_id"] != tn.TenantID.String() {
					t.Fatalf("dek_rotation args %v, want the caller's tenant", j.Args)
				}
				waitJob(t, e, id, 20*time.Second)
				var after jobStatsJSON
				eventually(t, 10*time.Second, name+" stats match the queue", func() (bool, string) {
					after = jobStats(t, e, owner, name)
					db := dbJobCounts(t, e, name, tn.TenantID)
					return sameCounts(after, db) && after.LastRunAt != nil && db.LastRunAt != nil && after.LastRunAt.Equal(*db.LastRunAt),
						"stats differ from the queue's rows"
				})
				if after.Completed < before.Completed+1 {
					t.Fatalf("completed %d after the run, %d before", after.Completed, before.Completed)
				}
				if a := auditEntries(t, e, tn.TenantID, "job.trigger", id.String()); len(a) != 1 || a[0].ActorID != tn.UserID.String() ||
					a[0].Details["job_name"] != name {
					t.Fatalf("job.trigger entries = %+v", a)
				}
			})
		}
	})
}

func TestJobTriggerValidationAndScopes(t *testing.T) {
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		a := register(t, e, "JobsA")
		b := register(t, e, "JobsB")
		countJobs := func() int {
			n, err := e.Store.Client.Job.Query().Count(unrestricted())
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
		jobsBefore := countJobs()

		for _, body := range []map[string]any{{"job_name": "make_coffee"}, {"job_name": ""}, {}} {
			r := do(e, http.MethodPost, "/api/v1/admin/jobs/trigger", a.AccessToken, body)
			wantError(t, r, http.StatusUnprocessableEntity, "VALIDATION_ERROR", "field", "job_name")
			allowed, _ := r.Envelope.Error.Details["allowed"].([]any)
			if len(allowed) != len(jobNames) {
				t.Fatalf("details.allowed = %v, want every job", r.Envelope.Error.Details["allowed"])
			}
		}
		wantError(t, do(e, http.MethodGet, "/api/v1/admin/jobs/make_coffee/stats", a.AccessToken, nil),
			http.StatusUnprocessableEntity, "VALIDATION_ERROR", "field", "job_name")

		// jobs:write triggers, jobs:read reads stats.
		reader := newKey(t, e, a.AccessToken, "jobs:read")
		writer := newKey(t, e, a.AccessToken, "jobs:write")
		wantError(t, do(e, http.MethodPost, "/api/v1/admin/jobs/trigger", reader.Key, map[string]any{"job_name": "expire_api_keys"}),
			http.StatusForbidden, "FORBIDDEN", "required_scope", "jobs:write")
		wantError(t, do(e, http.MethodGet, "/api/v1/admin/jobs/expire_api_keys/stats", writer.Key, nil),
			http.StatusForbidden, "FORBIDDEN", "required_scope", "jobs:read")
		jobStats(t, e, reader.Key, "expire_api_keys")
		waitJob(t, e, triggerJob(t, e, writer.Key, "expire_api_keys", nil), 20*time.Second)
		// A viewer reads but does not trigger.
		viewer := createUser(t, e, a.AccessToken, "viewer-"+a.Slug+"@jobs.test", "viewer", testPassword)
		vs := login(t, e, viewer.Email, testPassword, a.Slug)
		jobStats(t, e, vs.AccessToken, "audit_retention")
		wantError(t, do(e, http.MethodPost, "/api/v1/admin/jobs/trigger", vs.AccessToken, map[string]any{"job_name": "audit_retention"}),
			http.StatusForbidden, "FORBIDDEN", "required_scope", "jobs:write")
		// A DEK rotation of another tenant needs platform:admin.
		wantError(t, do(e, http.MethodPost, "/api/v1/admin/jobs/trigger", a.AccessToken,
			map[string]any{"job_name": "dek_rotation", "args": map[string]any{"tenant_id": b.TenantID.String()}}),
			http.StatusForbidden, "FORBIDDEN", "required_scope", "platform:admin")
		// Only the one accepted trigger enqueued a run (periodic runs aside).
		if got := countJobs() - jobsBefore; got < 1 {
			t.Fatalf("%d jobs enqueued, want the accepted trigger's", got)
		}
		n, err := e.Store.Client.Job.Query().Where(job.NameEQ("make_coffee")).Count(unrestricted())
		if err != nil || n != 0 {
			t.Fatalf("%d rows of an unknown job (%v)", n, err)
		}
	})
}

// TestJobStatsCountRetrying makes a run fail: the platform admin
// triggers a DEK rotation whose tenant_id is not an id, so the handler
// errors and the run waits to retry; stats count it exactly.
func TestJobStatsCountRetrying(t *testing.T) {
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		adm := adminToken(t, e)
		id := triggerJob(t, e, adm, "dek_rotation", map[string]any{"tenant_id": "not-a-tenant"})
		eventually(t, 20*time.Second, "the bad rotation waits to retry", func() (bool, string) {
			j, err := e.Store.Client.Job.Get(unrestricted(), id)
			if err != nil {
				t.Fatal(err)
			}
			return j.Status == job.StatusRetrying, j.Status.String()
		})
		j, err := e.Store.Client.Job.Get(unrestricted(), id)
		if err != nil {
			t.Fatal(err)
		}
		if j.Attempts < 1 || !strings.Contains(j.LastError, "tenant_id") || !j.RunAt.After(*j.StartedAt) {
			t.Fatalf("retrying run: attempts %d, last_error %q, run_at %v after started %v", j.Attempts, j.LastError, j.RunAt, j.StartedAt)
		}
		var s jobStatsJSON
		eventually(t, 20*time.Second, "stats count the run retrying", func() (bool, string) {
			s = jobStats(t, e, adm, "dek_rotation")
			return sameCounts(s, dbJobCounts(t, e, "dek_rotation")) && s.Retrying == 1 && s.Failed == 0,
				"retrying " + strconv.Itoa(s.Retrying) + ", running " + strconv.Itoa(s.Running)
		})
		// Make it the last attempt and due: it ends failed.
		if err := e.Store.Client.Job.UpdateOneID(id).SetMaxAttempts(j.Attempts + 1).SetRunAt(time.Now().Add(-time.Second)).Exec(unrestricted()); err != nil {
			t.Fatal(err)
		}
		triggerJob(t, e, adm, "expire_api_keys", nil) // kicks the workers
		eventually(t, 20*time.Second, "the bad rotation fails for good", func() (bool, string) {
			s = jobStats(t, e, adm, "dek_rotation")
			return s.Failed == 1 && s.Retrying == 0, "failed " + strconv.Itoa(s.Failed) + ", retrying " + strconv.Itoa(s.Retrying)
		})
	}, withAdmin)
}

func TestJobsGraphQL(t *testing.T) {
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		tn := register(t, e, "GraphJobs")
		var out struct {
			TriggerJob struct {
				JobID uuid.UUID `json:"jobID"`
			} `json:"triggerJob"`
		}
		gql(t, e, tn.AccessToken, `mutation { triggerJob(jobName: "audit_retention") { jobID } }`, nil, &out)
		waitJob(t, e, out.TriggerJob.JobID, 20*time.Second)
		var st struct {
			JobStats struct {
				JobName   string     `json:"jobName"`
				Pending   int        `json:"pending"`
				Running   int        `json:"running"`
				Completed int        `json:"completed"`
				Failed    int        `json:"failed"`
				Retrying  int        `json:"retrying"`
				LastRunAt *time.Time `json:"lastRunAt"`
			} `json:"jobStats"`
		}
		eventually(t, 10*time.Second, "GraphQL jobStats match the queue", func() (bool, string) {
			gql(t, e, tn.AccessToken, `{ jobStats(jobName: "audit_retention") { jobName pending running completed failed retrying lastRunAt } }`, nil, &st)
			want := dbJobCounts(t, e, "audit_retention", tn.TenantID)
			got := jobStatsJSON{JobName: st.JobStats.JobName, Pending: st.JobStats.Pending, Running: st.JobStats.Running,
				Completed: st.JobStats.Completed, Failed: st.JobStats.Failed, Retrying: st.JobStats.Retrying}
			return sameCounts(got, want) && got.Completed >= 1 && st.JobStats.LastRunAt != nil, "differ"
		})
		gqlErr(t, e, tn.AccessToken, `mutation { triggerJob(jobName: "nope") { jobID } }`, nil, "VALIDATION_ERROR", "field", "job_name")
		k := newKey(t, e, tn.AccessToken, "jobs:read")
		gqlErr(t, e, k.Key, `mutation { triggerJob(jobName: "audit_retention") { jobID } }`, nil, "FORBIDDEN", "required_scope", "jobs:write")
	})
}

// A tenant triggering a maintenance job runs it on itself: its expired keys
// are marked, another tenant's stay as stored until its own run or the
// periodic one.
func TestTriggeredExpiryActsOnTheCallersTenantOnly(t *testing.T) {
	apitest.EachParallel(t, func(t *testing.T, e *apitest.Env) {
		a, b := register(t, e, "ExpiresA"), register(t, e, "ExpiresB")
		past := time.Now().Add(-time.Hour)
		expired := func(tn *tenantFixture) uuid.UUID {
			t.Helper()
			k := tn.key(t)
			if err := e.Store.Client.APIKey.UpdateOneID(k.ID).SetExpiresAt(past).Exec(unrestricted()); err != nil {
				t.Fatal(err)
			}
			return k.ID
		}
		ka, kb := expired(a), expired(b)
		stored := func(id uuid.UUID) apikey.Status {
			t.Helper()
			k, err := e.Store.Client.APIKey.Get(unrestricted(), id)
			if err != nil {
				t.Fatal(err)
			}
			return k.Status
		}

		// The periodic run (every minute, every tenant) may land between a's
		// run and the check: then the check says nothing, and a runs again.
		for attempt := 1; ; attempt++ {
			since := time.Now()
			waitJob(t, e, triggerJob(t, e, a.AccessToken, "expire_api_keys", nil), 20*time.Second)
			if got := stored(ka); got != apikey.StatusExpired {
				t.Fatalf("a's key after a's run: %s, want expired", got)
			}
			got := stored(kb)
			if got == apikey.StatusActive {
				break
			}
			if attempt == 3 || !periodicRunSince(t, e, "expire_api_keys", since) {
				t.Fatalf("b's key after a's run: %s, want active (a's run is a's own)", got)
			}
			if err := e.Store.Client.APIKey.UpdateOneID(kb).SetStatus(apikey.StatusActive).Exec(unrestricted()); err != nil {
				t.Fatal(err)
			}
		}
		waitJob(t, e, triggerJob(t, e, b.AccessToken, "expire_api_keys", nil), 20*time.Second)
		if got := stored(kb); got != apikey.StatusExpired {
			t.Errorf("b's key after b's run: %s, want expired", got)
		}
	})
}

// periodicRunSince reports whether a run of name for every tenant (no
// tenant_id: the scheduler's) was enqueued since t.
func periodicRunSince(t *testing.T, e *apitest.Env, name string, since time.Time) bool {
	t.Helper()
	runs, err := e.Store.Client.Job.Query().Where(job.Name(name), job.CreatedAtGTE(since.Add(-time.Second))).All(unrestricted())
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range runs {
		if _, named := r.Args["tenant_id"]; !named {
			return true
		}
	}
	return false
}
