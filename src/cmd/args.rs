//! Argument parsing helpers shared by every command parser.
//!
//! Numbers are parsed with Redis's own rules: integers are strict (no `+`, no spaces, no leading
//! zeros), floats follow `strtod` but refuse NaN and trailing garbage.

use crate::error::CmdError;

/// A cursor over a command's arguments (the command name excluded) that hands out owned values.
pub struct Args {
    items: std::vec::IntoIter<Vec<u8>>,
    /// Lower-case command name, for error texts.
    pub name: &'static str,
}

impl Args {
    /// Wraps the arguments that follow the command name.
    pub fn new(name: &'static str, args: Vec<Vec<u8>>) -> Args {
        Args {
            items: args.into_iter(),
            name,
        }
    }

    /// Wraps a whole command, skipping its name without moving the other arguments.
    pub fn after_name(name: &'static str, args: Vec<Vec<u8>>) -> Args {
        let mut items = args.into_iter();
        items.next();
        Args { items, name }
    }

    /// Arguments not consumed yet.
    pub fn remaining(&self) -> usize {
        self.items.len()
    }

    /// True when every argument was consumed.
    pub fn is_empty(&self) -> bool {
        self.items.len() == 0
    }

    /// The next argument, or a syntax error if there is none.
    pub fn next_bytes(&mut self) -> Result<Vec<u8>, CmdError> {
        // A match, not `ok_or`: the error is built (and dropped) only when it is returned.
        match self.items.next() {
            Some(a) => Ok(a),
            None => Err(CmdError::Syntax),
        }
    }

    /// The next argument if any.
    pub fn next_opt(&mut self) -> Option<Vec<u8>> {
        self.items.next()
    }

    /// Peeks at the next argument.
    pub fn peek(&self) -> Option<&[u8]> {
        self.items.as_slice().first().map(|v| v.as_slice())
    }

    /// The next argument as an integer (`ERR value is not an integer or out of range`).
    pub fn next_i64(&mut self) -> Result<i64, CmdError> {
        parse_i64(&self.next_bytes()?)
    }

    /// The next argument as a float (`ERR value is not a valid float`).
    pub fn next_f64(&mut self) -> Result<f64, CmdError> {
        parse_f64(&self.next_bytes()?)
    }

    /// All remaining arguments.
    pub fn rest(&mut self) -> Vec<Vec<u8>> {
        self.items.by_ref().collect()
    }

    /// The remaining arguments as a slice, without consuming them.
    pub fn as_slice(&self) -> &[Vec<u8>] {
        self.items.as_slice()
    }

    /// Fails with a syntax error when arguments are left over.
    pub fn finish(&self) -> Result<(), CmdError> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(CmdError::Syntax)
        }
    }
}

impl Iterator for Args {
    type Item = Vec<u8>;
    fn next(&mut self) -> Option<Vec<u8>> {
        self.items.next()
    }
}

/// True when `a` equals the ASCII keyword `kw` ignoring case (`kw` must be upper case).
#[inline]
pub fn eq_kw(a: &[u8], kw: &str) -> bool {
    a.eq_ignore_ascii_case(kw.as_bytes())
}

/// Parses a Redis integer (`string2ll` rules).
pub fn parse_i64(b: &[u8]) -> Result<i64, CmdError> {
    match parse_i64_opt(b) {
        Some(n) => Ok(n),
        None => Err(CmdError::NotInteger),
    }
}

/// Parses a Redis integer, returning None when it is not one.
pub fn parse_i64_opt(b: &[u8]) -> Option<i64> {
    if b.is_empty() || b.len() > 20 {
        return None;
    }
    let (neg, digits) = if b[0] == b'-' {
        (true, &b[1..])
    } else {
        (false, b)
    };
    if digits.is_empty() {
        return None;
    }
    if digits[0] == b'0' {
        return if digits.len() == 1 && !neg {
            Some(0)
        } else {
            None
        };
    }
    let mut v: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add((c - b'0') as u64)?;
    }
    if neg {
        if v > (i64::MAX as u64) + 1 {
            None
        } else {
            Some((v as i64).wrapping_neg())
        }
    } else if v > i64::MAX as u64 {
        None
    } else {
        Some(v as i64)
    }
}

