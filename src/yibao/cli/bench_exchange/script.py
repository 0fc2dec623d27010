"""The wrk script of ``yibao bench exchange`` (:mod:`yibao.cli.bench_exchange`).

Each wrk thread reads the institutions (code, pooling region, token, sign_no, name)
and its share of the waiting stays (every n-th line) from the files the set-up wrote,
and then, per kept-alive connection, always sends the most advanced step it has work
for: a reversal (2305) of a settlement chosen for one, a retry of a settlement with
its msgid, a second settlement of a settled stay (must be refused), a settlement
(2304) of a pre-settled stay, else the pre-settlement (2303) of the next stay.  A
stay moves on only when its answer has come (an answer is paired with its request by
``medins_setl_id``, the msgid the gateway echoes in ``setlinfo``).  msgids follow the
rule: institution code + yyyyMMddHHmmss + a 4-digit sequence whose residue modulo the
number of threads is the thread's number.  Latencies are taken with
``clock_gettime(CLOCK_MONOTONIC)`` through LuaJIT's FFI right before wrk writes a
request and when its answer is complete.  ``done`` writes ``result.json``.
"""

LUA = r"""
local DIR, THREADS = "@DIR@", @THREADS@
local REVERSE, RETRY, AGAIN = @REVERSE@, @RETRY@, @AGAIN@
local PATH = "/fsi/api/rsfComIfsService/callService"
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } yb_timespec;
int clock_gettime(int clk, yb_timespec *ts);
]]
local ts = ffi.new("yb_timespec")
local function now_ms()
  ffi.C.clock_gettime(1, ts)
  return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
end

local function split(line)
  local out = {}
  for f in (line .. "\t"):gmatch("([^\t]*)\t") do out[#out + 1] = f end
  return out
end
local function queue() return {first = 1, last = 0} end
local function push(q, v) q.last = q.last + 1; q[q.last] = v end
local function pop(q)
  if q.first > q.last then return nil end
  local v = q[q.first]
  q[q.first] = nil
  q.first = q.first + 1
  return v
end

-- the main state: number the threads, keep them for done()
local all = {}
function setup(thread)
  thread:set("tid", #all)
  all[#all + 1] = thread
end

-- each thread's state (globals are read back by done() with thread:get)
counts, lat, ack, samples = {}, {}, {}, {}
first_ms, last_ms, exhausted_ms = 0, 0, 0
local inst = {}
local fresh, ready, reverse, retry, again = queue(), queue(), queue(), queue(), queue()
local inflight, again_pending, verified = {}, 0, false
local PER_SECOND = math.floor(10000 / THREADS)

local function count(key) counts[key] = (counts[key] or 0) + 1 end
local function sample(text) if #samples < 8 then samples[#samples + 1] = text end end

function init(args)
  math.randomseed(1000 + tid)
  local start = tonumber(io.open(DIR .. "/start.txt"):read("*l"))
  for line in io.lines(DIR .. "/institutions.tsv") do
    local f = split(line)
    inst[tonumber(f[1])] = {
      code = f[2], admvs = f[3], sign = f[5], name = f[6], sec = start, n = 0,
      headers = {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. f[4]},
    }
  end
  local n = 0
  for line in io.lines(DIR .. "/stays.tsv") do
    if n % THREADS == tid then
      local f = split(line)
      push(fresh, {inst = inst[tonumber(f[1])], mdtrt = f[2], psn = f[3], cert = f[4],
                   insutype = f[5], insuplc = f[6], total = f[7]})
    end
    n = n + 1
  end
end

local function msgid(i)
  local now = os.time()
  if now > i.sec then i.sec, i.n = now, 0
  elseif i.n >= PER_SECOND then i.sec, i.n = i.sec + 1, 0 end
  local seq = tid + THREADS * i.n
  i.n = i.n + 1
  if i.stamp_sec ~= i.sec then
    i.stamp_sec, i.stamp = i.sec, os.date("%Y%m%d%H%M%S", i.sec)
    i.time = os.date("%Y-%m-%d %H:%M:%S", i.sec)
  end
  return i.code .. i.stamp .. string.format("%04d", seq), i.time
end

local function envelope(v, infno, input)
  local i = v.inst
  local id, stamp = msgid(i)
  return id, '{"infno":"' .. infno .. '","msgid":"' .. id .. '","mdtrtarea_admvs":"' .. i.admvs
    .. '","insuplc_admdvs":"' .. v.insuplc .. '","recer_sys_code":"YBXT","infver":"V1.0",'
    .. '"opter_type":"1","opter":"0001","opter_name":"收费员","inf_time":"' .. stamp
    .. '","fixmedins_code":"' .. i.code .. '","fixmedins_name":' .. i.name
    .. ',"sign_no":"' .. i.sign .. '","input":' .. input .. '}'
end

local function settle_input(v)
  return '{"data":{"psn_no":"' .. v.psn .. '","mdtrt_cert_type":"02","mdtrt_cert_no":"'
    .. v.cert .. '","medfee_sumamt":"' .. v.total .. '","psn_setlway":"01","mdtrt_id":"'
    .. v.mdtrt .. '","insutype":"' .. v.insutype .. '","acct_used_flag":"1"}}'
end

local function post(v, body) return wrk.format("POST", PATH, v.inst.headers, body) end

function request()
  if tid == 0 and not verified then  -- wrk's check of the script, never sent
    verified = true
    return wrk.format("GET", "/healthz")
  end
  local now = now_ms()
  if first_ms == 0 then first_ms = now end
  local v = pop(reverse)
  if v then
    local input = '{"data":{"psn_no":"' .. v.psn .. '","mdtrt_id":"' .. v.mdtrt
      .. '","setl_id":"' .. v.setl .. '"}}'
    local id, body = envelope(v, "2305", input)
    inflight[id] = {v = v, kind = "2305", t0 = now}
    count("2305 sent")
    return post(v, body)
  end
  local job = pop(retry)
  if job then
    inflight[job.id] = {v = job.v, kind = "retry", t0 = now, setl = job.setl}
    count("2304 retry sent")
    return post(job.v, job.body)
  end
  v = pop(again)
  if v then
    local id, body = envelope(v, "2304", settle_input(v))
    inflight[id] = {v = v, kind = "again", t0 = now}
    again_pending = again_pending + 1
    count("2304 again sent")
    return post(v, body)
  end
  v = pop(ready)
  if v then
    local id, body = envelope(v, "2304", settle_input(v))
    inflight[id] = {v = v, kind = "2304", t0 = now, body = body}
    count("2304 sent")
    return post(v, body)
  end
  v = pop(fresh)
  if v then
    local id, body = envelope(v, "2303", settle_input(v))
    inflight[id] = {v = v, kind = "2303", t0 = now}
    count("2303 sent")
    return post(v, body)
  end
  -- no stay left to start: the run is over for this thread (answers still come in)
  count("idle")
  if exhausted_ms == 0 then exhausted_ms = now end
  return wrk.format("GET", "/healthz")
end

function response(status, headers, body)
  local now = now_ms()
  last_ms = now
  if status ~= 200 then
    count("http")
    sample("HTTP " .. status .. " " .. body:sub(1, 300))
    return
  end
  local code = body:match('"infcode":(%-?%d+)')
  if code == nil then count("health"); return end
  if code ~= "0" then
    if again_pending > 0 and body:find("就诊已结算", 1, true) then
      again_pending = again_pending - 1
      count("2304 again refused")
    else
      count("unexpected")
      sample(body:sub(1, 400))
    end
    return
  end
  local id = body:match('"medins_setl_id":"([^"]+)"')
  local f = id and inflight[id]
  if not f then
    count("unpaired")
    sample(body:sub(1, 300))
    return
  end
  inflight[id] = nil
  local v = f.v
  if f.kind == "2303" then
    count("2303 ok")
    push(ready, v)
  elseif f.kind == "2304" then
    count("2304 ok")
    lat[#lat + 1] = now - f.t0
    local setl = body:match('"setl_id":"([^"]+)"')
    v.setl = setl
    ack[#ack + 1] = setl
    local r = math.random()
    if r < REVERSE then push(reverse, v)
    elseif r < REVERSE + RETRY then push(retry, {v = v, id = id, body = f.body, setl = setl})
    elseif r < REVERSE + RETRY + AGAIN then push(again, v)
    end
  elseif f.kind == "retry" then
    if body:match('"setl_id":"([^"]+)"') == f.setl then count("2304 retry same")
    else count("retry mismatch"); sample(body:sub(1, 300)) end
  elseif f.kind == "again" then
    count("again settled")  -- a second live settlement: the checks count it too
    sample(body:sub(1, 300))
  elseif f.kind == "2305" then
    count("2305 ok")
    v.setl = nil
    push(fresh, v)  -- a reversed stay is settled again later, as a HIS corrects and retries
  end
end

local function quoted(s) return '"' .. tostring(s):gsub('[%c"\\]', " ") .. '"' end

function done(summary, latency, requests)
  local totals, lats, acks, notes = {}, {}, {}, {}
  local first, last, exhausted = math.huge, 0, 0
  for _, t in ipairs(all) do
    for k, n in pairs(t:get("counts")) do totals[k] = (totals[k] or 0) + n end
    for _, x in ipairs(t:get("lat")) do lats[#lats + 1] = string.format("%.3f", x) end
    for _, s in ipairs(t:get("ack")) do acks[#acks + 1] = quoted(s) end
    for _, s in ipairs(t:get("samples")) do notes[#notes + 1] = quoted(s) end
    local f, l, e = t:get("first_ms"), t:get("last_ms"), t:get("exhausted_ms")
    if f > 0 and f < first then first = f end
    if l > last then last = l end
    if e > exhausted then exhausted = e end
  end
  if exhausted > 0 then last = exhausted end
  local parts = {}
  for k, n in pairs(totals) do parts[#parts + 1] = quoted(k) .. ":" .. n end
  local e = summary.errors
  local out = io.open(DIR .. "/result.json", "w")
  out:write('{"counts":{', table.concat(parts, ","), '},',
    '"wrk_errors":{"connect":', e.connect, ',"read":', e.read, ',"write":', e.write,
    ',"status":', e.status, ',"timeout":', e.timeout, '},',
    '"elapsed_ms":', string.format("%.3f", first == math.huge and 0 or last - first), ',',
    '"exhausted":', exhausted > 0 and "true" or "false", ',',
    '"lat2304":[', table.concat(lats, ","), '],',
    '"acknowledged":[', table.concat(acks, ","), '],',
    '"samples":[', table.concat(notes, ","), ']}')
  out:close()
end
"""
