-- wrk script of bench/load.py: mixed traffic of many distinct users, ~85 % reads and ~15 % writes.
--
-- bench/load.py writes the users (session cookie, API token, their pathways, beneficiaries,
-- a partner agency) into a Lua file whose path is in the LOAD_USERS environment variable; each wrk
-- thread is one user at a time (one connection per thread: its requests and responses alternate,
-- so a response is matched to the request that caused it). Some writes lead to the next request:
-- a meeting planned is then moved (PATCH with the If-Match of its ETag), a barrier created is then
-- referred to a partner, a beneficiary read (ETag) is then patched with If-Match.
--
-- Every acknowledged write (201, or 200 for a PATCH) is kept as "kind:id[:value]" and written at
-- the end, one per line, to LOAD_ACKS; the statuses that are neither 200 nor 201 are counted by
-- kind of request. bench/load.py then checks every acknowledged write is in the database.

local users_file = os.getenv("LOAD_USERS")
local acks_file = os.getenv("LOAD_ACKS")
local USERS = dofile(users_file)
local threads = {}
local counter = 0

function setup(thread)
  counter = counter + 1
  thread:set("index", counter)
  table.insert(threads, thread)
end

local READS = {
  -- {weight, kind}
  {16, "portfolio"}, {24, "record"}, {8, "alerts"}, {6, "agenda"}, {4, "pilotage"},
  {10, "api_list"}, {5, "api_search"}, {8, "api_timeline"}, {4, "beneficiary_get"},
}
local WRITES = {
  {5, "entry"}, {3, "meeting"}, {2, "meeting_log"}, {3, "barrier"}, {3, "beneficiary_get_for_patch"},
}
local TABS = {"synthese", "freins", "rendez-vous", "journal", "equipe"}
local SEARCHES = {"martin", "dubois", "diallo", "bernard", "moreau", "petit", "nguyen", "lefevre"}

