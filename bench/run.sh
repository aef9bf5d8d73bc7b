#!/usr/bin/env bash
# Load benchmark of CredVault, one command: builds the server and the
# hello-world baseline (bench/hello), and for each database (SQLite in a
# temporary directory; PostgreSQL in a fresh database it creates and drops)
# starts CredVault with rate limits off, seeds one tenant with one
# credential, one API key and one OAuth client through the API, and runs
# wrk on each route, each between two hello-world runs of its own (the
# ratio compares the route with their mean). Prints, and writes into BENCHMARKS.md between
# the bench:load markers (the two newest sittings kept): requests per
# second, the ratio, p99 latency, the server's peak RSS during the route
# (VmHWM, reset before each route) and SQL statements per request (from
# credvault_db_statements_total on /metrics), with each route's goal
# (issue 12) and whether the run met it. The server is built with the
# benchprofile tag (benchprofile.go): after every route has run, each that
# missed its goal runs again while the server's CPU profile is taken, and
# the sitting keeps that profile's top entries (go tool pprof -top), the
# gap's profile. PROFILE=0 skips that pass.
#
#   bash bench/run.sh                       # 10 s per route, both databases
#   DURATION=30s bash bench/run.sh          # the figures BENCHMARKS.md keeps
#   DATABASES=sqlite WRITE=0 bash bench/run.sh
#
# PostgreSQL: BENCH_PG_URL is the server to create the benchmark database
# on (default postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable).
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
CONNS=${CONNS:-32}
THREADS=${THREADS:-2}
DATABASES=${DATABASES:-sqlite postgres}
WRITE=${WRITE:-1}
PROFILE=${PROFILE:-1}
PROFILE_SECONDS=${PROFILE_SECONDS:-8}
PG_URL=${BENCH_PG_URL:-postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable}
CV=${CV_ADDR:-127.0.0.1:18180}
HELLO=${HELLO_ADDR:-127.0.0.1:18181}
PPROF=${PPROF_ADDR:-127.0.0.1:18182}

if ! command -v wrk >/dev/null; then
  apt-get update -qq && apt-get install -y -qq wrk >/dev/null
fi

tmp=$(mktemp -d)
pids=()
pgdb=
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ -n "$pgdb" ]; then psql "$PG_URL" -qc "DROP DATABASE IF EXISTS $pgdb" >/dev/null 2>&1 || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

go build -tags benchprofile -o "$tmp/credvault" .
go build -o "$tmp/hello" ./bench/hello
"$tmp/hello" -addr "$HELLO" & pids+=($!)

json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
statements() { curl -fs "http://$CV/metrics" | awk '$1 == "credvault_db_statements_total" {printf "%d", $2}'; }
run() { wrk -t "$THREADS" -c "$CONNS" -d "$DURATION" --latency "$@"; }

results="$tmp/results.tsv"
profiles="$tmp/profiles.md"
: >"$results"
: >"$profiles"

# bench_route DB NAME WRK-ARGS...: the route's run between two hello-world
# runs, whose mean it is compared with (the machine's speed drifts: one
# hello-world run to the next differed by up to a third here).
bench_route() {
  local db=$1 name=$2 goal=$3 pid=$4
  shift 4
  run "http://$HELLO/" >"$tmp/hello.txt"
  echo 5 >"/proc/$pid/clear_refs" 2>/dev/null || true # reset VmHWM to the current RSS
  local before after
  before=$(statements)
  run "$@" >"$tmp/route.txt"
  after=$(statements)
  local hwm
  hwm=$(awk '/VmHWM/ {printf "%.0f", $2 / 1024}' "/proc/$pid/status")
  run "http://$HELLO/" >"$tmp/hello-after.txt"
  python3 - "$db" "$name" "$goal" "$tmp/hello.txt" "$tmp/hello-after.txt" "$tmp/route.txt" "$before" "$after" "$hwm" >>"$results" <<'EOF'
import re, sys
db, name, goal, hello, hello_after, route, before, after, hwm = sys.argv[1:]
def parse(path):
    text = open(path).read()
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
    reqs = int(re.search(r"(\d+) requests in", text).group(1))
    p99 = re.search(r"^\s+99%\s+(\S+)", text, re.M).group(1)
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
    errs = re.search(r"Socket errors: (.*)", text)
    return rps, reqs, p99, int(bad.group(1)) if bad else 0, errs.group(1) if errs else ""
h = (parse(hello)[0] + parse(hello_after)[0]) / 2
r = parse(route)
stmts = (int(after) - int(before)) / r[1] if r[1] else 0
ratio = r[0] / h
met = "yes" if ratio >= float(goal) else "no"
print("\t".join([db, name, "%.0f" % r[0], "%.0f" % h, "%.3f" % ratio, goal, met, r[2], hwm, "%.2f" % stmts, str(r[3]), r[4]]))
EOF
  tail -n 1 "$results" | awk -F'\t' '{printf "  %-45s %9s req/s  vs hello %s (goal %s: %s)  p99 %-8s  peak RSS %s MiB  SQL/req %s  non-2xx %s %s\n", $2, $3, $5, $6, $7, $8, $9, $10, $11, $12}'
}