/// Parses a Redis float (`strtod` rules, no NaN, no surrounding space).
pub fn parse_f64(b: &[u8]) -> Result<f64, CmdError> {
    parse_f64_opt(b).ok_or(CmdError::NotFloat)
}

/// Parses a Redis float, returning None when it is not one.
pub fn parse_f64_opt(b: &[u8]) -> Option<f64> {
    let s = std::str::from_utf8(b).ok()?;
    if s.is_empty() || s.starts_with(char::is_whitespace) || s.ends_with(char::is_whitespace) {
        return None;
    }
    let lower = s.to_ascii_lowercase();
    let v = match lower.as_str() {
        "inf" | "+inf" | "infinity" | "+infinity" => f64::INFINITY,
        "-inf" | "-infinity" => f64::NEG_INFINITY,
        _ => {
            if lower.contains("nan") || lower.contains("inf") {
                return None;
            }
            s.parse::<f64>().ok()?
        }
    };
    if v.is_nan() {
        None
    } else {
        Some(v)
    }
}

/// Parses a blocking command's timeout as Redis does (`getTimeoutFromObjectOrReply`): seconds as
/// a float rounded up to whole ms (`in_seconds`, BLPOP/BZPOPMIN) or ms as an integer (XREAD BLOCK).
/// 0 waits forever (`None`); otherwise the timeout in ms, checked so that `now_ms + ms` fits.
pub fn parse_timeout(b: &[u8], in_seconds: bool, now_ms: i64) -> Result<Option<i64>, CmdError> {
    let out_of_range = || CmdError::err("timeout is out of range");
    let ms = if in_seconds {
        let secs = parse_f64_opt(b)
            .ok_or_else(|| CmdError::err("timeout is not a float or out of range"))?;
        let ms = (secs * 1000.0).ceil();
        if ms > i64::MAX as f64 {
            return Err(out_of_range());
        }
        // `as` saturates, so -inf lands on i64::MIN and reads as negative.
        ms as i64
    } else {
        parse_i64_opt(b)
            .ok_or_else(|| CmdError::err("timeout is not an integer or out of range"))?
    };
    if ms < 0 {
        return Err(CmdError::err("timeout is negative"));
    }
    if ms == 0 {
        return Ok(None);
    }
    if ms > i64::MAX - now_ms.max(0) {
        return Err(out_of_range());
    }
    Ok(Some(ms))
}

/// Formats an integer as Redis does.
pub fn fmt_i64(v: i64) -> Vec<u8> {
    v.to_string().into_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_follow_string2ll() {
        assert_eq!(parse_i64_opt(b"0"), Some(0));
        assert_eq!(parse_i64_opt(b"-12"), Some(-12));
        assert_eq!(parse_i64_opt(b"9223372036854775807"), Some(i64::MAX));
        assert_eq!(parse_i64_opt(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_i64_opt(b"9223372036854775808"), None);
        assert_eq!(parse_i64_opt(b"+1"), None);
        assert_eq!(parse_i64_opt(b"01"), None);
        assert_eq!(parse_i64_opt(b"-0"), None);
        assert_eq!(parse_i64_opt(b" 1"), None);
        assert_eq!(parse_i64_opt(b""), None);
        assert_eq!(parse_i64_opt(b"1.0"), None);
    }

    #[test]
    fn floats_follow_strtod_without_nan() {
        assert_eq!(parse_f64_opt(b"1.5"), Some(1.5));
        assert_eq!(parse_f64_opt(b"-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(parse_f64_opt(b"+inf"), Some(f64::INFINITY));
        assert_eq!(parse_f64_opt(b"1e3"), Some(1000.0));
        assert_eq!(parse_f64_opt(b"nan"), None);
        assert_eq!(parse_f64_opt(b" 1"), None);
        assert_eq!(parse_f64_opt(b"1x"), None);
    }
}
