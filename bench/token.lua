-- wrk script: POST /oauth/token, the client_credentials grant with
-- client_secret_basic. CLIENT_ID and CLIENT_SECRET come from the
-- environment (both base62, so form-encoding leaves them unchanged); SCOPE,
-- when set, asks for a subset of the client's scopes.
local b64chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"

local function b64(s)
  local out = {}
  for i = 1, #s, 3 do
    local a, b, c = s:byte(i, i + 2)
    local n = a * 65536 + (b or 0) * 256 + (c or 0)
    local function ch(k) return b64chars:sub(k + 1, k + 1) end
    out[#out + 1] = ch(math.floor(n / 262144) % 64) .. ch(math.floor(n / 4096) % 64) ..
      (b and ch(math.floor(n / 64) % 64) or "=") .. (c and ch(n % 64) or "=")
  end
  return table.concat(out)
end

local id, secret = os.getenv("CLIENT_ID"), os.getenv("CLIENT_SECRET")
assert(id and secret and id ~= "" and secret ~= "", "set CLIENT_ID and CLIENT_SECRET")

wrk.method = "POST"
wrk.path = "/oauth/token"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic " .. b64(id .. ":" .. secret)
wrk.body = "grant_type=client_credentials"
local scope = os.getenv("SCOPE")
if scope and scope ~= "" then
  wrk.body = wrk.body .. "&scope=" .. scope:gsub(" ", "+")
end
