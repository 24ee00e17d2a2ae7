/**
 * The Lua twins of core's algorithms. Each consume script runs one whole decision atomically:
 * time (Redis TIME), the client's adaptive multiplier, the scaled spec, the algorithm step, the
 * state write with its TTL, and the client's index entry. Numbers cross the Lua boundary as
 * strings formatted with `%.17g`, which round-trips a double exactly (Lua's own tostring keeps
 * 14 digits, and an integer reply would truncate).
 *
 * The math must stay equal to core's (`gcraStep`, `gcraRefund`, `gcraReserve`,
 * `fixedWindowStep`, the sliding windows, `scaleSpec`, `recordOutcome`,
 * `effectiveMultiplier`): the differential test feeds both the same random sequences.
 */
import { luaScript, type LuaScript } from './client.js';

/**
 * Time in ms: ARGV[1] when the caller passes it (tests), else Redis TIME, so every instance on one
 * Redis shares one clock.
 */
const NOW = `local now
if ARGV[1] ~= '' then
  now = tonumber(ARGV[1])
else
  local t = redis.call('TIME')
  now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end`;

/**
 * One scored outcome, as core's `recordOutcome`: the multiplier drifts back toward 1 over the idle
 * time, then a success adds `step` and a failure multiplies by `factor`, clamped to [mn, mx]. The
 * record script and a decision carrying noted outcomes both run this text, so the math has one
 * copy. Expects locals m, last, successes, failures, now, mn, mx, step, factor, half;
 * `isSuccess` is a Lua condition (a failure otherwise).
 */
const applyOutcome = (isSuccess: string): string => `
local d = m
if now > last then d = 1 + (m - 1) * 2 ^ (-(now - last) / half) end
if ${isSuccess} then
  m = math.min(mx, math.max(mn, d + step))
  successes = successes + 1
else
  m = math.min(mx, math.max(mn, d * factor))
  failures = failures + 1
end
if now > last then last = now end`;

/**
 * `finite(text)`: a number read from a state, or nil when the text is not a finite number (another
 * program's value, or a damaged one), so that the state counts as none. Lua 5.1 reads 'nan' and
 * 'inf' as numbers: x - x is 0 only for a finite x. (The flat consume script spells the check out.)
 */
const FINITE = `local function finite(text)
  local x = tonumber(text)
  if x and x - x == 0 then return x end
  return nil
end`;

/**
 * A client's index and adaptive score are hashes; a key of another type there (another program's)
 * counts as none, as a limit state of another algorithm does: a read that finds one drops it
 * (`if r.err then redis.call('DEL', key) ... end` after a pcall), and `hset(key, ...)` drops it and
 * writes anew, answering true then: the new hash has no TTL yet, and an index has lost its
 * entries, so the caller must not trust a bound it keeps on them. Left in place, such a key would
 * fail every call of the client until someone deleted it.
 */
const HSET = `local function hset(key, ...)
  if type(redis.pcall('HSET', key, ...)) == 'table' then
    redis.call('DEL', key)
    redis.call('HSET', key, ...)
    return true
  end
  return false
end`;

/** With time passed in (tests), TTLs, which Redis counts on its own clock, are padded by an hour. */
const PAD = `local pad = 0
if ARGV[1] ~= '' then pad = 3600000 end`;

/**
 * Shared head of the consume scripts, for an algorithm with `params` parameters.
 *
 * KEYS: 1 limit state, 2 client index, 3 adaptive score (only when the request is adaptive and
 * the step reads the multiplier: not a window's refund).
 * ARGV: 1 now in ms ('' = Redis TIME), 2 op ('consume' | 'refund' | 'reserve'), 3 cost,
 * 4 index field ('l:' .. limitId), 5 index value (the spec, for admin reads; the bucket gets
 * just the algorithm's name and builds the entry from the parameters), 6 the spec's tag
 * (a short hash of 5, so the bucket knows when the index holds another spec), 7.. the
 * algorithm's parameters; after them either maxWaitMs (reserve), the resetAt of the decision
 * that took the cost (a window's refund; '' when not given), or, only when KEYS[3] is sent,
 * min, max, idleHalfLifeMs, longTermAfterMs, longTermMinRequests, longTermBonus. A bucket's
 * refund sends that resetAt last, after the adaptive slots when it sends them.
 * Sending the adaptive slots only when they are used keeps a plain decision's request short.
 *
 * With time passed in (tests), TTLs, which Redis counts on its own clock, are padded by an hour
 * so injected time cannot outrun them.
 *
 * Replies carry integers as Redis integers (exact up to 2^53, and cheaper than formatting) and
 * anything else (fractions, -0, huge values) as a `%.17g` string; the caller reads both.
 */
const head = (params: number): string => {
  const a = 7 + params;
  return `
local EPS = 1e-9
${NOW}
${PAD}
local op = ARGV[2]
local cost = tonumber(ARGV[3])
local function f(x) return string.format('%.17g', x) end
local function n(x)
  if x == math.floor(x) and x > -9007199254740992 and x < 9007199254740992 and not (x == 0 and 1 / x < 0) then return x end
  return f(x)
end
${FINITE}
${HSET}
local mult = 1
if KEYS[3] then
  local st = redis.pcall('HMGET', KEYS[3], 'm', 'f', 'l', 's', 'x')
  if st.err then
    redis.call('DEL', KEYS[3])
    st = {}
  end
  local m, first, last, s, x = finite(st[1]), finite(st[2]), finite(st[3]), finite(st[4]), finite(st[5])
  -- A score this script cannot read counts as none (multiplier 1); the record script replaces it.
  if m and first and last and s and x then
    if now > last then m = 1 + (m - 1) * 2 ^ (-(now - last) / tonumber(ARGV[${a + 2}])) end
    if s + x >= tonumber(ARGV[${a + 4}]) and now - first >= tonumber(ARGV[${a + 3}]) then
      m = m * tonumber(ARGV[${a + 5}])
    end
    mult = math.min(tonumber(ARGV[${a + 1}]), math.max(tonumber(ARGV[${a}]), m))
  end
end
local function whole(units, limit)
  local w = math.floor(units + EPS)
  if w < 0 then return 0 end
  if w > limit then return limit end
  return w
end
-- Records the limit in the client's index (for admin reads) and keeps the index alive at least
-- as long as the state it lists.
local function indexed(ttl)
  hset(KEYS[2], ARGV[4], ARGV[5], '_seen', now)
  local current = redis.call('PTTL', KEYS[2])
  if current < ttl then redis.call('PEXPIRE', KEYS[2], ttl) end
end
-- A limit id whose spec changed algorithm holds another algorithm's state: core counts such a
-- state as none, so drop it. \`reply\` is a pcall reply; true when it was WRONGTYPE (or \`drop\`).
local function foreign(reply, drop)
  if drop or (type(reply) == 'table' and reply.err) then
    redis.call('DEL', KEYS[1])
    return true
  end
  return false
end
local function decision(allowed, limit, remaining, resetAt, retryAfter, exceeds)
  return { allowed, n(limit), n(remaining), n(resetAt), n(retryAfter), exceeds, n(mult), n(now) }
end
`;
};

