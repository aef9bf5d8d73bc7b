#!/usr/bin/env bash
# Load benchmark of the OAuth authorization server: POST /oauth/token
# (client_credentials, client_secret_basic), POST /oauth/introspect (by the
# client's credentials) and an API call authenticated by an access token
# (GET /api/v1/auth/me), against the hello-world Go server (bench/hello), with
# wrk, on this machine, in one run. Prints requests per second of each and
# the ratio to hello-world.
#
#   bash bench/oauth_load.sh            # 10 s per route, 64 connections, 2 threads
#   DURATION=30s CONNS=128 bash bench/oauth_load.sh
#   BENCH_DATABASE_URL=postgres://… bash bench/oauth_load.sh
#
# Its ports (CV_ADDR, HELLO_ADDR) differ from bench/load.sh's so both can run.
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
CONNS=${CONNS:-64}
THREADS=${THREADS:-2}
CV=${CV_ADDR:-127.0.0.1:18090}
HELLO=${HELLO_ADDR:-127.0.0.1:18091}

if ! command -v wrk >/dev/null; then
  apt-get update -qq && apt-get install -y -qq wrk >/dev/null
fi

tmp=$(mktemp -d)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$tmp"; }
trap cleanup EXIT

go build -o "$tmp/credvault" .
go build -o "$tmp/hello" ./bench/hello
"$tmp/hello" -addr "$HELLO" & pids+=($!)
# Rate limits off: the token endpoint is otherwise limited to 600 a minute per address.
CREDVAULT_ADDR=$CV CREDVAULT_DATABASE_URL=${BENCH_DATABASE_URL:-sqlite://$tmp/cv.db} \
  CREDVAULT_MASTER_KEY=$(head -c 32 /dev/urandom | base64) CREDVAULT_RATE_LIMITS=off CREDVAULT_LOG_LEVEL=${LOG_LEVEL:-info} \
  "$tmp/credvault" serve >"$tmp/credvault.log" 2>&1 & pids+=($!)
up=
for _ in $(seq 1 100); do
  if curl -fs "http://$CV/health" >/dev/null 2>&1 && curl -fs "http://$HELLO/" >/dev/null 2>&1; then up=1; break; fi
  sleep 0.1
done
[ -n "$up" ] || { echo "the servers did not start; credvault log:" >&2; cat "$tmp/credvault.log" >&2; exit 1; }

json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
session=$(curl -fs -X POST "http://$CV/api/v1/auth/register" -H 'Content-Type: application/json' \
  -d '{"tenant_name":"OAuth Bench","email":"oauth-bench@example.com","password":"bench-password-1"}' | json '["data"]["access_token"]')
created=$(curl -fs -X POST "http://$CV/api/v1/oauth-clients" -H 'Content-Type: application/json' \
  -H "Authorization: Bearer $session" -d '{"name":"bench","scopes":["api_keys:read","oauth_clients:read"]}')
export CLIENT_ID CLIENT_SECRET TOKEN
CLIENT_ID=$(echo "$created" | json '["data"]["client_id"]')
CLIENT_SECRET=$(echo "$created" | json '["data"]["client_secret"]')
TOKEN=$(curl -fs -u "$CLIENT_ID:$CLIENT_SECRET" -d grant_type=client_credentials "http://$CV/oauth/token" | json '["access_token"]')
active=$(curl -fs -u "$CLIENT_ID:$CLIENT_SECRET" --data-urlencode "token=$TOKEN" "http://$CV/oauth/introspect" | json '["active"]')
[ "$active" = "True" ] || { echo "introspection of a fresh token is not active" >&2; exit 1; }
curl -fs -o /dev/null -H "Authorization: Bearer $TOKEN" "http://$CV/api/v1/auth/me"

rps() { awk '/Requests\/sec/ {print $2}'; }
run() { wrk -t "$THREADS" -c "$CONNS" -d "$DURATION" --latency "$@"; }

hello=$(run "http://$HELLO/" | tee "$tmp/hello.txt" | rps)
token=$(run -s bench/token.lua "http://$CV" | tee "$tmp/token.txt" | rps)
introspect=$(run -s bench/introspect.lua "http://$CV" | tee "$tmp/introspect.txt" | rps)
me=$(run -H "Authorization: Bearer $TOKEN" "http://$CV/api/v1/auth/me" | tee "$tmp/me.txt" | rps)

failed=0
for f in hello token introspect me; do
  echo "== $f"
  grep -E '^ +Latency +[0-9]|^ +(50|99)%|Requests/sec|Non-2xx|Socket errors' "$tmp/$f.txt"
  if grep -q 'Non-2xx' "$tmp/$f.txt"; then failed=1; fi
done
echo
printf '%-42s %12s %8s\n' route 'req/s' 'vs hello'
printf '%-42s %12.0f %8s\n' 'hello-world GET /' "$hello" '1.00'
printf '%-42s %12.0f %8.2f\n' 'POST /oauth/token (client_secret_basic)' "$token" "$(echo "$token / $hello" | bc -l)"
printf '%-42s %12.0f %8.2f\n' 'POST /oauth/introspect (client Basic)' "$introspect" "$(echo "$introspect / $hello" | bc -l)"
printf '%-42s %12.0f %8.2f\n' 'GET /api/v1/auth/me (access token)' "$me" "$(echo "$me / $hello" | bc -l)"
if [ "$failed" = 1 ]; then
  echo "some responses were not 2xx: the numbers above are not the routes' own" >&2
  exit 1
fi
