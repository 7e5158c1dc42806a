//! The globals scripts see, as Redis 7 sets them up: Lua's base, table, string and math
//! libraries, cjson, cmsgpack, struct, bit and `redis`; no os, io, debug, package, file loading,
//! `print`, `setfenv`/`getfenv` or `newproxy`.
//!
//! Redis 7 patches its Lua to mark tables read-only. Stock Lua has no such flag, so here the
//! globals table and every library table are read-only proxies: empty tables whose metatable
//! reads through to the real table and refuses writes. Writes that bypass metatables (`rawset`,
//! `setmetatable`, `table.insert`) are refused by wrapped versions of those
//! functions, and the functions that would reveal the proxies (`next`, `pairs`, `ipairs`,
//! `rawget`, `getmetatable`) see the real tables. Reading a missing global raises Redis's
//! "Script attempted to access nonexistent global variable" error.

use mlua::{Function, Lua, Table, Value};

use super::{api, classify, convert, libs, RaisedError};

/// Chunk name of the prelude; the error handler skips its frames when it looks for the line
/// that raised an error.
pub const INTERNAL_CHUNK: &str = "=burner";

const PRELUDE: &str = r#"
local errtext, errvalue, killed, handler, lrandom, lrandomseed = ...
local G = _G
local type, error, tostring, select = type, error, tostring, select
local string, table, math = string, table, math
local loadstring, pcall, xpcall = loadstring, pcall, xpcall
local rawset, rawget, setmetatable, getmetatable = rawset, rawget, setmetatable, getmetatable
local next, ipairs = next, ipairs
local insert, concat = table.insert, table.concat

-- proxy -> the table it protects (weak keys: nothing here is ever collected anyway)
local real = setmetatable({}, { __mode = "k" })
local READONLY = "Attempt to modify a readonly table"

local function refuse() error(READONLY, 2) end

local function protect(t)
  local p = {}
  setmetatable(p, { __index = t, __newindex = refuse })
  real[p] = t
  return p
end

local function guard(t)
  if real[t] then error(READONLY, 0) end
end

-- Errors raised from Rust reach Lua as userdata: a message handler sees them as Redis does, as
-- an error table (or a string for plain errors).
-- A script being killed re-raises whatever a pcall/xpcall caught, so it cannot go on.
local function settle_x(ok, ...)
  if not ok and killed() then error((...), 0) end
  return ok, ...
end
G.xpcall = function(f, h)
  return settle_x(xpcall(f, function(e)
    if type(e) == "userdata" then e = errvalue(e) end
    return h(e)
  end))
end

-- Redis's pcall hands back the message of an error table, not the table itself
local function settle(ok, ...)
  if ok then return ok, ... end
  local e = ...
  if killed() then error(e, 0) end
  local t = type(e)
  if t == "table" then
    local m = rawget(e, "err")
    if type(m) == "string" then return false, m end
  elseif t == "userdata" then
    local m = errtext(e)
    if m then return false, m end
  end
  return false, e
end
G.pcall = function(...) return settle(pcall(...)) end

G.rawset = function(t, k, v)
  guard(t)
  local r = rawset(t, k, v)
  return r
end
G.setmetatable = function(t, mt)
  guard(t)
  local r = setmetatable(t, mt)
  return r
end
G.rawget = function(t, k)
  local r = rawget(real[t] or t, k)
  return r
end
G.next = function(t, k)
  return next(real[t] or t, k)
end
G.pairs = function(t)
  return next, real[t] or t, nil
end
G.ipairs = function(t)
  return ipairs(real[t] or t)
end

-- Bytecode can crash the VM: only source text may be loaded.
G.loadstring = function(s, name)
  if type(s) == "string" and s:byte(1) == 27 then
    return nil, "binary chunks are not allowed"
  end
  local f, e = loadstring(s, name)
  return f, e