local function pick(list)
  local total = 0
  for _, item in ipairs(list) do total = total + item[1] end
  local r = math.random() * total
  for _, item in ipairs(list) do
    r = r - item[1]
    if r <= 0 then return item[2] end
  end
  return list[#list][2]
end

function init(args)
  math.randomseed(os.time() + index * 7919)
  user_n = index
  acks = {}
  bad = {}
  statuses = {}
  next_request = nil
  last_kind = nil
  write_share = tonumber(os.getenv("LOAD_WRITE_SHARE") or "0.15")
  iso_future = os.getenv("LOAD_FUTURE")  -- a date-time in a week, ISO 8601 with its offset
  iso_past = os.getenv("LOAD_PAST")      -- an hour ago
  iso_later = os.getenv("LOAD_LATER")    -- a week and a day from now
end

local function user()
  -- The threads walk through the users: each request is made as the current user, who changes
  -- every few requests, so that many distinct sessions and tokens are in use.
  if math.random() < 0.2 then user_n = (user_n % #USERS) + 1 end
  return USERS[user_n]
end

local function any(list) return list[math.random(#list)] end

local function web(u, path)
  return wrk.format("GET", path, {["Cookie"] = u.cookie})
end

local function api(u, method, path, body, extra)
  local headers = {["Authorization"] = "Bearer " .. u.token, ["Accept"] = "application/json"}
  if body then headers["Content-Type"] = "application/json" end
  if extra then for k, v in pairs(extra) do headers[k] = v end end
  return wrk.format(method, path, headers, body)
end

local current_user = nil

function request()
  if next_request then
    local r = next_request
    next_request = nil
    last_kind = r.kind
    current_user = r.user
    return r.text
  end
  local u = user()
  current_user = u
  local kind
  if math.random() < write_share then kind = pick(WRITES) else kind = pick(READS) end
  last_kind = kind
  if kind == "portfolio" then return web(u, "/portefeuille")
  elseif kind == "record" then return web(u, "/parcours/" .. any(u.pathways) .. "?onglet=" .. any(TABS))
  elseif kind == "alerts" then return web(u, "/alertes")
  elseif kind == "agenda" then return web(u, "/agenda")
  elseif kind == "pilotage" then return web(u, u.pilotage or "/portefeuille?onglet=structure")
  elseif kind == "api_list" then return api(u, "GET", "/api/v1/beneficiaries?page=" .. math.random(3))
  elseif kind == "api_search" then return api(u, "GET", "/api/v1/beneficiaries?q=" .. any(SEARCHES))
  elseif kind == "api_timeline" then return api(u, "GET", "/api/v1/pathways/" .. any(u.pathways) .. "/timeline")
  elseif kind == "beneficiary_get" or kind == "beneficiary_get_for_patch" then
    u.last_beneficiary = any(u.beneficiaries)
    return api(u, "GET", "/api/v1/beneficiaries/" .. u.last_beneficiary)
  elseif kind == "entry" then
    u.n = (u.n or 0) + 1
    local body = string.format('{"body": "Point d\'étape charge %d-%d", "visibility": "team"}', index, u.n)
    return api(u, "POST", "/api/v1/pathways/" .. any(u.pathways) .. "/entries", body)
  elseif kind == "meeting" then
    local body = string.format('{"scheduled_at": "%s", "channel": "phone"}', iso_future)
    return api(u, "POST", "/api/v1/pathways/" .. any(u.pathways) .. "/meetings", body)
  elseif kind == "meeting_log" then
    local body = string.format('{"status": "held", "held_at": "%s", "channel": "phone", ' ..
      '"notes": "Entretien charge %d", "next_at": "%s"}', iso_past, index, iso_future)
    return api(u, "POST", "/api/v1/pathways/" .. any(u.pathways) .. "/meetings", body)
  elseif kind == "barrier" then
    u.n = (u.n or 0) + 1
    local body = string.format('{"category": "mobility", "title": "Frein charge %d-%d"}', index, u.n)
    return api(u, "POST", "/api/v1/pathways/" .. any(u.pathways) .. "/barriers", body)
  end
end

local function id_of(body)
  return body and body:match('"id"%s*:%s*(%d+)')
end

function response(status, headers, body)
  local kind, u = last_kind, current_user
  local ok = (status == 200 or status == 201)
  statuses[kind .. ":" .. status] = (statuses[kind .. ":" .. status] or 0) + 1
  if not ok then
    bad[#bad + 1] = kind .. ":" .. status
    return
  end
  if kind == "entry" or kind == "barrier" or kind == "meeting" or kind == "meeting_log" or kind == "referral" then
    local id = id_of(body)
    if id then acks[#acks + 1] = kind .. ":" .. id end
    local etag = headers["ETag"] or headers["Etag"] or headers["etag"]
    if kind == "meeting" and id and etag and math.random() < 0.5 then
      local move = string.format('{"scheduled_at": "%s"}', iso_later)
      next_request = {kind = "meeting_moved", user = u,
                      text = api(u, "PATCH", "/api/v1/meetings/" .. id, move, {["If-Match"] = etag})}
    elseif kind == "barrier" and id and u.partner_agency and math.random() < 0.5 then
      local referral = string.format('{"agency_id": %d, "message": "Orientation charge %s"}', u.partner_agency, id)
      next_request = {kind = "referral", user = u, text = api(u, "POST", "/api/v1/barriers/" .. id .. "/referral", referral)}
    end
  elseif kind == "meeting_moved" then
    local id = id_of(body)
    if id then acks[#acks + 1] = "meeting_moved:" .. id end
  elseif kind == "beneficiary_get_for_patch" then
    local etag = headers["ETag"] or headers["Etag"] or headers["etag"]
    if etag then
      u.n = (u.n or 0) + 1
      local phone = string.format("06 %02d %02d %02d %02d", index % 100, u.n % 100, math.random(99), math.random(99))
      local patch = string.format('{"phone": "%s"}', phone)
      next_request = {kind = "beneficiary_patch", user = u, phone = phone,
                      text = api(u, "PATCH", "/api/v1/beneficiaries/" .. u.last_beneficiary, patch, {["If-Match"] = etag})}
      pending_phone = phone
    end
  elseif kind == "beneficiary_patch" then
    local id = id_of(body)
    -- The version the PATCH made (its ETag): threads log apart, so "last" is the highest version.
    local etag = headers["ETag"] or headers["Etag"] or headers["etag"] or ""
    local version = string.match(etag, "(%d+)") or "0"
    if id then acks[#acks + 1] = "beneficiary_patch:" .. id .. ":" .. version .. ":" .. pending_phone end
  end
end

function done(summary, latency, requests)
  local out = io.open(acks_file, "w")
  local bad_total, status_lines = 0, {}
  for _, t in ipairs(threads) do
    local a = t:get("acks")
    for _, line in ipairs(a) do out:write(line, "\n") end
    local b = t:get("bad")
    bad_total = bad_total + #b
    for k, v in pairs(t:get("statuses")) do status_lines[k] = (status_lines[k] or 0) + v end
  end
  out:close()
  local parts = {}
  for k, v in pairs(status_lines) do parts[#parts + 1] = string.format('"%s": %d', k, v) end
  local e = summary.errors
  io.write(string.format(
    '{"requests": %d, "duration_s": %.3f, "rps": %.2f, "p50_ms": %.2f, "p95_ms": %.2f, "p99_ms": %.2f, ' ..
    '"max_ms": %.2f, "unexpected": %d, "socket_errors": %d, "timeouts": %d, "statuses": {%s}}\n',
    summary.requests, summary.duration / 1e6, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, bad_total, e.connect + e.read + e.write, e.timeout, table.concat(parts, ", ")))
end