/**
 * Token bucket and GCRA refund and reserve (a consume runs `BUCKET_CONSUME`, below), as core's
 * `gcraRefund` and `gcraReserve`: comparisons on the debt (`tat - now`, exact) with the slack
 * `EPSILON * T + TIME_EPSILON`.
 *
 * The state string is 'tat|seen|expiryMinute|specTag': besides the TAT it carries what would
 * otherwise cost a command on every decision. `seen` is the client's last activity on this limit,
 * in whole seconds (Redis TIME's own seconds text: no number formatting on the hot path); admin
 * reads and cleanup take the latest over the index and the states. `expiryMinute` is a time
 * (script clock, in whole minutes, rounded down) before which both this state and the client's
 * index are known to live: they are given their TTLs together, with room to spare, and nothing
 * but DEL shortens either. So while the state needs to live only until before it, a write keeps
 * the state's TTL (SET KEEPTTL, cheaper than setting one) and leaves the index alone. `specTag`
 * says which spec the index holds for this limit id. A decision on a known limit runs TIME, GET
 * and SET only; the index is written when the limit is new or its spec changed, and both TTLs
 * are extended when the state would outlive them. The price: an idle state lives up to the
 * margin (at least a minute) longer than its TAT needs. A bare number (an older store's state)
 * counts as all three unknown.
 */
const BUCKET = `${head(3)}
local TIME_EPS = 1e-3
local capacity, burst, rate = tonumber(ARGV[7]), tonumber(ARGV[8]), tonumber(ARGV[9])
if mult ~= 1 then
  capacity = capacity * mult
  burst = burst * mult
  rate = rate * mult
end
local size = capacity + burst
local interval = 1000 / rate
local tau = size * interval
local slack = EPS * interval + TIME_EPS
local raw = redis.pcall('GET', KEYS[1])
if foreign(raw, false) then raw = false end
local tat = now
-- Last-seen times are whole seconds (see BUCKET_CONSUME).
local seen, stored, known, tag = math.floor(now / 1000), -1, -1, ''
if raw then
  local t, s, e, g = string.match(raw, '^([^|]*)|([^|]*)|([^|]*)|(.*)$')
  if t then
    tat, stored, known, tag = finite(t), finite(s), finite(e), g
  else
    tat, stored, known = finite(raw), -1, -1
  end
  if not (tat and stored and known) then
    -- A state this script cannot read counts as none (see BUCKET_CONSUME): a reserve's write
    -- replaces it, and a refund has nothing to give back.
    raw, tat, stored, known, tag = false, now, -1, -1, ''
  elseif t then
    known = known * 60000
    if stored >= 1e11 then
      -- An older store's state (last-seen in ms, so 13 digits): its minute bounded only the
      -- index, and its TTL was exact, so neither the bound nor the tag is trusted here.
      stored, known, tag = math.floor(stored / 1000), -1, ''
    end
    if stored > seen then seen = stored end
  end
end
local debt = 0
if tat > now then debt = tat - now end
local base = now
if tat > now then base = tat end
local function waitMs(ms)
  if ms > 0 then return math.ceil(ms) end
  return 0
end
local function remainingOf(ms, limit)
  local w = math.floor(ms / interval)
  if w < 0 then return 0 end
  if w > limit then return limit end
  return w
end
-- Writes the state with a TTL of ttl ms (nil: keep the TTL it has), updating the index only when
-- it does not already cover this limit, its spec and its lifetime.
local function save(x, ttl, lastSeen)
  if tag ~= ARGV[6] then
    -- The limit's index entry for admin reads, 'code|capacity|refillPerSecond|burst' (see the
    -- store's indexValueOf), built here so a decision need not send it. The parameters are
    -- JavaScript's own number texts, which read back exactly.
    local code = string.sub(ARGV[5], 1, 1)
    if KEYS[3] then code = code .. '+' end
    -- A replaced index has no TTL: its bound is unknown, so it is extended below.
    if hset(KEYS[2], ARGV[4], code .. '|' .. ARGV[7] .. '|' .. ARGV[9] .. '|' .. ARGV[8]) then known = -1 end
    tag = ARGV[6]
    if not ttl then
      ttl = redis.call('PTTL', KEYS[1])
      if ttl < 1 then ttl = 1 end
    end
  end
  local px
  if ttl and now + ttl > known then
    -- Room to spare: a state in use lives at most about tau past now, so a margin of tau (capped
    -- at ~31 years, which Redis can still add to its clock) makes a steadily used limit extend
    -- the index and the state rarely; an idle state outlives its need by at most that margin.
    -- Whole ms: PX and PEXPIRE reject a fraction, and tau rarely is whole.
    local keep = ttl + math.ceil(math.max(ttl, math.min(tau, 1e12), 60000))
    -- The index a minute longer than the state, so it never expires first.
    if redis.call('PTTL', KEYS[2]) < keep + 60000 then redis.call('PEXPIRE', KEYS[2], keep + 60000) end
    known = now + keep
    px = keep
  end
  -- The expiry bound in whole minutes, rounded down (so still a lower bound): with ms times of
  -- 13 digits the value stays within 44 bytes, which Redis keeps in one allocation with the key.
  local value = f(x) .. '|' .. f(lastSeen) .. '|' .. f(math.floor(known / 60000)) .. '|' .. tag
  if px then
    redis.call('SET', KEYS[1], value, 'PX', px)
  else
    redis.call('SET', KEYS[1], value, 'KEEPTTL')
  end
end

if op == 'refund' then
  -- The resetAt of the decision that took the cost ('' = not given), after the adaptive slots when
  -- they are sent: only what it took and has not refilled yet comes back (core's gcraRefund).
  local takenText = ARGV[10]
  if KEYS[3] then takenText = ARGV[16] end
  local taken = tonumber(takenText or '')
  if raw and tat > now then
    local back = cost * interval
    if taken then
      local owed = taken + slack - now
      if not (owed > 0) then back = 0 elseif owed < back then back = owed end
    end
    if back > 0 then
      local lowered = tat - back
      if not (lowered > now) then lowered = now end
      -- Not activity: the state keeps its last-seen time.
      save(lowered, math.max(1, math.ceil(lowered - now)) + pad, stored)
    end
  end
  return { f(now) }
end

if op == 'reserve' then
  local delay = waitMs(debt + cost * interval - tau - slack)
  if delay <= tonumber(ARGV[10]) then
    local newTat = base + cost * interval
    save(newTat, math.max(1, math.ceil(newTat - now)) + pad, seen)
    return { 1, n(delay), n(now) }
  end
  return { 0, n(delay), n(now) }
end

error('bucket: unknown op ' .. op)
`;

