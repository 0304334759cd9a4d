-- wrk script: POST pre-signed LINE webhook bodies, each once, from a file of "signature<TAB>body" lines.
-- Usage: wrk ... -s bench/wrk_signed.lua URL -- FILE THREADS
-- Thread k of THREADS sends lines k, k+THREADS, k+2*THREADS, ... so no two requests share an event id.
-- done() prints one line "JSON {...}" with the figures bench/webhook_throughput.py reads.

local threads = {}
local counter = 0

function setup(thread)
  thread:set("thread_index", #threads)
  table.insert(threads, thread)
end

function init(args)
  local path, stride = args[1], tonumber(args[2])
  requests = {}
  wrapped = 0
  local i = 0
  for line in io.lines(path) do
    if i % stride == thread_index then
      local tab = line:find("\t", 1, true)
      local headers = {
        ["Content-Type"] = "application/json; charset=utf-8",
        ["X-Line-Signature"] = line:sub(1, tab - 1),
      }
      requests[#requests + 1] = wrk.format("POST", nil, headers, line:sub(tab + 1))
    end
    i = i + 1
  end
end

function request()
  counter = counter + 1
  if counter > #requests then
    counter = 1
    wrapped = wrapped + 1
  end
  return requests[counter]
end

function done(summary, latency, requests)
  local wraps = 0
  for _, thread in ipairs(threads) do
    wraps = wraps + (thread:get("wrapped") or 0)
  end
  io.write(string.format(
    'JSON {"requests": %d, "duration_us": %d, "p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d, ' ..
    '"non_2xx": %d, "connect_errors": %d, "read_errors": %d, "write_errors": %d, "timeouts": %d, "wrapped": %d}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, summary.errors.status, summary.errors.connect,
    summary.errors.read, summary.errors.write, summary.errors.timeout, wraps))
end
