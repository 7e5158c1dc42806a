//! The `struct` library (Roberto Ierusalimschy's struct, as bundled with Redis).

use mlua::{Lua, Table};

/// The `struct` table.
pub fn build(lua: &Lua) -> mlua::Result<Table> {
    lua.create_table()
}
