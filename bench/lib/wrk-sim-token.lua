-- wrk 4 script: exactly N token calls to the WeChat simulator, as the
-- product makes them. Driven by bench/lib/wrk-sim-token.ts, which passes
-- after `--`:
--   count  start  apps  appPrefix  every  authorizers  authPrefix  componentAppid  componentToken  runId  threads
-- Call k (k = start .. start+count-1, split into one contiguous range per wrk
-- thread) is POST /cgi-bin/component/api_authorizer_token for authorizer
-- (k / every) mod authorizers when `every` > 0 and k mod every == every - 1,
-- else GET /cgi-bin/token for app k mod apps. Every authorizer call carries a
-- refresh token never used before (runId + thread + counter): open mode
-- accepts it and rotates it, as a client keeping the newest one would see.
--
-- A thread stops once `count / threads` answers came back; calls still in
-- flight then are answered and dropped. Only 200 answers that carry the
-- token count as ok; the first other answer is quoted.

local threads = {}

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

function init(args)
  local count, n = tonumber(args[1]), tonumber(args[11])
  local start = tonumber(args[2])
  apps, appPrefix = tonumber(args[3]), args[4]
  every, authorizers, authPrefix = tonumber(args[5]), tonumber(args[6]), args[7]
  componentAppid = args[8]
  authPath = "/cgi-bin/component/api_authorizer_token?component_access_token=" .. args[9]
  rtPrefix = "rt-" .. args[10] .. "-" .. tid .. "-"
  first = start + math.floor(count * tid / n)
  last = start + math.floor(count * (tid + 1) / n)
  nextCall, rtCounter = first, 0
  ok, bad = 0, 0
  firstError = ""
  headers = { ["Content-Type"] = "application/json" }
  -- wrk calls request() once on thread 0 before the run and never sends
  -- that one: it must not use up a call.
  verifying = tid == 0
end

local function call(k)
  if every > 0 and k % every == every - 1 then
    rtCounter = rtCounter + 1
    local body = string.format('{"component_appid":"%s","authorizer_appid":"%s%07d","authorizer_refresh_token":"%s%d"}',
      componentAppid, authPrefix, math.floor(k / every) % authorizers, rtPrefix, rtCounter)
    return wrk.format("POST", authPath, headers, body)
  end
  local i = k % apps
  return wrk.format("GET", string.format("/cgi-bin/token?grant_type=client_credential&appid=%s%07d&secret=s-%d", appPrefix, i, i))
end

function request()
  if verifying then
    verifying = false
    return call(first)
  end
  local k = nextCall
  nextCall = k + 1
  return call(k)
end

function response(status, hdrs, body)
  if status == 200 and body:find('access_token":"', 1, true) then
    ok = ok + 1
  else
    bad = bad + 1
    if firstError == "" then firstError = status .. " " .. body:sub(1, 200) end
  end
  if ok + bad == last - first then
    io.write("wrk-sim-token: thread done\n")
    io.flush()
    wrk.thread:stop()
  end
end

-- One JSON line the driver parses: counts summed over threads and wrk's figures.
function done(summary, latency, requests)
  local okAll, badAll, err = 0, 0, ""
  for _, t in ipairs(threads) do
    okAll = okAll + t:get("ok")
    badAll = badAll + t:get("bad")
    if err == "" then err = t:get("firstError") end
  end
  local e = summary.errors
  io.write(string.format(
    'wrk-sim-token: {"ok":%d,"bad":%d,"durationUs":%d,"requests":%d,"socketErrors":%d,"p50Us":%d,"p99Us":%d,"firstError":"%s"}\n',
    okAll, badAll, summary.duration, summary.requests, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99), (err:gsub('[\\"]', "'"):gsub("%c", " "))))
end