/**
 * The hot path: a consume on a token bucket or GCRA, plain or adaptive. Flat and separate from
 * the shared head because Redis runs scripts on one thread and this one runs for nearly every
 * decision: Redis TIME, GET and SET KEEPTTL on a known limit, no closures, no table but the
 * reply, few arguments (each costs Redis time too).
 *
 * The script only decides whether core's `gcraStep` admits (the same comparisons, in the same
 * double arithmetic) and writes the new state. It replies with the state it read and the time,
 * and the caller runs `gcraStep` on them for the decision's numbers, so they are core's by
 * construction and the reply is two numbers.
 *
 * KEYS: 1 limit state, 2 the client's index (written only when the limit is new, its spec changed
 * or the state would outlive it), 3 adaptive score (only when the request is adaptive). The
 * index is declared though most decisions do not touch it: Redis Cluster fails a script that
 * touches an undeclared key while its slot migrates, and servers may enforce declared keys.
 * ARGV, packed into few texts (every argument costs Redis and the client time; a Lua match is
 * cheaper): 1 'inc lim tag now cost capacity burst refillPerSecond'. inc and lim are what core's
 * `gcraStep` computes first for the unscaled spec, `cost * interval` and `tau + slack` (-1 when
 * the cost exceeds the size), as JavaScript's shortest texts, which read back as the same doubles:
 * a plain decision only compares and adds (the script computes them again only for a scaled
 * spec). The tag's first letter is the algorithm ('t' token bucket, 'g' GCRA); now is '-' (Redis
 * TIME), '+' and the caller's clock in ms corrected to Redis time (the store's `timeSource:
 * 'local'`), or the time in ms passed in (tests). The rest is read only to scale the spec, to write the
 * index or to extend TTLs. When adaptive, 2 'min max idleHalfLifeMs longTermAfterMs longTermMinRequests
 * longTermBonus', and only when the store holds outcomes noted for the client (see the store's
 * `note`), 3 'outcomes successStep failureFactor scoreTtlMs' (outcomes in order, 's' success,
 * 'f' failure, 'n' neutral) and 4 the adaptive config as the score keeps it for admin reads (the
 * text of 2; see the store's scoreConfigText): those are applied
 * to the score first, as the record script would at this time. With time passed in (tests),
 * TTLs, which Redis counts on its own clock, are padded by an hour so injected time cannot
 * outrun them.
 *
 * Reply: one text, the seconds and microseconds of Redis TIME when the script read it, then the
 * TAT read as its stored text ('-' when there was none, which core reads as now), then, when
 * adaptive, the multiplier (an integer, or a `%.17g` string). Texts passed through, rather than
 * numbers formatted, because Lua formats numbers slowly and Redis runs scripts on one thread.
 *
 * The state string and the index upkeep are the bucket script's (below). `seen` is the time of
 * the last write. A denial rewrites the state, for its last-seen time, only when that is a second
 * or more old: a client kept over its limit costs TIME and GET alone.
 */
