//! INCRBYFLOAT arithmetic with Redis's numbers.
//!
//! Redis computes INCRBYFLOAT and HINCRBYFLOAT in C `long double`, which on x86-64 is the x87
//! extended format (64-bit significand), and prints the result with `%.17Lf` minus trailing zeros.
//! An `f64` would print `0.1` as `0.10000000000000001` where Redis prints `0.1`, so this module
//! emulates the extended format exactly: decimal text is rounded to the nearest 64-bit
//! significand (ties to even, as `strtold` does), sums are rounded the same way, and printing
//! rounds the exact binary value to 17 decimals (as glibc's `printf` does). Exactness comes from a
//! small arbitrary-precision unsigned integer; the numbers involved are at most a few thousand
//! bits (the extended exponent range), so the simple algorithms below are fast enough.

use std::cmp::Ordering;

/// Largest binary exponent of the extended format: values are below 2^16384.
const MAX_EXP2: i64 = 16384;
/// Values below 2^-16446 round to zero (half the smallest subnormal).
const MIN_EXP2: i64 = -16446;

/// Why an INCRBYFLOAT could not be computed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FloatError {
    /// An operand is not a float `strtold` accepts in full (or over/underflows).
    NotFloat,
    /// The sum is infinite (Redis refuses NaN and infinity results).
    NanOrInfinity,
}

/// Adds the float `incr` to the float `current` (both as text, `current` None for a missing key)
/// and returns the sum as Redis prints it.
pub fn add_floats(current: Option<&[u8]>, incr: &[u8]) -> Result<Vec<u8>, FloatError> {
    let a = match current {
        Some(t) => parse(t).ok_or(FloatError::NotFloat)?,
        None => Num::Finite(Ext::ZERO),
    };
    let b = parse(incr).ok_or(FloatError::NotFloat)?;
    match (a, b) {
        (Num::Finite(a), Num::Finite(b)) => {
            let sum = a.add(&b).ok_or(FloatError::NanOrInfinity)?;
            Ok(sum.format_human().into_bytes())
        }
        // inf + anything is inf or NaN: both refused.
        _ => Err(FloatError::NanOrInfinity),
    }
}

/// Parses `text` with `strtold`'s decimal rules as Redis's `string2ld` applies them; true when it
/// is a valid float (used where only validation is needed).
pub fn is_valid_float(text: &[u8]) -> bool {
    parse(text).is_some()
}

/// `Some(true)` for a finite float, `Some(false)` for an infinite one, None for no float at all.
pub fn float_is_finite(text: &[u8]) -> Option<bool> {
    parse(text).map(|n| matches!(n, Num::Finite(_)))
}

/// A parsed operand.
#[derive(Debug, Clone, Copy)]
enum Num {
    Finite(Ext),
    Inf,
}

/// An extended-precision value `(-1)^neg * mant * 2^exp`; `mant` is 0 or has its top bit set.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Ext {
    neg: bool,
    mant: u64,
    exp: i64,
}

impl Ext {
    const ZERO: Ext = Ext {
        neg: false,
        mant: 0,
        exp: 0,
    };

    /// Rounds `(-1)^neg * big * 2^exp` (plus a nonzero fraction below `big`'s last bit when
    /// `sticky`) to 64 significant bits, ties to even. None on overflow; underflow gives zero.
    fn round(neg: bool, big: &Big, exp: i64, sticky: bool) -> Option<Ext> {
        let n = big.bitlen() as i64;
        if n == 0 {
            return Some(Ext {
                neg,
                mant: 0,
                exp: 0,
            });
        }
        let (mant, exp) = if n <= 64 {
            let shift = 64 - n;
            (big.low_u64() << shift, exp - shift)
        } else {
            let shift = (n - 64) as usize;
            let m = big.shr(shift).low_u64();
            let half = big.bit(shift - 1);
            let rest = sticky || big.any_below(shift - 1);
            let mut exp = exp + shift as i64;
            let mut m = m;
            if half && (rest || m & 1 == 1) {
                m = match m.checked_add(1) {
                    Some(v) => v,
                    None => {
                        exp += 1;
                        1 << 63
                    }
                };
            }
            (m, exp)
        };
        if exp + 64 > MAX_EXP2 {
            return None;
        }
        if exp + 64 < MIN_EXP2 {
            return Some(Ext {
                neg,
                mant: 0,
                exp: 0,
            });
        }
        Some(Ext { neg, mant, exp })
    }

