-- wrk script: POST /oauth/introspect for TOKEN, authenticated by the client's
-- own credentials (client_secret_basic). CLIENT_ID, CLIENT_SECRET and TOKEN
-- come from the environment.
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

local id, secret, token = os.getenv("CLIENT_ID"), os.getenv("CLIENT_SECRET"), os.getenv("TOKEN")
assert(id and secret and token and token ~= "", "set CLIENT_ID, CLIENT_SECRET and TOKEN")

wrk.method = "POST"
wrk.path = "/oauth/introspect"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = "Basic " .. b64(id .. ":" .. secret)
-- A JWT is base64url and dots: nothing to form-encode.
wrk.body = "token=" .. token