const BUCKET_CONSUME = `
-- True once a client index of another type was dropped and written anew (see HSET): it then has
-- no TTL and none of the limit's entry, whatever this limit's state says of it.
local lostIndex = false
-- An adaptive decision reads the spec's own texts too (to scale it): one match takes all eight.
local incText, limText, spec, given, costText, capacityText, burstText, rateText
if KEYS[3] then
  incText, limText, spec, given, costText, capacityText, burstText, rateText =
    string.match(ARGV[1], '^(%S+) (%S+) (%S+) (%S+) (%S+) (%S+) (%S+) (%S+)$')
else
  incText, limText, spec, given = string.match(ARGV[1], '^(%S+) (%S+) (%S+) (%S+)')
end
-- The time; with Redis TIME also its texts, for the reply (the caller computes the same ms as
-- here); and the whole second, for last-seen times.
local now, pad, second, micros, sec
if given == '-' then
  local t = redis.call('TIME')
  second, micros = t[1], t[2]
  sec = second
  now, pad = second * 1000 + math.floor(micros / 1000), 0
elseif string.byte(given) == 43 then
  -- '+ms': the caller's clock corrected to Redis time (the store's timeSource 'local').
  now, pad = given + 0, 0
  sec = string.format('%d', math.floor(now / 1000))
else
  now, pad = tonumber(given), 3600000
  sec = tostring(math.floor(now / 1000))
end
-- The unscaled spec's cost * interval and size * interval + slack, as the caller computed them
-- (the same doubles: JavaScript's shortest texts read back exactly); lim < 0 when the cost
-- exceeds the size. Read by arithmetic coercion, cheaper than tonumber (neither is ever -0).
local inc, lim = incText + 0, limText + 0
-- The spec's numbers, read only where needed (adaptive scaling, the index, TTLs). The texts the
-- caller formatted (the spec's, the adaptive config's) are read by arithmetic coercion too.
local size, interval
local mult = 1
if KEYS[3] then
  local mn, mx, half, after, minReq, bonus
  local st
  if ARGV[3] then
    mn, mx, half, after, minReq, bonus = string.match(ARGV[2], '^(%S+) (%S+) (%S+) (%S+) (%S+) (%S+)$')
    mn, mx, half = mn + 0, mx + 0, half + 0
    -- Outcomes noted since the last decision: applied first, in order, as the record script
    -- would have at this time.
    local outcomes, step, factor, scoreTtl = string.match(ARGV[3], '^(%S+) (%S+) (%S+) (%S+)$')
    step, factor = step + 0, factor + 0
    local r = redis.pcall('HMGET', KEYS[3], 'm', 'f', 'l', 'r', 's', 'x', 'c', 'i')
    if r.err then
      redis.call('DEL', KEYS[3])
      r = {}
    end
    local m, first, last, requests, successes, failures = 1, now, now, 0, 0, 0
    if r[1] then
      m, first, last = tonumber(r[1]), tonumber(r[2]), tonumber(r[3])
      requests, successes, failures = tonumber(r[4]), tonumber(r[5]), tonumber(r[6])
      -- A score this script cannot read counts as none and is replaced whole by the write below
      -- (the record script does the same). x - x is 0 only for a finite x.
      if not (m and first and last and requests and successes and failures and m - m == 0 and first - first == 0
        and last - last == 0 and requests - requests == 0 and successes - successes == 0 and failures - failures == 0) then
        m, first, last, requests, successes, failures = 1, now, now, 0, 0, 0
        r = {}
      end
    end
    for i = 1, #outcomes do
      local o = string.sub(outcomes, i, i)
      if o ~= 'n' then
${applyOutcome("o == 's'")}
      end
      requests = requests + 1
    end
    -- The record script's writes, less what this decision makes redundant: the first-seen time
    -- and the config only when new or changed; the index's TTL checked only when the bound kept
    -- in the score ('i', whole minutes) does not cover the score's new TTL plus a minute. The
    -- index's '_seen' is written as record writes it: the bucket state also records the
    -- activity, but may expire long before the score, and cleanup must not then take the
    -- client for idle.
    -- An index of another type is dropped and written anew (see HSET; inline here: no closure made
    -- on the hot path for a rare case).
    if type(redis.pcall('HSET', KEYS[2], '_seen', now)) == 'table' then
      redis.call('DEL', KEYS[2])
      redis.call('HSET', KEYS[2], '_seen', now)
      lostIndex = true
    end
    local ttl = math.max(1, math.ceil(last + scoreTtl - now)) + pad
    local set = { 'm', string.format('%.17g', m), 'l', string.format('%.17g', last), 'r', requests, 's', successes, 'x', failures }
    if not r[1] or r[7] ~= ARGV[4] then
      set[11], set[12], set[13], set[14] = 'f', string.format('%.17g', first), 'c', ARGV[4]
    end
    local bound = tonumber(r[8])
    if lostIndex then bound = nil end
    if not (bound and bound - bound == 0 and now + ttl + 60000 <= bound * 60000) then
      local index = KEYS[2]
      local keep = ttl + 3600000
      local current = redis.call('PTTL', index)
      if current < keep then redis.call('PEXPIRE', index, keep) end
      set[#set + 1] = 'i'
      set[#set + 1] = math.floor((now + keep) / 60000)
    end
    redis.call('HSET', KEYS[3], unpack(set))
    redis.call('PEXPIRE', KEYS[3], ttl)
    st = { m, first, last, successes, failures }
  else
    st = redis.pcall('HMGET', KEYS[3], 'm', 'f', 'l', 's', 'x')
    if st.err then
      redis.call('DEL', KEYS[3])
      st = {}
    end
  end
  local m, first, last, s, x = tonumber(st[1]), tonumber(st[2]), tonumber(st[3]), tonumber(st[4]), tonumber(st[5])
  -- A score this script cannot read counts as none (multiplier 1) until a record replaces it.
  if m and first and last and s and x and m - m == 0 and first - first == 0 and last - last == 0 and s - s == 0 and x - x == 0 then
    if not mn then
      -- Parsed only when there is a score to scale by.
      mn, mx, half, after, minReq, bonus = string.match(ARGV[2], '^(%S+) (%S+) (%S+) (%S+) (%S+) (%S+)$')
      mn, mx, half = mn + 0, mx + 0, half + 0
    end
    if now > last then m = 1 + (m - 1) * 2 ^ (-(now - last) / half) end
    if s + x >= minReq + 0 and now - first >= after + 0 then
      m = m * bonus
    end
    mult = math.min(mx, math.max(mn, m))
    if mult ~= 1 then
      -- The caller's numbers are the unscaled spec's: computed again here, as core's
      -- scaleSpec then gcraStep would.
      local cost = costText + 0
      local capacity, burst, rate = capacityText * mult, burstText * mult, rateText * mult
      size = capacity + burst
      interval = 1000 / rate
      inc = cost * interval
      lim = size * interval + (1e-9 * interval + 1e-3)
      if cost > size + 1e-9 then lim = -1 end
    end
  end
end
local raw = redis.pcall('GET', KEYS[1])
if type(raw) == 'table' then
  -- WRONGTYPE: the limit id held another algorithm's state, which core counts as none.
  redis.call('DEL', KEYS[1])
  raw = false
end
-- minute: the expiry bound's text as stored, or -1 when unknown.
local tat, text, seen, expiry, minute, tag = now, false, '', '', -1, ''
if raw then
  local t, s, e, g = string.match(raw, '^([^|]*)|([^|]*)|([^|]*)|(.*)$')
  if t then
    tat, text, seen, expiry, minute, tag = tonumber(t), t, s, e, tonumber(e), g
    -- An older store's state has its last-seen in ms (13 digits; seconds have 10 until the year
    -- 5138): its minute bounded only the index and its TTL was exact, so the bound is unknown
    -- (the write sets a TTL) and the tag too (the index gets the spec again).
    if #s > 11 then minute, tag = -1, '' end
  else
    tat, text = tonumber(raw), raw
  end
  -- A state this script cannot read (another program's value, or a damaged one) counts as none,
  -- as another algorithm's state does, and this decision's write replaces it: left in place it
  -- would fail every call of this client until it expired, and a store failing open would let the
  -- client through unlimited all that time. Lua 5.1 reads 'nan' and 'inf' as numbers: x - x is 0
  -- only for a finite x. (The TAT's text goes back in the reply as it was stored; the caller reads
  -- it as Lua did, spaces around it included, and takes a text it cannot read for a failed call.)
  if not (tat and minute and tat - tat == 0 and minute - minute == 0) then
    raw = false
    tat, text, seen, expiry, minute, tag = now, false, '', '', -1, ''
  end
end
-- A replaced index (above) lacks this limit's entry and a TTL: written and extended as for a new spec.
if lostIndex then tag, minute = '', -1 end
-- What to write: the new TAT with a TTL (ttl > 0), the same TAT keeping its TTL (ttl = 0), or
-- nothing (ttl = nil). A denial writes only to record activity in a new second.
local x, ttl = tat, nil
if lim < 0 then
  -- Never allowed. Core's state after it is the TAT read, or now (a full bucket) without one:
  -- kept, for a clock stepping back.
  if not raw then
    ttl = 1 + pad
  elseif tag ~= spec or seen ~= sec then
    ttl = 0
  end
else
  local debt = 0
  if tat > now then debt = tat - now end
  if debt + inc <= lim then
    if tat > now then x = tat + inc else x = now + inc end
    ttl = math.max(1, math.ceil(x - now)) + pad
  elseif raw and (tag ~= spec or seen ~= sec) then
    ttl = 0
  end
end
if ttl then
  if tag ~= spec then
    -- A new limit or another spec: the index gets the limit's entry for admin reads,
    -- 'code|capacity|refillPerSecond|burst' (the tag's first letter is the code; see the store's
    -- indexValueOf), built here from the parameters (JavaScript's own number texts).
    if not rateText then
      capacityText, burstText, rateText = string.match(ARGV[1], '^%S+ %S+ %S+ %S+ %S+ (%S+) (%S+) (%S+)$')
    end
    local key = KEYS[1]
    local close = string.find(key, '}', 1, true)
    local code = string.sub(spec, 1, 1)
    if KEYS[3] then code = code .. '+' end
    local field, entry = string.sub(key, close + 2), code .. '|' .. capacityText .. '|' .. rateText .. '|' .. burstText
    if type(redis.pcall('HSET', KEYS[2], field, entry)) == 'table' then
      -- An index of another type: dropped and written anew (see HSET), with no TTL yet.
      redis.call('DEL', KEYS[2])
      redis.call('HSET', KEYS[2], field, entry)
      minute = -1
    end
    tag = spec
    if ttl == 0 and minute == -1 then
      -- No expiry bound (an older state's bare number): establish one from the state's TTL.
      ttl = redis.call('PTTL', KEYS[1])
      if ttl < 1 then ttl = 1 end
    end
  end
  if ttl > 0 and now + ttl > minute * 60000 then
    -- Both the state and the index must live at least ttl more: extended together, with room
    -- to spare (see the bucket script).
    local index = KEYS[2]
    if not size then
      -- The unscaled spec (a scaled one was computed above).
      if not rateText then
        capacityText, burstText, rateText = string.match(ARGV[1], '^%S+ %S+ %S+ %S+ %S+ (%S+) (%S+) (%S+)$')
      end
      size = capacityText + burstText
      interval = 1000 / rateText
    end
    -- Whole ms: PX and PEXPIRE reject a fraction, and size * interval rarely is whole.
    local keep = ttl + math.ceil(math.max(ttl, math.min(size * interval, 1e12), 60000))
    if redis.call('PTTL', index) < keep + 60000 then redis.call('PEXPIRE', index, keep + 60000) end
    expiry = math.floor((now + keep) / 60000)
    ttl = keep
  else
    ttl = 0
  end
  -- Texts kept as they were read where they did not change; numbers formatted as %d when they
  -- are positive integers below 1e15 (exact, the same text as %.17g, and much cheaper: no
  -- floating-point formatting) and as %.17g otherwise (round-trips).
  if x == tat and text then
    x = text
  elseif x % 1 == 0 and x > 0 and x < 1e15 then
    x = string.format('%d', x)
  else
    x = string.format('%.17g', x)
  end
  local value = x .. '|' .. sec .. '|' .. expiry .. '|' .. tag
  if ttl > 0 then
    redis.call('SET', KEYS[1], value, 'PX', ttl)
  else
    redis.call('SET', KEYS[1], value, 'KEEPTTL')
  end
end
-- One text (a table reply costs Redis more): '[seconds micros ]tat[ multiplier]', Redis TIME's
-- texts when it was read (the caller knows a time it passed), the TAT as it was stored ('-'
-- when there was none, which core reads as now).
if KEYS[3] then
  if mult ~= math.floor(mult) then mult = string.format('%.17g', mult) end
  if second then return second .. ' ' .. micros .. ' ' .. (text or '-') .. ' ' .. mult end
  return (text or '-') .. ' ' .. mult
end
if second then return second .. ' ' .. micros .. ' ' .. (text or '-') end
return text or '-'
`;

