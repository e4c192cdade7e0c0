-- wrk 4 script: exactly N registrations of type-0 apps, POST /registe, one per
-- request. Driven by bench/lib/wrk-register.ts, which passes after `--`:
--   total  prefix  token  threads
-- Appids are prefix .. 7-digit index, indexes 0..total-1 split into one
-- contiguous range per wrk thread, so callers can name them afterwards.
--
-- wrk always has one request in flight per connection, so once a thread has
-- sent its whole range its connections still ask for requests: those get
-- GET /healthz (no auth, no store) and are not counted. (Filler is counted
-- as it is sent, so it includes wrk's unsent probe of request() at start.) A thread stops when
-- every one of its registrations has been answered; wrk's main thread only
-- notices at its -d deadline, so each stopping thread prints a line and the
-- driver sends SIGINT once all have.

local threads = {}

function setup(thread)
  thread:set("tid", #threads)
  table.insert(threads, thread)
end

local SUCCESS = '{"code":200,"message":"","result":"success"}'

function init(args)
  local total, n = tonumber(args[1]), tonumber(args[4])
  prefix = args[2]
  headers = { ["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. args[3] }
  first = math.floor(total * tid / n)
  last = math.floor(total * (tid + 1) / n)
  nextIndex = first
  ok, bad, filler = 0, 0, 0
  firstError = ""
  healthz = wrk.format("GET", "/healthz")
  -- wrk calls request() once on thread 0 before the run to see what it
  -- returns, and never sends that one: it must not use up an index.
  verifying = tid == 0
end

function request()
  if verifying then
    verifying = false
    return healthz
  end
  if nextIndex < last then
    local i = nextIndex
    nextIndex = i + 1
    local body = string.format('{"appid":"%s%07d","appsecret":"secret-%d","tasks":[{"type":0}]}', prefix, i, i)
    return wrk.format("POST", "/registe", headers, body)
  end
  filler = filler + 1
  return healthz
end

function response(status, hdrs, body)
  if status == 200 and body == SUCCESS then
    ok = ok + 1
  elseif status == 200 and body:find('"result":"ok"', 1, true) then
    return -- a filler GET /healthz
  else
    bad = bad + 1
    if firstError == "" then firstError = status .. " " .. body:sub(1, 200) end
  end
  if ok + bad >= last - first then
    io.write("wrk-register: thread done\n")
    io.flush()
    wrk.thread:stop()
  end
end

-- One JSON line the driver parses: per-thread counts and wrk's own figures.
function done(summary, latency, requests)
  local okAll, badAll, fillerAll, err = 0, 0, 0, ""
  for _, t in ipairs(threads) do
    okAll = okAll + t:get("ok")
    badAll = badAll + t:get("bad")
    fillerAll = fillerAll + t:get("filler")
    if err == "" then err = t:get("firstError") end
  end
  local e = summary.errors
  io.write(string.format(
    'wrk-register: {"ok":%d,"bad":%d,"filler":%d,"durationUs":%d,"requests":%d,"socketErrors":%d,"p50Us":%d,"p99Us":%d,"firstError":"%s"}\n',
    okAll, badAll, fillerAll, summary.duration, summary.requests, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(99), (err:gsub('[\\"]', "'"):gsub("%c", " "))))
end
