#!/usr/bin/env bash
# Load benchmark: CredVault's hot routes against a hello-world Go server, with
# wrk, on this machine, in one run. Prints requests per second of each.
#
#   bash bench/load.sh            # 10 s per route, 64 connections, 2 threads
#   DURATION=30s CONNS=128 bash bench/load.sh
set -euo pipefail
cd "$(dirname "$0")/.."

DURATION=${DURATION:-10s}
CONNS=${CONNS:-64}
THREADS=${THREADS:-2}
CV=127.0.0.1:18080
HELLO=127.0.0.1:18081

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
CREDVAULT_ADDR=$CV CREDVAULT_DATABASE_URL=${BENCH_DATABASE_URL:-sqlite://$tmp/cv.db} \
  CREDVAULT_MASTER_KEY=$(head -c 32 /dev/urandom | base64) CREDVAULT_RATE_LIMITS=off CREDVAULT_LOG_LEVEL=${LOG_LEVEL:-info} \
  "$tmp/credvault" serve >"$tmp/credvault.log" 2>&1 & pids+=($!)
for _ in $(seq 1 100); do curl -fs "http://$CV/health" >/dev/null 2>&1 && break; sleep 0.1; done

json() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }
token=$(curl -fs -X POST "http://$CV/api/v1/auth/register" -H 'Content-Type: application/json' \
  -d '{"tenant_name":"Bench","email":"bench@example.com","password":"bench-password-1"}' | json '["data"]["access_token"]')
created=$(curl -fs -X POST "http://$CV/api/v1/api-keys" -H 'Content-Type: application/json' \
  -H "Authorization: Bearer $token" -d '{"name":"bench","scopes":["api_keys:read"]}')
export KEY KEY_ID
KEY=$(echo "$created" | json '["data"]["key"]')
KEY_ID=$(echo "$created" | json '["data"]["id"]')

rps() { awk '/Requests\/sec/ {print $2}'; }
run() { wrk -t "$THREADS" -c "$CONNS" -d "$DURATION" --latency "$@"; }

hello=$(run "http://$HELLO/" | tee "$tmp/hello.txt" | rps)
validate=$(run -s bench/validate.lua "http://$CV" | tee "$tmp/validate.txt" | rps)
me=$(run -H "X-API-Key: $KEY" "http://$CV/api/v1/auth/me" | tee "$tmp/me.txt" | rps)

for f in hello validate me; do echo "== $f"; grep -E 'Latency|Requests/sec|Non-2xx|50%|99%' "$tmp/$f.txt"; done
echo
printf '%-42s %12s %8s\n' route 'req/s' 'vs hello'
printf '%-42s %12.0f %8s\n' 'hello-world GET /' "$hello" '1.00'
printf '%-42s %12.0f %8.2f\n' 'POST /api/v1/api-keys/{id}/validate' "$validate" "$(echo "$validate / $hello" | bc -l)"
printf '%-42s %12.0f %8.2f\n' 'GET /api/v1/auth/me (X-API-Key)' "$me" "$(echo "$me / $hello" | bc -l)"