/** Scales a window limit as core's `scaleSpec`: `max(1, floor(limit * m + 1e-9))`. */
const WINDOW_LIMIT = `
local limit, window = tonumber(ARGV[7]), tonumber(ARGV[8])
if mult ~= 1 then limit = math.max(1, math.floor(limit * mult + 1e-9)) end
`;

/** Fixed window, as core's `fixedWindowStep`: a hash { w = windowStart, c = count }. */
const FIXED = `${head(2)}${WINDOW_LIMIT}
local start = math.floor(now / window) * window
local st = redis.pcall('HMGET', KEYS[1], 'w', 'c', 'p')
if foreign(st, type(st) == 'table' and st[3] ~= nil and st[3] ~= false) then st = { false, false } end
-- A state this script cannot read counts as none, and this decision's write replaces it (see
-- BUCKET_CONSUME): left in place it would fail every call of the client until it expired.
if st[1] and not (finite(st[1]) and finite(st[2])) then st = { false, false } end
local ws, count = start, 0
if st[1] and not (tonumber(st[1]) < start) then
  ws = tonumber(st[1])
  count = tonumber(st[2])
end
if op == 'refund' then
  -- ARGV[9]: the resetAt of the decision that took the cost ('' = not given): only its window
  -- gives back.
  local taken = tonumber(ARGV[9] or '')
  if st[1] and not (ws + window <= now or count <= 0) and (not taken or ws + window == taken) then
    redis.call('HSET', KEYS[1], 'c', f(math.max(0, count - cost)))
  end
  return { f(now) }
end
local resetAt = ws + window
local exceeds = cost > limit + EPS
local allowed = (not exceeds) and count + cost <= limit + EPS
if allowed then
  count = count + cost
  local ttl = math.ceil(resetAt - now) + pad
  redis.call('HSET', KEYS[1], 'w', f(ws), 'c', f(count))
  redis.call('PEXPIRE', KEYS[1], ttl)
  indexed(ttl)
  return decision(1, limit, whole(limit - count, limit), resetAt, 0, 0)
end
if st[1] and tonumber(st[1]) == ws then
  indexed(redis.call('PTTL', KEYS[1]))
else
  -- A new or rolled window is core's state after this denial too; keep it.
  local ttl = math.max(1, math.ceil(resetAt - now)) + pad
  redis.call('HSET', KEYS[1], 'w', f(ws), 'c', f(count))
  redis.call('PEXPIRE', KEYS[1], ttl)
  indexed(ttl)
end
local ex = 0
if exceeds then ex = 1 end
return decision(0, limit, whole(limit - count, limit), resetAt, resetAt - now, ex)
`;

