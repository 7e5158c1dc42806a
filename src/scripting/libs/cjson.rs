//! The `cjson` library (lua-cjson 2.1, as bundled with Redis).

use mlua::{Lua, Table};

/// The `cjson` table.
pub fn build(lua: &Lua) -> mlua::Result<Table> {
    lua.create_table()
}
