-- wrk script: POST /api/v1/api-keys/{id}/validate with the key in the body
-- and in X-API-Key. KEY and KEY_ID come from the environment.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-API-Key"] = os.getenv("KEY")
wrk.body = '{"key":"' .. os.getenv("KEY") .. '"}'
wrk.path = "/api/v1/api-keys/" .. os.getenv("KEY_ID") .. "/validate"
