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

/// Formats a double as Redis 7.2 does in replies: shortest round-trip text, `inf`/`-inf`/`nan`.
pub fn format_double(d: f64) -> String {
    if d.is_nan() {
        return "nan".into();
    }
    if d.is_infinite() {
        return if d > 0.0 { "inf".into() } else { "-inf".into() };
    }
    if d == d.trunc() && d.abs() < 1e17 {
        // Integral values print without a fraction, as `%.17g` does ("3", not "3.0").
        return format!("{}", d as i64);
    }
    // Rust's `{}` gives the shortest round-trip digits but never an exponent; Redis uses `%.17g`
    // style exponents for very large or small magnitudes.
    let exp = d.abs().log10().floor() as i32;
    if !(-5..17).contains(&exp) {
        let s = format!("{:e}", d); // e.g. "1.5e-7"
        let (mant, e) = s.split_once('e').unwrap_or((&s, "0"));
        let e: i32 = e.parse().unwrap_or(0);
        let sign = if e < 0 { '-' } else { '+' };
        return format!("{}e{}{:02}", mant, sign, e.abs());
    }
    format!("{}", d)
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
        assert_eq!(format_double(1.5e-7), "1.5e-07");
        assert_eq!(format_double(0.0001), "0.0001");
    }
}
