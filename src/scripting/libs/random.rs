//! `math.random` / `math.randomseed` as Redis replaces them: a 48-bit linear congruential
//! generator (the `lrand48` family) owned by the VM, so scripts get the same sequence Redis gives.

use std::sync::Arc;

use mlua::{Function, Lua, MultiValue};
use parking_lot::Mutex;

use super::{bad_argument, check_number};

const A: u64 = 0x5DEECE66D;
const C: u64 = 0xB;
const MASK: u64 = (1 << 48) - 1;
const INITIAL: u64 = 0x1234_ABCD_330E;
const MAX: u64 = i32::MAX as u64;

/// The generator state.
pub struct Lrand48(u64);

impl Lrand48 {
    /// The generator in Redis's initial state.
    pub fn new() -> Self {
        Lrand48(INITIAL)
    }

    /// `srand48(seed)`.
    pub fn seed(&mut self, seed: i32) {
        self.0 = (((seed as u32 as u64) << 16) | 0x330E) & MASK;
    }

    /// `lrand48()`: the next 31-bit value.
    pub fn next_raw(&mut self) -> u64 {
        self.0 = (self.0.wrapping_mul(A).wrapping_add(C)) & MASK;
        self.0 >> 17
    }

    /// A number in [0, 1), as Redis's `math.random()` computes it.
    pub fn next_unit(&mut self) -> f64 {
        (self.next_raw() % MAX) as f64 / MAX as f64
    }
}

impl Default for Lrand48 {
    fn default() -> Self {
        Self::new()
    }
}

/// `(math.random, math.randomseed)`.
pub fn build(lua: &Lua) -> mlua::Result<(Function, Function)> {
    let state = Arc::new(Mutex::new(Lrand48::new()));
    let s = state.clone();
    let random = super::func(lua, move |_, args: MultiValue| {
        let r = s.lock().next_unit();
        match args.len() {
            0 => Ok(r),
            1 => {
                let u = check_number(&args, 0, "random")?.trunc();
                if u < 1.0 {
                    return Err(bad_argument(1, "random", "interval is empty"));
                }
                Ok((r * u).floor() + 1.0)
            }
            2 => {
                let l = check_number(&args, 0, "random")?.trunc();
                let u = check_number(&args, 1, "random")?.trunc();
                if l > u {
                    return Err(bad_argument(2, "random", "interval is empty"));
                }
                Ok((r * (u - l + 1.0)).floor() + l)
            }
            _ => Err(super::super::lua_error("wrong number of arguments")),
        }
    })?;
    let randomseed = super::func(lua, move |_, args: MultiValue| {
        let seed = check_number(&args, 0, "randomseed")?;
        state.lock().seed(seed as i64 as i32);
        Ok(())
    })?;
    Ok((random, randomseed))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_redis_after_seeding() {
        // Redis 7.0: math.randomseed(42) then math.random() -> 0.74452500033403,
        // math.random(100) -> 35, math.random(5, 10) -> 5.
        let mut g = Lrand48::new();
        g.seed(42);
        let r = g.next_unit();
        assert_eq!(
            format!("{:.14}", r).trim_end_matches('0'),
            "0.74452500033403"
        );
        assert_eq!((g.next_unit() * 100.0).floor() + 1.0, 35.0);
        assert_eq!((g.next_unit() * 6.0).floor() + 5.0, 5.0);
    }
}