    fn from_i64(v: i64) -> Ext {
        let neg = v < 0;
        let m = v.unsigned_abs();
        if m == 0 {
            return Ext::ZERO;
        }
        let lz = m.leading_zeros() as i64;
        Ext {
            neg,
            mant: m << lz,
            exp: -lz,
        }
    }

    /// The correctly rounded sum; None when it overflows to infinity.
    fn add(&self, other: &Ext) -> Option<Ext> {
        if self.mant == 0 {
            return Some(if other.mant == 0 {
                Ext {
                    neg: self.neg && other.neg,
                    ..Ext::ZERO
                }
            } else {
                *other
            });
        }
        if other.mant == 0 {
            return Some(*self);
        }
        let emin = self.exp.min(other.exp);
        let a = Big::from_u64(self.mant).shl((self.exp - emin) as usize);
        let b = Big::from_u64(other.mant).shl((other.exp - emin) as usize);
        if self.neg == other.neg {
            return Ext::round(self.neg, &a.add(&b), emin, false);
        }
        match a.cmp(&b) {
            Ordering::Equal => Some(Ext::ZERO),
            Ordering::Greater => Ext::round(self.neg, &a.sub(&b), emin, false),
            Ordering::Less => Ext::round(other.neg, &b.sub(&a), emin, false),
        }
    }

    /// `%.17Lf` with trailing zeros (and a bare point) removed, and `-0` printed as `0`.
    fn format_human(&self) -> String {
        const FRAC: usize = 17;
        let scaled = Big::from_u64(self.mant).mul_pow10(FRAC);
        let q = if self.exp >= 0 {
            scaled.shl(self.exp as usize)
        } else {
            let sh = (-self.exp) as usize;
            let mut q = scaled.shr(sh);
            let half = scaled.bit(sh - 1);
            let rest = scaled.any_below(sh - 1);
            if half && (rest || q.bit(0)) {
                q = q.add(&Big::from_u64(1));
            }
            q
        };
        let mut digits = q.to_decimal();
        if digits.len() <= FRAC {
            digits = format!("{}{}", "0".repeat(FRAC + 1 - digits.len()), digits);
        }
        let (int, frac) = digits.split_at(digits.len() - FRAC);
        let frac = frac.trim_end_matches('0');
        let mut out = String::with_capacity(digits.len() + 2);
        if self.neg {
            out.push('-');
        }
        out.push_str(int);
        if !frac.is_empty() {
            out.push('.');
            out.push_str(frac);
        }
        if out == "-0" {
            out = "0".into();
        }
        out
    }
}