# The handlers that only pass a request on, left out of the cumulative
# entries (each would stand at the top with the whole request's share).
PASS_THROUGH='^net/http\.(HandlerFunc|serverHandler|\(\*conn\)\.serve)|^github\.com/go-chi/|^github\.com/credvault/credvault/server\.(New|limitBody|recoverPanics|requestInfo|noStore|graphqlTransport)|^github\.com/credvault/credvault/rest\.\(\*Route\)\.ServeHTTP'

# profile_route DB NAME GOAL PID WRK-ARGS...: when the route missed its goal
# in this sitting, runs it again while taking the server's CPU profile, and
# keeps the profile's top entries, flat and cumulative, for the sitting.
profile_route() {
  local db=$1 name=$2 pid=$4
  shift 4
  awk -F'\t' -v db="$db" -v name="$name" '$1 == db && $2 == name && $7 == "no" {found = 1} END {exit !found}' "$results" || return 0
  local prof="$tmp/cpu.pprof"
  run "$@" >/dev/null &
  local wrk_pid=$!
  sleep 1
  if ! curl -fs -o "$prof" "http://$PPROF/debug/pprof/profile?seconds=$PROFILE_SECONDS"; then
    # The figures are taken already: a missing profile costs only itself.
    wait "$wrk_pid"
    echo "  no profile of $name: $PPROF did not answer" >&2
    return 0
  fi
  wait "$wrk_pid"
  {
    printf '\n%s `%s`, %s s of `wrk -c%s` (`go tool pprof -top`, the top entries flat, then cumulative without the handlers that only pass the request on):\n\n```\n' "$db" "$name" "$PROFILE_SECONDS" "$CONNS"
    go tool pprof -top -nodecount=12 "$tmp/credvault" "$prof" 2>/dev/null | sed -n '/^ *flat/,$p'
    go tool pprof -top -cum -nodecount=30 -hide "$PASS_THROUGH" "$tmp/credvault" "$prof" 2>/dev/null | sed -n '/^ *flat/,$p'
    printf '```\n'
  } >>"$profiles"
  echo "  profiled $name"
}

# routes FN DB PID: calls FN DB NAME GOAL PID WRK-ARGS... for each route, in
# order; GOAL is issue 12's ratio to hello-world for the route.
routes() {
  local fn=$1 db=$2 pid=$3
  "$fn" "$db" 'POST /api/v1/api-keys/{id}/validate' 0.50 "$pid" -s bench/validate.lua "http://$CV"
  "$fn" "$db" 'GET /api/v1/auth/me (X-API-Key)' 0.40 "$pid" -H "X-API-Key: $KEY" "http://$CV/api/v1/auth/me"
  "$fn" "$db" 'POST /oauth/token' 0.20 "$pid" -s bench/token.lua "http://$CV"
  "$fn" "$db" 'POST /oauth/introspect' 0.30 "$pid" -s bench/introspect.lua "http://$CV"
  "$fn" "$db" 'GET /api/v1/credentials/{integrationId}' 0.32 "$pid" -H "X-API-Key: $KEY" "http://$CV/api/v1/credentials/bench-seed"
  "$fn" "$db" 'POST /api/v1/credentials (new each time)' 0.054 "$pid" -s bench/credential_create.lua "http://$CV"
  "$fn" "$db" 'GraphQL apiKeys(first: 50)' 0.25 "$pid" -s bench/graphql.lua "http://$CV"
}

