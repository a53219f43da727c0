-- wrk script for the benchmarks. Paths come from the file named by BENCH_PATHS (one a line,
-- rotated over); "{cb}" in a path is replaced by a cachebuster made of BENCH_RUN, the thread and
-- a counter, so with it every request is a URL nobody asked for before (a cache miss that shares
-- no other request's transform), and without it the same few URLs repeat (cache hits).
-- At the end one line "BENCH_JSON {...}" gives the counts and latency percentiles (us).

local paths = {}
for line in io.lines(os.getenv("BENCH_PATHS")) do
  if line ~= "" then paths[#paths + 1] = line end
end
local run = os.getenv("BENCH_RUN") or "0"

local threads = 0
function setup(thread)
  thread:set("offset", threads)
  threads = threads + 1
end

local n = 0
function request()
  n = n + 1
  local path = paths[((offset or 0) * 3 + n) % #paths + 1]
  local cb = run .. "-" .. (offset or 0) .. "-" .. n
  return wrk.format("GET", (string.gsub(path, "{cb}", cb)))
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_JSON {"requests":%d,"duration_us":%d,"bytes":%d,"connect":%d,"read":%d,"write":%d,' ..
    '"status":%d,"timeout":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d}\n',
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