/// `string2ld`: the whole text must be one `strtold` number, without leading space, NaN,
/// overflow to infinity or underflow to zero.
fn parse(text: &[u8]) -> Option<Num> {
    if text.is_empty() || text.len() >= 5 * 1024 {
        return None;
    }
    if matches!(text[0], b' ' | b'\t' | b'\n' | b'\r' | 0x0b | 0x0c) {
        return None;
    }
    if let Ok(i) = std::str::from_utf8(text)
        .map_err(|_| ())
        .and_then(|s| s.parse::<i64>().map_err(|_| ()))
    {
        // Fast path for plain integers (Rust accepts a leading '+', as strtold does).
        return Some(Num::Finite(Ext::from_i64(i)));
    }
    let (neg, rest) = match text[0] {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    if rest.eq_ignore_ascii_case(b"inf") || rest.eq_ignore_ascii_case(b"infinity") {
        return Some(Num::Inf);
    }
    if rest.len() > 2 && rest[0] == b'0' && (rest[1] == b'x' || rest[1] == b'X') {
        return parse_hex(neg, &rest[2..]);
    }
    let mut digits: Vec<u8> = Vec::new();
    let mut frac_digits: i64 = 0;
    let mut seen_digit = false;
    let mut i = 0;
    while i < rest.len() && rest[i].is_ascii_digit() {
        seen_digit = true;
        push_digit(&mut digits, rest[i]);
        i += 1;
    }
    if i < rest.len() && rest[i] == b'.' {
        i += 1;
        while i < rest.len() && rest[i].is_ascii_digit() {
            seen_digit = true;
            push_digit(&mut digits, rest[i]);
            frac_digits += 1;
            i += 1;
        }
    }
    if !seen_digit {
        return None;
    }
    let mut exp10: i64 = 0;
    if i < rest.len() && (rest[i] == b'e' || rest[i] == b'E') {
        i += 1;
        let eneg = match rest.get(i) {
            Some(b'-') => {
                i += 1;
                true
            }
            Some(b'+') => {
                i += 1;
                false
            }
            _ => false,
        };
        let start = i;
        while i < rest.len() && rest[i].is_ascii_digit() {
            exp10 = (exp10 * 10 + (rest[i] - b'0') as i64).min(1_000_000);
            i += 1;
        }
        if i == start {
            return None;
        }
        if eneg {
            exp10 = -exp10;
        }
    }
    if i != rest.len() {
        return None;
    }
    if digits.is_empty() {
        return Some(Num::Finite(Ext { neg, ..Ext::ZERO }));
    }
    let k10 = exp10 - frac_digits;
    // Magnitude is about 10^(digits + k10): settle what is surely out of range cheaply.
    let magnitude = digits.len() as i64 + k10;
    if magnitude > 4934 {
        return None;
    }
    if magnitude < -4952 {
        return None;
    }
    let d = Big::from_decimal(&digits);
    let v = if k10 >= 0 {
        Ext::round(neg, &d.mul_pow10(k10 as usize), 0, false)?
    } else {
        let p = Big::from_u64(1).mul_pow10((-k10) as usize);
        // Enough quotient bits for a 64-bit significand plus rounding bits.
        let s = (p.bitlen() as i64 - d.bitlen() as i64 + 66).max(0) as usize;
        let (q, r) = d.shl(s).divmod(&p);
        Ext::round(neg, &q, -(s as i64), !r.is_zero())?
    };
    if v.mant == 0 {
        // Underflow to zero is an ERANGE that Redis refuses.
        return None;
    }
    Some(Num::Finite(v))
}

/// The hexadecimal form `strtold` also reads (after `0x`): hex digits with an optional point and
/// an optional binary exponent `p[+-]digits`. Exact in binary, so only the final rounding applies.
fn parse_hex(neg: bool, s: &[u8]) -> Option<Num> {
    let mut big = Big(Vec::new());
    let mut exp2: i64 = 0;
    let mut seen_digit = false;
    let mut i = 0;
    let mut in_frac = false;
    while i < s.len() {
        let c = s[i];
        if c == b'.' && !in_frac {
            in_frac = true;
        } else if let Some(d) = (c as char).to_digit(16) {
            seen_digit = true;
            big = big.shl(4).add(&Big::from_u64(d as u64));
            if in_frac {
                exp2 -= 4;
            }
        } else {
            break;
        }
        i += 1;
    }
    if !seen_digit {
        return None;
    }
    if i < s.len() && (s[i] == b'p' || s[i] == b'P') {
        i += 1;
        let eneg = match s.get(i) {
            Some(b'-') => {
                i += 1;
                true
            }
            Some(b'+') => {
                i += 1;
                false
            }
            _ => false,
        };
        let start = i;
        let mut e: i64 = 0;
        while i < s.len() && s[i].is_ascii_digit() {
            e = (e * 10 + (s[i] - b'0') as i64).min(1_000_000);
            i += 1;
        }
        if i == start {
            return None;
        }
        exp2 += if eneg { -e } else { e };
    }
    if i != s.len() {
        return None;
    }
    if big.is_zero() {
        return Some(Num::Finite(Ext { neg, ..Ext::ZERO }));
    }
    let v = Ext::round(neg, &big, exp2, false)?;
    if v.mant == 0 {
        return None;
    }
    Some(Num::Finite(v))
}

fn push_digit(digits: &mut Vec<u8>, c: u8) {
    // Leading zeros carry no value.
    if !(digits.is_empty() && c == b'0') {
        digits.push(c - b'0');
    }
}

/// A minimal arbitrary-precision unsigned integer (little-endian 32-bit limbs, no trailing zero
/// limbs).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Big(Vec<u32>);

impl Big {
    fn from_u64(v: u64) -> Big {
        let mut b = Big(vec![v as u32, (v >> 32) as u32]);
        b.trim();
        b
    }

    fn from_decimal(digits: &[u8]) -> Big {
        let mut b = Big(Vec::new());
        for chunk in digits.chunks(9) {
            let mut v = 0u32;
            for &d in chunk {
                v = v * 10 + d as u32;
            }
            b = b
                .mul_small(10u32.pow(chunk.len() as u32))
                .add(&Big::from_u64(v as u64));
        }
        b
    }

    fn trim(&mut self) {
        while self.0.last() == Some(&0) {
            self.0.pop();
        }
    }

    fn is_zero(&self) -> bool {
        self.0.is_empty()
    }

    fn bitlen(&self) -> usize {
        match self.0.last() {
            None => 0,
            Some(&top) => self.0.len() * 32 - top.leading_zeros() as usize,
        }
    }

    fn bit(&self, i: usize) -> bool {
        self.0
            .get(i / 32)
            .is_some_and(|&l| (l >> (i % 32)) & 1 == 1)
    }

    /// True when any bit below position `i` is set.
    fn any_below(&self, i: usize) -> bool {
        let limbs = i / 32;
        if self.0.iter().take(limbs).any(|&l| l != 0) {
            return true;
        }
        let bits = i % 32;
        bits > 0
            && self
                .0
                .get(limbs)
                .is_some_and(|&l| l & ((1u32 << bits) - 1) != 0)
    }

    fn low_u64(&self) -> u64 {
        let lo = self.0.first().copied().unwrap_or(0) as u64;
        let hi = self.0.get(1).copied().unwrap_or(0) as u64;
        lo | (hi << 32)
    }

    fn shl(&self, n: usize) -> Big {
        if self.is_zero() {
            return self.clone();
        }
        let (limbs, bits) = (n / 32, n % 32);
        let mut out = vec![0u32; limbs];
        if bits == 0 {
            out.extend_from_slice(&self.0);
        } else {
            let mut carry = 0u32;
            for &l in &self.0 {
                out.push((l << bits) | carry);
                carry = l >> (32 - bits);
            }
            out.push(carry);
        }
        let mut b = Big(out);
        b.trim();
        b
    }

    fn shr(&self, n: usize) -> Big {
        let (limbs, bits) = (n / 32, n % 32);
        if limbs >= self.0.len() {
            return Big(Vec::new());
        }
        let src = &self.0[limbs..];
        let mut out = Vec::with_capacity(src.len());
        for (i, &l) in src.iter().enumerate() {
            let hi = if bits == 0 {
                0
            } else {
                src.get(i + 1).map_or(0, |&h| h << (32 - bits))
            };
            out.push((l >> bits) | hi);
        }
        let mut b = Big(out);
        b.trim();
        b
    }

    fn add(&self, other: &Big) -> Big {
        let n = self.0.len().max(other.0.len());
        let mut out = Vec::with_capacity(n + 1);
        let mut carry = 0u64;
        for i in 0..n {
            let s = self.0.get(i).copied().unwrap_or(0) as u64
                + other.0.get(i).copied().unwrap_or(0) as u64
                + carry;
            out.push(s as u32);
            carry = s >> 32;
        }
        if carry > 0 {
            out.push(carry as u32);
        }
        let mut b = Big(out);
        b.trim();
        b
    }

    /// `self - other`; the caller guarantees `self >= other`.
    fn sub(&self, other: &Big) -> Big {
        let mut out = Vec::with_capacity(self.0.len());
        let mut borrow = 0i64;
        for i in 0..self.0.len() {
            let mut d = self.0[i] as i64 - other.0.get(i).copied().unwrap_or(0) as i64 - borrow;
            borrow = 0;
            if d < 0 {
                d += 1 << 32;
                borrow = 1;
            }
            out.push(d as u32);
        }
        let mut b = Big(out);
        b.trim();
        b
    }

    fn cmp(&self, other: &Big) -> Ordering {
        self.0
            .len()
            .cmp(&other.0.len())
            .then_with(|| self.0.iter().rev().cmp(other.0.iter().rev()))
    }

    fn mul_small(&self, m: u32) -> Big {
        let mut out = Vec::with_capacity(self.0.len() + 1);
        let mut carry = 0u64;
        for &l in &self.0 {
            let p = l as u64 * m as u64 + carry;
            out.push(p as u32);
            carry = p >> 32;
        }
        if carry > 0 {
            out.push(carry as u32);
        }
        let mut b = Big(out);
        b.trim();
        b
    }

    fn mul_pow10(&self, mut n: usize) -> Big {
        let mut b = self.clone();
        while n >= 9 {
            b = b.mul_small(1_000_000_000);
            n -= 9;
        }
        if n > 0 {
            b = b.mul_small(10u32.pow(n as u32));
        }
        b
    }

    /// Quotient and remainder by shift-and-subtract: cheap here because the quotients this module
    /// needs are only a few dozen bits long.
    fn divmod(&self, d: &Big) -> (Big, Big) {
        let mut rem = self.clone();
        let (nb, db) = (self.bitlen(), d.bitlen());
        if db == 0 || nb < db {
            return (Big(Vec::new()), rem);
        }
        let mut q = vec![0u32; (nb - db) / 32 + 1];
        for i in (0..=nb - db).rev() {
            let shifted = d.shl(i);
            if rem.cmp(&shifted) != Ordering::Less {
                rem = rem.sub(&shifted);
                q[i / 32] |= 1 << (i % 32);
            }
        }
        let mut q = Big(q);
        q.trim();
        (q, rem)
    }

    fn to_decimal(&self) -> String {
        if self.is_zero() {
            return "0".into();
        }
        let mut chunks = Vec::new();
        let mut cur = self.0.clone();
        while !cur.is_empty() {
            let mut rem = 0u64;
            for l in cur.iter_mut().rev() {
                let v = (rem << 32) | *l as u64;
                *l = (v / 1_000_000_000) as u32;
                rem = v % 1_000_000_000;
            }
            while cur.last() == Some(&0) {
                cur.pop();
            }
            chunks.push(rem as u32);
        }
        let mut s = String::new();
        for (i, c) in chunks.iter().rev().enumerate() {
            if i == 0 {
                s.push_str(&c.to_string());
            } else {
                s.push_str(&format!("{:09}", c));
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn add(a: Option<&str>, b: &str) -> Result<String, FloatError> {
        add_floats(a.map(|s| s.as_bytes()), b.as_bytes()).map(|v| String::from_utf8(v).unwrap())
    }

    #[test]
    fn prints_like_long_double_percent_17lf() {
        assert_eq!(add(None, "0.1").unwrap(), "0.1");
        assert_eq!(add(Some("10.5"), "0.1").unwrap(), "10.6");
        assert_eq!(add(None, "1e20").unwrap(), "100000000000000000000");
        assert_eq!(add(Some("5.0e3"), "2.0e2").unwrap(), "5200");
        assert_eq!(add(Some("3"), "-3").unwrap(), "0");
        assert_eq!(add(Some("-0"), "-0").unwrap(), "0");
        assert_eq!(add(Some("1"), "-1.5").unwrap(), "-0.5");
        assert_eq!(add(None, "0.0000000000000000001").unwrap(), "0");
        assert_eq!(
            add(None, "1.23456789012345678901").unwrap(),
            "1.23456789012345679"
        );
        assert_eq!(
            add(Some("9223372036854775807"), "1").unwrap(),
            "9223372036854775808"
        );
    }

    #[test]
    fn refuses_what_redis_refuses() {
        assert_eq!(add(None, "abc"), Err(FloatError::NotFloat));
        assert_eq!(add(None, " 1"), Err(FloatError::NotFloat));
        assert_eq!(add(None, "1 "), Err(FloatError::NotFloat));
        assert_eq!(add(None, "nan"), Err(FloatError::NotFloat));
        assert_eq!(add(None, "1e"), Err(FloatError::NotFloat));
        assert_eq!(add(None, "1e5000"), Err(FloatError::NotFloat));
        assert_eq!(add(None, "1e-5000"), Err(FloatError::NotFloat));
        assert_eq!(add(None, "inf"), Err(FloatError::NanOrInfinity));
        assert_eq!(
            add(Some("1e4932"), "1e4932"),
            Err(FloatError::NanOrInfinity)
        );
        assert_eq!(add(Some("0x10"), "0.1").unwrap(), "16.1");
        assert_eq!(add(None, "-0x1.8p1").unwrap(), "-3");
        assert_eq!(add(None, "0x.8"), Ok("0.5".into()));
        assert_eq!(add(None, "0x"), Err(FloatError::NotFloat));
        assert_eq!(add(None, "0x1p"), Err(FloatError::NotFloat));
        assert!(is_valid_float(b"+.5"));
        assert!(is_valid_float(b"5."));
        assert!(!is_valid_float(b"."));
    }
}
