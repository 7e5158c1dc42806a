//! The `cmsgpack` library (lua-cmsgpack, as bundled with Redis).

use mlua::{Lua, Table};

/// The `cmsgpack` table.
pub fn build(lua: &Lua) -> mlua::Result<Table> {
    lua.create_table()
}