/**
 * Approximate sliding window, as core's `approximateWindowStep`: a hash
 * { w = windowStart, p = previous, c = current }.
 */
const APPROXIMATE = `${head(2)}${WINDOW_LIMIT}
local start = math.floor(now / window) * window
local st = redis.pcall('HMGET', KEYS[1], 'w', 'p', 'c')
if foreign(st, type(st) == 'table' and st[1] and not st[2]) then st = { false, false, false } end
-- Unreadable: none, and replaced (see the fixed window).
if st[1] and not (finite(st[1]) and finite(st[2]) and finite(st[3])) then st = { false, false, false } end
if op == 'refund' then
  -- ARGV[9]: the resetAt of the decision that took the cost ('' = not given): the count of the
  -- window that took it gives back, current or (rolled on once since) previous.
  local taken = tonumber(ARGV[9] or '')
  if st[1] then
    local sw, sp, sc = tonumber(st[1]), tonumber(st[2]), tonumber(st[3])
    if not taken then
      if not (sw + window <= now or sc <= 0) then
        redis.call('HSET', KEYS[1], 'c', f(math.max(0, sc - cost)))
      end
    elseif sw + 2 * window == taken then
      if sc > 0 then redis.call('HSET', KEYS[1], 'c', f(math.max(0, sc - cost))) end
    elseif sp > 0 and math.floor((sw - (taken - 2 * window)) / window + 0.5) == 1 then
      redis.call('HSET', KEYS[1], 'p', f(math.max(0, sp - cost)))
    end
  end
  return { f(now) }
end
local ws, previous, current = start, 0, 0
if st[1] then
  local sw, sp, sc = tonumber(st[1]), tonumber(st[2]), tonumber(st[3])
  if sw >= start then
    ws, previous, current = sw, sp, sc
  elseif math.floor((start - sw) / window + 0.5) == 1 then
    previous = sc
  end
end
local t = ws
if now > ws then t = now end
local estimate = (previous * (window - (t - ws))) / window + current
local exceeds = cost > limit + EPS
local function resetOf(cur)
  if cur > 0 then return ws + 2 * window end
  if previous > 0 then return ws + window end
  return now
end
if (not exceeds) and estimate + cost <= limit + EPS then
  local nextCurrent = current + cost
  local resetAt = resetOf(nextCurrent)
  local ttl = math.max(1, math.ceil(resetAt - now)) + pad
  redis.call('HSET', KEYS[1], 'w', f(ws), 'p', f(previous), 'c', f(nextCurrent))
  redis.call('PEXPIRE', KEYS[1], ttl)
  indexed(ttl)
  return decision(1, limit, whole(limit - estimate - cost, limit), resetAt, 0, 0)
end
local resetAt = resetOf(current)
local retryAfter = -1
local ex = 0
if exceeds then
  ex = 1
  retryAfter = math.max(1, resetAt - now)
else
  local excess = estimate + cost - limit - EPS
  if previous > 0 then
    local wait = math.ceil((excess * window) / previous)
    if t - ws + wait < window then retryAfter = t - now + wait end
  end
  if retryAfter < 0 then
    local need = current + cost - limit - EPS
    local offset = 0
    if need > 0 then offset = math.min(window, math.ceil((need * window) / current)) end
    retryAfter = ws + window + offset - now
  end
end
if st[1] and tonumber(st[1]) == ws then
  indexed(redis.call('PTTL', KEYS[1]))
else
  -- A new or rolled window is core's state after this denial too; keep it.
  local ttl = math.max(1, math.ceil(resetAt - now)) + pad
  redis.call('HSET', KEYS[1], 'w', f(ws), 'p', f(previous), 'c', f(current))
  redis.call('PEXPIRE', KEYS[1], ttl)
  indexed(ttl)
end
return decision(0, limit, whole(limit - estimate, limit), resetAt, retryAfter, ex)
`;

