-- wrk script for roster's load harness. Arguments after "--":
--   method path body content-type authorization users
-- In body, {n} becomes a per-thread unique counter and {u} a random seeded
-- user number in [0, users). done() prints one JSON line the harness parses.
local threads = {}
local counter = 0

function setup(thread)
  thread:set("tid", counter)
  counter = counter + 1
  table.insert(threads, thread)
end

function init(args)
  method, path, body = args[1], args[2], args[3] or ""
  if args[4] and args[4] ~= "" then wrk.headers["Content-Type"] = args[4] end
  if args[5] and args[5] ~= "" then wrk.headers["Authorization"] = args[5] end
  users = tonumber(args[6] or "1")
  n = 0
  statuses = {}
  math.randomseed(os.time() + tid)
end

function request()
  n = n + 1
  local b = string.gsub(body, "{n}", tid .. "x" .. n)
  b = string.gsub(b, "{u}", tostring(math.random(0, users - 1)))
  return wrk.format(method, path, nil, b)
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local all = {}
  for _, t in ipairs(threads) do
    for status, count in pairs(t:get("statuses")) do
      all[status] = (all[status] or 0) + count
    end
  end
  local parts = {}
  for status, count in pairs(all) do
    table.insert(parts, string.format('"%d":%d', status, count))
  end
  local e = summary.errors
  io.write(string.format(
    'WRKJSON {"requests":%d,"duration_us":%d,"p50_us":%d,"p99_us":%d,"socket_errors":%d,"statuses":{%s}}\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.connect + e.read + e.write + e.timeout, table.concat(parts, ",")))
end
