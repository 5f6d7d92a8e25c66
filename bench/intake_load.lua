-- wrk script for bench/intake_load.py: posts reports round the projects of a targets file
-- (one "path<TAB>token<TAB>body" line each), counts statuses and answers refused without
-- Retry-After, paces each connection when CMA_BENCH_DELAY_MS is set, and prints one JSON
-- line of results. With CMA_BENCH_PATH set it sends GETs to that path instead (the baseline).

local threads = {}
local get_path = os.getenv("CMA_BENCH_PATH")
local pause = tonumber(os.getenv("CMA_BENCH_DELAY_MS") or "0")

function setup(thread)
  thread:set("offset", #threads * 7919)
  threads[#threads + 1] = thread
end

function init(args)
  -- Requests are built here, once wrk knows the Host header.
  statuses, unexplained, next, targets = {}, 0, offset, {}
  if get_path then
    baseline = wrk.format("GET", get_path)
    return
  end
  for line in io.lines(os.getenv("CMA_BENCH_TARGETS")) do
    local path, token, body = line:match("^([^\t]*)\t([^\t]*)\t(.*)$")
    targets[#targets + 1] = wrk.format("POST", path, {
      ["Authorization"] = "Bearer " .. token,
      ["Content-Type"] = "application/json",
    }, body)
  end
end

function request()
  if baseline then
    return baseline
  end
  next = next + 1
  return targets[next % #targets + 1]
end

if pause > 0 then
  function delay()
    return pause
  end
end

function response(status, headers, body)
  local key = tostring(status)
  statuses[key] = (statuses[key] or 0) + 1
  if (status == 429 or status == 503) and not (headers["retry-after"] or headers["Retry-After"]) then
    unexplained = unexplained + 1
  end
end

function done(summary, latency, requests)
  local merged, refused_without_retry_after = {}, 0
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("statuses")) do
      merged[status] = (merged[status] or 0) + n
    end
    refused_without_retry_after = refused_without_retry_after + thread:get("unexplained")
  end
  local parts = {}
  for status, n in pairs(merged) do
    parts[#parts + 1] = string.format('"%s": %d', status, n)
  end
  io.write(string.format(
    '{"requests": %d, "seconds": %.3f, "socket_errors": %d, "statuses": {%s}, '
      .. '"refused_without_retry_after": %d, "p50_ms": %.2f, "p90_ms": %.2f, '
      .. '"p99_ms": %.2f, "max_ms": %.2f}\n',
    summary.requests, summary.duration / 1e6,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    table.concat(parts, ", "), refused_without_retry_after,
    latency:percentile(50) / 1e3, latency:percentile(90) / 1e3,
    latency:percentile(99) / 1e3, latency.max / 1e3
  ))
end