end
G.load = function(reader, name)
  local parts = {}
  while true do
    local piece = reader()
    if piece == nil or piece == "" then break end
    if type(piece) ~= "string" then return nil, "reader function must return a string" end
    parts[#parts + 1] = piece
  end
  return G.loadstring(concat(parts), name or "=(load)")
end

table.insert = function(t, ...)
  guard(t)
  insert(t, ...)
end
-- table.remove and table.sort need no guard: on a proxy they see an empty table and write nothing
-- (Redis, too, only refuses an actual write).

math.random = lrandom
math.randomseed = lrandomseed

for _, name in ipairs({ "print", "setfenv", "getfenv", "newproxy", "dofile", "loadfile",
                        "module", "require", "package" }) do
  rawset(G, name, nil)
end
rawset(G, "__redis__err__handler", handler)

local string_mt = getmetatable("")
for _, name in ipairs({ "string", "table", "math", "coroutine", "cjson", "struct",
                        "cmsgpack", "bit", "redis" }) do
  rawset(G, name, protect(rawget(G, name)))
end
string_mt.__index = rawget(G, "string")
local string_mt_view = protect(string_mt)

local G_mt = {
  __index = function(_, k)
    error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2)
  end,
}
setmetatable(G, G_mt)
local G_mt_view = protect(G_mt)

G.getmetatable = function(t)
  local r = real[t]
  if r == G then return G_mt_view end
  if r then
    local m = getmetatable(r)
    return m
  end
  if type(t) == "string" then return string_mt_view end
  local m = getmetatable(t)
  return m
end

local proxy = protect(G)
rawset(G, "_G", proxy)
return proxy
"#;

/// Sets up the globals; returns the real globals table (the one behind the proxy) and the
/// message handler scripts run under.
pub fn install(lua: &Lua) -> mlua::Result<(Table, Function)> {
    let g = lua.globals();
    g.raw_set("redis", api::build(lua)?)?;
    g.raw_set("cjson", libs::cjson::build(lua)?)?;
    g.raw_set("bit", libs::bit::build(lua)?)?;
    g.raw_set("struct", libs::lstruct::build(lua)?)?;
    g.raw_set("cmsgpack", libs::cmsgpack::build(lua)?)?;
    let (random, randomseed) = libs::random::build(lua)?;
    let errtext = lua.create_function(|_, v: Value| {
        Ok(match v {
            Value::Error(e) => Some(match classify(&e) {
                RaisedError::Table(t) | RaisedError::Plain(t) => t,
            }),
            _ => None,
        })
    })?;
    let errvalue = lua.create_function(|lua, v: Value| {
        Ok(match v {
            Value::Error(e) => match classify(&e) {
                RaisedError::Table(t) => Value::Table(convert::error_table(lua, &t)?),
                RaisedError::Plain(p) => Value::String(lua.create_string(p)?),
            },
            other => other,
        })
    })?;
    let killed = lua.create_function(|lua, ()| {
        Ok(lua
            .app_data_ref::<super::Run>()
            .is_some_and(|r| r.ctl.kill.load(std::sync::atomic::Ordering::Acquire)))
    })?;
    let handler = lua.create_function(message_handler)?;
    let proxy: Table = lua.load(PRELUDE).set_name(INTERNAL_CHUNK).call((
        errtext,
        errvalue,
        killed,
        handler.clone(),
        random,
        randomseed,
    ))?;
    lua.set_globals(proxy)?;
    Ok((g, handler))
}

/// The handler every script runs under (Redis 7's `__redis__err__handler`): turns any error
/// into an error table (`ERR <message>` for plain errors) and records the source and line of
/// the script code that raised it.
fn message_handler(lua: &Lua, err: Value) -> mlua::Result<Table> {
    let t = match err {
        Value::Table(t) => t,
        Value::Error(e) => {
            let text = match classify(&e) {
                RaisedError::Table(t) => t,
                RaisedError::Plain(p) => format!("ERR {p}"),
            };
            plain_table(lua, &text)?
        }
        other => plain_table(lua, &format!("ERR {}", convert::display(&other)))?,
    };
    let mut level = 1;
    while let Some(found) = lua.inspect_stack(level, |d| {
        let src = d.source();
        if src.what == "C" || src.source.as_deref() == Some(INTERNAL_CHUNK) {
            return None;
        }
        Some((src.source.map(|s| s.into_owned()), d.current_line()))
    }) {
        if let Some((source, line)) = found {
            if let Some(s) = source {
                t.raw_set("source", s)?;
            }
            if let Some(l) = line {
                t.raw_set("line", l as i64)?;
            }
            break;
        }
        level += 1;
    }
    Ok(t)
}

fn plain_table(lua: &Lua, text: &str) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.raw_set("err", text)?;
    Ok(t)
}
