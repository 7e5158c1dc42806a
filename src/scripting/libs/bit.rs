//! The `bit` library (Lua BitOp semantics): 32-bit two's complement operations on numbers.

use mlua::{Lua, MultiValue, Table};

use super::check_number;

/// A number reduced to a signed 32-bit integer as BitOp does: rounded to the nearest integer
/// (ties to even), then taken modulo 2^32.
pub fn tobit(n: f64) -> i32 {
    if !n.is_finite() {
        return 0;
    }
    let r = n.round_ties_even();
    r.rem_euclid(4_294_967_296.0) as u64 as u32 as i32
}

fn arg(args: &MultiValue, i: usize, f: &str) -> mlua::Result<i32> {
    Ok(tobit(check_number(args, i, f)?))
}

fn fold(lua: &Lua, name: &'static str, op: fn(i32, i32) -> i32) -> mlua::Result<mlua::Function> {
    super::func(lua, move |_, args: MultiValue| {
        let mut acc = arg(&args, 0, name)?;
        for i in 1..args.len() {
            acc = op(acc, arg(&args, i, name)?);
        }
        Ok(acc as f64)
    })
}

fn shift(lua: &Lua, name: &'static str, op: fn(i32, u32) -> i32) -> mlua::Result<mlua::Function> {
    super::func(lua, move |_, args: MultiValue| {
        let x = arg(&args, 0, name)?;
        let n = arg(&args, 1, name)? as u32 & 31;
        Ok(op(x, n) as f64)
    })
}

/// The `bit` table.
pub fn build(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.raw_set(
        "tobit",
        super::func(lua, |_, a: MultiValue| Ok(arg(&a, 0, "tobit")? as f64))?,
    )?;
    t.raw_set(
        "bnot",
        super::func(lua, |_, a: MultiValue| Ok(!arg(&a, 0, "bnot")? as f64))?,
    )?;
    t.raw_set(
        "bswap",
        super::func(lua, |_, a: MultiValue| {
            Ok(arg(&a, 0, "bswap")?.swap_bytes() as f64)
        })?,
    )?;
    t.raw_set("band", fold(lua, "band", |a, b| a & b)?)?;
    t.raw_set("bor", fold(lua, "bor", |a, b| a | b)?)?;
    t.raw_set("bxor", fold(lua, "bxor", |a, b| a ^ b)?)?;
    t.raw_set(
        "lshift",
        shift(lua, "lshift", |x, n| ((x as u32) << n) as i32)?,
    )?;
    t.raw_set(
        "rshift",
        shift(lua, "rshift", |x, n| ((x as u32) >> n) as i32)?,
    )?;
    t.raw_set("arshift", shift(lua, "arshift", |x, n| x >> n)?)?;
    t.raw_set(
        "rol",
        shift(lua, "rol", |x, n| (x as u32).rotate_left(n) as i32)?,
    )?;
    t.raw_set(
        "ror",
        shift(lua, "ror", |x, n| (x as u32).rotate_right(n) as i32)?,
    )?;
    t.raw_set(
        "tohex",
        super::func(lua, |lua, a: MultiValue| {
            let x = arg(&a, 0, "tohex")? as u32;
            let n = if a.len() > 1 && !matches!(a.get(1), Some(mlua::Value::Nil)) {
                arg(&a, 1, "tohex")?
            } else {
                8
            };
            let upper = n < 0;
            let digits = (n.unsigned_abs().min(8)) as usize;
            let full = if upper {
                format!("{:08X}", x)
            } else {
                format!("{:08x}", x)
            };
            lua.create_string(&full[8 - digits..])
        })?,
    )?;
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::tobit;

    #[test]
    fn tobit_wraps_and_rounds() {
        assert_eq!(tobit(4294967295.0), -1);
        assert_eq!(tobit(2147483648.0), i32::MIN);
        assert_eq!(tobit(-1.0), -1);
        assert_eq!(tobit(2.5), 2);
        assert_eq!(tobit(3.5), 4);
        assert_eq!(tobit(4294967296.0 * 3.0 + 5.0), 5);
    }
}