bench_db() {
  local db=$1 url
  case $db in
    sqlite) url="sqlite://$tmp/credvault.db" ;;
    postgres)
      pgdb="credvault_bench_$(head -c 4 /dev/urandom | od -An -tx1 | tr -d ' \n')"
      psql "$PG_URL" -qc "CREATE DATABASE $pgdb" >/dev/null
      url=$(python3 -c "import sys, urllib.parse as u; p = u.urlsplit(sys.argv[1]); print(u.urlunsplit(p._replace(path='/' + sys.argv[2])))" "$PG_URL" "$pgdb")
      ;;
    *) echo "unknown database $db (want sqlite or postgres)" >&2; exit 2 ;;
  esac
  CREDVAULT_ADDR=$CV CREDVAULT_DATABASE_URL=$url CREDVAULT_MASTER_KEY=$(head -c 32 /dev/urandom | base64) \
    CREDVAULT_RATE_LIMITS=off CREDVAULT_LOG_LEVEL=${LOG_LEVEL:-info} CREDVAULT_BENCH_PPROF_ADDR=$PPROF \
    "$tmp/credvault" serve >"$tmp/credvault-$db.log" 2>&1 &
  local pid=$!
  pids+=("$pid")
  local up=
  for _ in $(seq 1 200); do
    if curl -fs "http://$CV/health" >/dev/null 2>&1; then up=1; break; fi
    sleep 0.1
  done
  [ -n "$up" ] || { echo "CredVault did not start on $db; its log:" >&2; cat "$tmp/credvault-$db.log" >&2; exit 1; }

  local session created
  session=$(curl -fs -X POST "http://$CV/api/v1/auth/register" -H 'Content-Type: application/json' \
    -d '{"tenant_name":"Bench","email":"bench@example.com","password":"bench-password-1"}' | json '["data"]["access_token"]')
  created=$(curl -fs -X POST "http://$CV/api/v1/api-keys" -H 'Content-Type: application/json' -H "Authorization: Bearer $session" \
    -d '{"name":"bench","scopes":["api_keys:read","credentials:read","credentials:write","credentials:decrypt"]}')
  export KEY KEY_ID CLIENT_ID CLIENT_SECRET TOKEN RUN
  KEY=$(echo "$created" | json '["data"]["key"]')
  KEY_ID=$(echo "$created" | json '["data"]["id"]')
  RUN=$db
  curl -fs -o /dev/null -X POST "http://$CV/api/v1/credentials" -H 'Content-Type: application/json' -H "X-API-Key: $KEY" \
    -d '{"integration_id":"bench-seed","auth_type":"api_key","data":{"api_key":"sk_bench_seed"}}'
  created=$(curl -fs -X POST "http://$CV/api/v1/oauth-clients" -H 'Content-Type: application/json' -H "Authorization: Bearer $session" \
    -d '{"name":"bench","scopes":["api_keys:read"]}')
  CLIENT_ID=$(echo "$created" | json '["data"]["client_id"]')
  CLIENT_SECRET=$(echo "$created" | json '["data"]["client_secret"]')
  TOKEN=$(curl -fs -u "$CLIENT_ID:$CLIENT_SECRET" -d grant_type=client_credentials "http://$CV/oauth/token" | json '["access_token"]')

  echo "== $db"
  routes bench_route "$db" "$pid"
  if [ "$PROFILE" = 1 ]; then routes profile_route "$db" "$pid"; fi

  kill "$pid"
  wait "$pid" 2>/dev/null || true
  if [ "$db" = postgres ]; then
    psql "$PG_URL" -qc "DROP DATABASE $pgdb" >/dev/null
    pgdb=
  fi
}

for db in $DATABASES; do bench_db "$db"; done

sitting="$tmp/sitting.md"
python3 - "$results" "$DURATION" "$CONNS" "$THREADS" "$profiles" >"$sitting" <<'EOF'
import os, sys, time
results, duration, conns, threads, profiles = sys.argv[1:]
load = open("/proc/loadavg").read().split()[0]
print("#### %s: `wrk -t%s -c%s -d%s`, %d cores, load average %s at the end" % (
    time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), threads, conns, duration, os.cpu_count(), load))
print()
print("| database | route | req/s | hello-world req/s (mean of the runs before and after) | vs hello | goal | met | p99 | peak RSS (MiB) | SQL statements/request | non-2xx |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for line in open(results):
    f = line.rstrip("\n").split("\t")
    print("| %s | `%s` | %s | %s | **%s** | %s | %s | %s | %s | %s | %s |" % tuple(f[:11]))
text = open(profiles).read().strip()
if text:
    print()
    print("<details><summary>The server's CPU profile under each route that missed its goal</summary>")
    print()
    print(text)
    print()
    print("</details>")
EOF
cat "$sitting"

if [ "$WRITE" = 1 ]; then
  python3 - BENCHMARKS.md "$sitting" <<'EOF'
import sys
path, sitting = sys.argv[1], open(sys.argv[2]).read().strip()
begin, end, sep = "<!-- bench:load:begin -->", "<!-- bench:load:end -->", "<!-- bench:load:sitting -->"
doc = open(path).read()
if begin not in doc:
    doc = doc.rstrip("\n") + "\n\n" + begin + "\n" + end + "\n"
head, rest = doc.split(begin, 1)
old, tail = rest.split(end, 1)
kept = [s.strip() for s in old.split(sep) if s.strip()][:1]
body = "\n\n".join(sep + "\n" + s for s in [sitting] + kept)
open(path, "w").write(head + begin + "\n" + body + "\n" + end + tail)
EOF
  echo "written into BENCHMARKS.md"
fi

if awk -F'\t' '$11 != "0" || $12 != "" {bad = 1} END {exit !bad}' "$results"; then
  echo "some responses were not 2xx or sockets failed: those routes' figures are not their own" >&2
  exit 1
fi
