-- wrk script: POST pre-signed webhook deliveries, each with its own event id.
--
-- wrk's Lua has no HMAC, so run.py signs the bodies beforehand (HMAC-SHA256 over
-- the exact bytes, as the sender would) and writes one "<signature> <body>" per
-- line to BENCH_BODIES. Every request sends the next line; the server verifies
-- the signature for real. "wraps" counts how often a thread ran out of fresh
-- bodies and started again (then ids repeat and dedup would short-circuit):
-- run.py sizes the file so that it stays 0, and reports it.
local path = os.getenv("BENCH_PATH") or "/hook"
local file = os.getenv("BENCH_BODIES")
local header = os.getenv("BENCH_HEADER") or "X-Webhook-Signature"

local threads = {}
function setup(thread)
  table.insert(threads, thread)
end

local reqs = {}
local n = 0
local i = 0
wraps = 0

function init(args)
  for line in io.lines(file) do
    local sig, body = line:match("^(%S+) (.*)$")
    n = n + 1
    reqs[n] = wrk.format("POST", path, {
      ["Content-Type"] = "application/json",
      [header] = sig,
    }, body)
  end
end

function request()
  i = i + 1
  if i > n then
    i = 1
    wraps = wraps + 1
  end
  return reqs[i]
end

function done(summary, latency, requests)
  local w = 0
  for _, t in ipairs(threads) do
    w = w + (t:get("wraps") or 0)
  end
  local e = summary.errors
  io.write(string.format(
    'BENCHJSON {"requests": %d, "duration_us": %d, "non2xx": %d, "connect_errors": %d, "read_errors": %d, ' ..
    '"write_errors": %d, "timeouts": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d, "mean_us": %.1f, "wraps": %d}\n',
    summary.requests, summary.duration, e.status, e.connect, e.read, e.write, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean, w))
end
