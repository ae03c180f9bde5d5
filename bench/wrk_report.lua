-- wrk script for bench/pages.py: counts every response that is not a 200 (wrk itself only counts
-- statuses >= 400, so a 302 to the login page would look like a fast page) and prints one JSON line.
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  non200 = 0
  last_bad = 0
end

function response(status, headers, body)
  if status ~= 200 then
    non200 = non200 + 1
    last_bad = status
  end
end

function done(summary, latency, requests)
  local bad, last = 0, 0
  for _, t in ipairs(threads) do
    bad = bad + (t:get("non200") or 0)
    local s = t:get("last_bad") or 0
    if s ~= 0 then last = s end
  end
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_s": %.3f, "rps": %.2f, "p50_ms": %.2f, "p95_ms": %.2f, "p99_ms": %.2f, ' ..
    '"max_ms": %.2f, "non200": %d, "last_bad_status": %d, "socket_errors": %d, "timeouts": %d}\n',
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, bad, last, e.connect + e.read + e.write, e.timeout))
end