/**
 * Exact sliding window, as core's `exactWindowStep`: a sorted set with one member per distinct
 * time, scored by the time, the member being '<time>|<units admitted at that time>'.
 */
const EXACT = `${head(2)}${WINDOW_LIMIT}
local newestEntry = redis.pcall('ZRANGE', KEYS[1], -1, -1, 'WITHSCORES')
-- A log whose newest time is not finite (a score of inf) cannot be read: none, and replaced (see
-- the fixed window).
if foreign(newestEntry, newestEntry[1] and not finite(newestEntry[2])) then newestEntry = {} end
if op == 'refund' and not newestEntry[1] then return { f(now) } end
local t = now
if newestEntry[1] and tonumber(newestEntry[2]) > now then t = tonumber(newestEntry[2]) end
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', f(t - window))
local raw = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
local times, costs, members = {}, {}, {}
local used = 0
for i = 1, #raw, 2 do
  local member = raw[i]
  local bar = string.find(member, '|', 1, true)
  local units = bar and finite(string.sub(member, bar + 1))
  if not (units and units >= 0) then
    -- An entry this script cannot read: the log counts as none, as above.
    redis.call('DEL', KEYS[1])
    times, costs, members, used = {}, {}, {}, 0
    break
  end
  local n = #times + 1
  members[n] = member
  times[n] = tonumber(raw[i + 1])
  costs[n] = units
  used = used + units
end
local n = #times
local function entry(time, units) return f(time) .. '|' .. f(units) end

if op == 'refund' then
  -- Taking back a part of the only entry empties the set for a moment, and Redis then deletes the
  -- key with its TTL: the ZADD would make it anew with none. Keep the TTL the log had.
  local ttl = redis.call('PTTL', KEYS[1])
  -- ARGV[9]: the resetAt of the decision that took the cost ('' = not given). Given, the units
  -- come off that decision's entry only (its time plus the window), not off newer entries of
  -- requests admitted since; not given, off the newest entries.
  local taken = tonumber(ARGV[9] or '')
  if taken then
    local i = n
    while i > 0 and times[i] + window ~= taken do i = i - 1 end
    if i > 0 then
      redis.call('ZREM', KEYS[1], members[i])
      if costs[i] > cost + EPS then redis.call('ZADD', KEYS[1], f(times[i]), entry(times[i], costs[i] - cost)) end
    end
  else
    local left = cost
    while left > 0 and n > 0 do
      local held = costs[n]
      redis.call('ZREM', KEYS[1], members[n])
      if held > left + EPS then
        redis.call('ZADD', KEYS[1], f(times[n]), entry(times[n], held - left))
        break
      end
      left = left - held
      n = n - 1
    end
  end
  if ttl > 0 then redis.call('PEXPIRE', KEYS[1], ttl) end
  return { f(now) }
end

local exceeds = cost > limit + EPS
if (not exceeds) and used + cost <= limit + EPS then
  if cost > 0 then
    if n > 0 and times[n] == t then
      redis.call('ZREM', KEYS[1], members[n])
      redis.call('ZADD', KEYS[1], f(t), entry(t, costs[n] + cost))
    else
      redis.call('ZADD', KEYS[1], f(t), entry(t, cost))
      n = n + 1
      times[n] = t
    end
    local ttl = math.max(1, math.ceil(t + window - now)) + pad
    redis.call('PEXPIRE', KEYS[1], ttl)
    indexed(ttl)
  end
  -- A cost of 0 logs nothing: then the log may be empty, and resetAt is now.
  local resetAt = now
  if n > 0 then resetAt = times[n] + window end
  return decision(1, limit, whole(limit - used - cost, limit), resetAt, 0, 0)
end
local resetAt = now
if n > 0 then resetAt = times[n] + window end
local retryAfter
local ex = 0
if exceeds then
  ex = 1
  retryAfter = math.max(1, resetAt - now)
else
  retryAfter = resetAt - now
  local left = used
  for i = 1, n do
    left = left - costs[i]
    if left + cost <= limit + EPS then
      retryAfter = times[i] + window - now
      break
    end
  end
end
if n > 0 then indexed(redis.call('PTTL', KEYS[1])) end
return decision(0, limit, whole(limit - used, limit), resetAt, retryAfter, ex)
`;

/**
 * The adaptive score, as core's `recordOutcome` then `effectiveMultiplier`.
 * KEYS: 1 score, 2 index. ARGV: 1 now ('' = TIME), 2 outcome, 3 min, 4 max, 5 successStep,
 * 6 failureFactor, 7 idleHalfLifeMs, 8 longTermAfterMs, 9 longTermMinRequests, 10 longTermBonus,
 * 11 score TTL in ms, 12 the adaptive config as the score keeps it for admin reads (see the
 * store's scoreConfigText).
 */
const RECORD = `
${NOW}
${PAD}
local function f(x) return string.format('%.17g', x) end
-- The adaptive config's texts, which the caller formatted: read by arithmetic coercion (cheaper than tonumber).
local mn, mx, step, factor = ARGV[3] + 0, ARGV[4] + 0, ARGV[5] + 0, ARGV[6] + 0
local half, after, minReq, bonus = ARGV[7] + 0, ARGV[8] + 0, ARGV[9] + 0, ARGV[10] + 0
${HSET}
local st = redis.pcall('HMGET', KEYS[1], 'm', 'f', 'l', 'r', 's', 'x')
if st.err then
  redis.call('DEL', KEYS[1])
  st = {}
end
local m, first, last, requests, successes, failures = 1, now, now, 0, 0, 0
${FINITE}
local sm, sf, sl, sr, ss, sx = finite(st[1]), finite(st[2]), finite(st[3]), finite(st[4]), finite(st[5]), finite(st[6])
-- A score this script cannot read (another program's value, or a damaged one) counts as none and
-- is replaced by the write below, as a consume does with a limit's state.
if sm and sf and sl and sr and ss and sx then
  m, first, last, requests, successes, failures = sm, sf, sl, sr, ss, sx
end
local outcome = ARGV[2]
if outcome == 'success' or outcome == 'failure' then
${applyOutcome("outcome == 'success'")}
end
requests = requests + 1
redis.call('HSET', KEYS[1], 'm', f(m), 'f', f(first), 'l', f(last), 'r', requests, 's', successes, 'x', failures, 'c', ARGV[12])
local ttl = math.max(1, math.ceil(last + ARGV[11] - now)) + pad
redis.call('PEXPIRE', KEYS[1], ttl)
hset(KEYS[2], '_seen', now)
if redis.call('PTTL', KEYS[2]) < ttl then redis.call('PEXPIRE', KEYS[2], ttl) end
local e = m
if now > last then e = 1 + (m - 1) * 2 ^ (-(now - last) / half) end
if successes + failures >= minReq and now - first >= after then e = e * bonus end
return f(math.min(mx, math.max(mn, e)))
`;

