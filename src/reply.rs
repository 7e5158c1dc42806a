//! The reply value every command produces.
//!
//! A reply is built once, with its RESP3 type, and shaped for the client's protocol at the edge
//! (`src/py` for in-process clients, the RESP encoder for sockets). RESP2 flattens maps into arrays,
//! turns sets into arrays, doubles into bulk strings and booleans into integers.

use std::borrow::Cow;

/// One reply, typed as RESP3 types it.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// `+OK`-style simple string.
    Status(Cow<'static, str>),
    /// An error reply; the text carries Redis's prefix (`ERR ...`, `WRONGTYPE ...`).
    Error(String),
    /// `:n`
    Int(i64),
    /// `$n` bulk string.
    Bulk(Vec<u8>),
    /// The null bulk string (`$-1` in RESP2, `_` in RESP3).
    Nil,
    /// The null array (`*-1` in RESP2, `_` in RESP3).
    NilArray,
    /// `*n`
    Array(Vec<Reply>),
    /// `%n` in RESP3, a flat array in RESP2.
    Map(Vec<(Reply, Reply)>),
    /// `~n` in RESP3, an array in RESP2.
    Set(Vec<Reply>),
    /// `,d` in RESP3, a bulk string in RESP2.
    Double(f64),
    /// `#t`/`#f` in RESP3, `:1`/`:0` in RESP2.
    Bool(bool),
    /// `=n` verbatim string (`txt`), a bulk string in RESP2.
    Verbatim(Vec<u8>),
    /// `(n` big number in RESP3, a bulk string in RESP2.
    BigNumber(String),
    /// `>n` out-of-band push (pub/sub messages, invalidations); an array in RESP2.
    Push(Vec<Reply>),
}

impl Reply {
    /// The `+OK` status.
    pub const fn ok() -> Reply {
        Reply::Status(Cow::Borrowed("OK"))
    }

    /// A simple-string reply from static text.
    pub const fn status(s: &'static str) -> Reply {
        Reply::Status(Cow::Borrowed(s))
    }

    /// A bulk string copied from a byte slice.
    pub fn bulk(b: &[u8]) -> Reply {
        Reply::Bulk(b.to_vec())
    }

    /// A bulk string or the null bulk string.
    pub fn opt_bulk(b: Option<&[u8]>) -> Reply {
        match b {
            Some(b) => Reply::Bulk(b.to_vec()),
            None => Reply::Nil,
        }
    }

    /// An array of bulk strings.
    pub fn bulks<I, B>(items: I) -> Reply
    where
        I: IntoIterator<Item = B>,
        B: AsRef<[u8]>,
    {
        Reply::Array(
            items
                .into_iter()
                .map(|b| Reply::Bulk(b.as_ref().to_vec()))
                .collect(),
        )
    }

    /// A set of bulk strings (RESP3 `~`).
    pub fn bulk_set<I, B>(items: I) -> Reply
    where
        I: IntoIterator<Item = B>,
        B: AsRef<[u8]>,
    {
        Reply::Set(
            items
                .into_iter()
                .map(|b| Reply::Bulk(b.as_ref().to_vec()))
                .collect(),
        )
    }

    /// True for error replies.
    pub fn is_error(&self) -> bool {
        matches!(self, Reply::Error(_))
    }
}

/// Formats a double as Redis 7.2 does in replies (`d2string`): `nan`/`inf`/`-inf`, `-0`,
/// integral values within +-2^62 as integers, anything else as the shortest round-trip digits laid
/// out the way Redis's `fpconv_dtoa` lays them out (plain up to a few zeros, else `1.5e-7`).
pub fn format_double(d: f64) -> String {
    if d.is_nan() {
        return "nan".into();
    }
    if d.is_infinite() {
        return if d > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if d == 0.0 {
        return if d.is_sign_negative() {
            "-0".into()
        } else {
            "0".into()
        };
    }
    const LIMIT: f64 = 4_611_686_018_427_387_904.0; // 2^62, Redis's double2ll bound
    if (-LIMIT..=LIMIT).contains(&d) && d == d.trunc() {
        return format!("{}", d as i64);
    }
    // `{:e}` gives the shortest round-trip digits as "d.ddde[-]x".
    let sci = format!("{:e}", d.abs());
    let (mant, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let digits: String = mant.chars().filter(|c| *c != '.').collect();
    let e10: i32 = exp.parse().unwrap_or(0);
    let nd = digits.len() as i32;
    let k = e10 - (nd - 1); // value = digits * 10^k
    let mut out = String::with_capacity(nd as usize + 8);
    if d < 0.0 {
        out.push('-');
    }
    let abs_exp = e10.abs();
    if k >= 0 && abs_exp < nd + 7 {
        out.push_str(&digits);
        out.extend(std::iter::repeat_n('0', k as usize));
    } else if k < 0 && (k > -7 || abs_exp < 4) {
        let offset = nd + k;
        if offset <= 0 {
            out.push_str("0.");
            out.extend(std::iter::repeat_n('0', (-offset) as usize));
            out.push_str(&digits);
        } else {
            out.push_str(&digits[..offset as usize]);
            out.push('.');
            out.push_str(&digits[offset as usize..]);
        }
    } else {
        out.push_str(&digits[..1]);
        if nd > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push(if e10 < 0 { '-' } else { '+' });
        out.push_str(&abs_exp.to_string());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_print_like_redis_7_2() {
        assert_eq!(format_double(0.1), "0.1");
        assert_eq!(format_double(3.0), "3");
        assert_eq!(format_double(-2.5), "-2.5");
        assert_eq!(format_double(f64::INFINITY), "inf");
        assert_eq!(format_double(f64::NEG_INFINITY), "-inf");
        assert_eq!(format_double(1e20), "1e+20");
        assert_eq!(format_double(1.5e-7), "1.5e-7");
        assert_eq!(format_double(0.0001), "0.0001");
        assert_eq!(format_double(0.000001), "0.000001");
        assert_eq!(format_double(1e-7), "1e-7");
        assert_eq!(format_double(0.00012345), "1.2345e-4");
        assert_eq!(format_double(0.0012345), "0.0012345");
        assert_eq!(format_double(-0.0), "-0");
        assert_eq!(format_double(1e18), "1000000000000000000");
        assert_eq!(format_double(1e19), "1e+19");
        assert_eq!(format_double(1.5e300), "1.5e+300");
        assert_eq!(format_double(12345.678), "12345.678");
    }
}
