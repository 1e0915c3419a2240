-- wrk script for `cargo xtask bench`: POST /purchase with the full flow (risk, policy,
-- invoice, email confirmation) and a fresh Idempotency-Key per request, as a careful client
-- sends. Arguments: the run id (keeps keys unique across runs).
local threads = 0

function setup(thread)
  thread:set("tid", threads)
  threads = threads + 1
end

function init(args)
  run = args[1] or "run"
  n = 0
end

local zips = { "33139", "70112", "10001", "77002", "94103", "60601", "98101", "02139" }
local headers = {
  ["content-type"] = "application/json",
  ["x-api-key"] = "nfip-dev-key",
}

function request()
  n = n + 1
  headers["idempotency-key"] = "bench-" .. run .. "-" .. tid .. "-" .. n
  local zip = zips[(n % #zips) + 1]
  local body = '{"zipcode":"' .. zip .. '","base_rate":1200.00,"user":"Bench User ' .. tid ..
    '","contact":{"email":"bench@example.org"}}'
  return wrk.format("POST", "/purchase", headers, body)
end

-- wrk's --latency stops at p99; the benchmark also reports p99.9.
function done(summary, latency, requests)
  io.write(string.format("99.9%%  %.2fms\n", latency:percentile(99.9) / 1000))
end