/**
 * Admin read of one client. KEYS: 1 index, 2 score. ARGV: 1 now ('' = TIME).
 * Returns { now, index fields..., '', score fields... } flattened as two HGETALL lists.
 */
const SNAPSHOT = `
${NOW}
-- A key of another type where a hash belongs counts as none, and is dropped (see HSET).
local function fields(key)
  local r = redis.pcall('HGETALL', key)
  if r.err then
    redis.call('DEL', key)
    return {}
  end
  return r
end
return { string.format('%.17g', now), fields(KEYS[1]), fields(KEYS[2]) }
`;

/** Raw states of a client's limit keys (KEYS), whatever their type. */
const READ = `
local out = {}
for i, key in ipairs(KEYS) do
  local t = redis.call('TYPE', key).ok
  if t == 'string' then
    out[i] = { 'string', redis.call('GET', key) }
  elseif t == 'hash' then
    out[i] = { 'hash', redis.call('HGETALL', key) }
  elseif t == 'zset' then
    out[i] = { 'zset', redis.call('ZRANGE', key, 0, -1, 'WITHSCORES') }
  else
    out[i] = { 'none' }
  end
end
return out
`;

/**
 * Deletes a client: KEYS[1] its index, then every other key of it. ARGV: 1 now ('' = TIME),
 * 2 inactiveMs ('' = unconditionally). With inactiveMs, deletes only if the client's last
 * activity (the index's `_seen` and every bucket state's own) is at least that old (re-checked here, atomically, so a client that just came back
 * is kept). Returns the number of keys deleted.
 */
const DELETE = `
-- ARGV[3]: '1' to delete whatever the index lists now; ARGV[4..]: the limit fields ('l:<id>') the
-- caller read from the index and sends the keys of. A limit first used since (another instance's
-- decision between the read and this call) is listed beyond them, and its key is not among KEYS:
-- answer -1, and the caller reads again, so no limit outlives the delete without an index entry.
if ARGV[3] ~= '1' then
  local known = {}
  for i = 4, #ARGV do known[ARGV[i]] = true end
  local listed = redis.pcall('HKEYS', KEYS[1])
  if type(listed) == 'table' and not listed.err then
    for _, field in ipairs(listed) do
      if string.sub(field, 1, 2) == 'l:' and not known[field] then return -1 end
    end
  end
end
if ARGV[2] ~= '' then
  local now
  if ARGV[1] ~= '' then
    now = tonumber(ARGV[1])
  else
    local t = redis.call('TIME')
    now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
  end
  local cutoff = now - tonumber(ARGV[2])
  -- An index of another type (see HSET) tells no activity.
  local seen = redis.pcall('HGET', KEYS[1], '_seen')
  if type(seen) == 'string' and tonumber(seen) and tonumber(seen) > cutoff then return 0 end
  -- Bucket states carry their own last-seen time ('tat|seen|...', whole seconds, so the client
  -- may have been active until the end of that second): the index is not written on every
  -- decision.
  for i = 3, #KEYS do
    local v = redis.pcall('GET', KEYS[i])
    if type(v) == 'string' then
      local s = string.match(v, '^[^|]*|([^|]*)|')
      if s then
        local at = tonumber(s)
        -- An older store's state holds ms (13 digits), not seconds.
        if at and at < 1e11 then at = (at + 1) * 1000 end
        if at and at > cutoff then return 0 end
      end
    end
  end
end
return redis.call('DEL', unpack(KEYS))
`;

/**
 * Shared config. KEYS[1] the config hash. ARGV[1] the data (JSON), ARGV[2] the version the write
 * expects to replace ('' = any; '0' = none yet). Returns the new version, or 0 (nothing written)
 * when the stored version is another.
 */
const CONFIG_SET = `
if ARGV[2] ~= '' and tonumber(redis.call('HGET', KEYS[1], 'v') or '0') ~= tonumber(ARGV[2]) then return 0 end
local v = redis.call('HINCRBY', KEYS[1], 'v', 1)
redis.call('HSET', KEYS[1], 'd', ARGV[1])
return v
`;

/**
 * Cheap config poll. KEYS[1] the config hash; ARGV[1] the version the caller holds ('' = none),
 * ARGV[2] 'version' to get the version only. Returns {} when there is none, { version } when
 * unchanged (or asked for the version only), { version, data } otherwise.
 */
const CONFIG_GET = `
local v = redis.call('HGET', KEYS[1], 'v')
if not v then return {} end
if v == ARGV[1] or ARGV[2] == 'version' then return { v } end
return { v, redis.call('HGET', KEYS[1], 'd') }
`;

export const SCRIPTS = {
  bucketConsume: luaScript('bucket-consume', BUCKET_CONSUME),
  bucket: luaScript('bucket', BUCKET),
  fixedWindow: luaScript('fixed-window', FIXED),
  approximateWindow: luaScript('approximate-window', APPROXIMATE),
  exactWindow: luaScript('exact-window', EXACT),
  record: luaScript('record', RECORD),
  snapshot: luaScript('snapshot', SNAPSHOT),
  read: luaScript('read', READ),
  delete: luaScript('delete', DELETE),
  configSet: luaScript('config-set', CONFIG_SET),
  configGet: luaScript('config-get', CONFIG_GET),
} satisfies Record<string, LuaScript>;
