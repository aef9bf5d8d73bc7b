-- wrk script: POST /api/v1/credentials with a new integration id on every
-- request (run, thread and a counter), authenticated by KEY (X-API-Key).
local threads = 0

function setup(thread)
  threads = threads + 1
  thread:set("tid", threads) -- a global of that thread's Lua state
end

local key = os.getenv("KEY")
assert(key and key ~= "", "set KEY")
local run = os.getenv("RUN") or tostring(os.time())
local counter = 0

request = function()
  counter = counter + 1
  local body = string.format(
    '{"integration_id":"bench-%s-%d-%d","auth_type":"api_key","data":{"api_key":"sk_bench_%d"}}',
    run, tid or 0, counter, counter)
  return wrk.format("POST", "/api/v1/credentials",
    {["Content-Type"] = "application/json", ["X-API-Key"] = key}, body)
end
