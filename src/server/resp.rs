//! RESP parsing (requests) and encoding (replies) for the socket server.
//!
//! The parser is incremental (it reports "need more bytes" without consuming), enforces Redis's
//! limits before allocating (`proto-max-bulk-len`, multibulk length, inline size), and reports
//! protocol errors with Redis's texts; the connection then replies and closes.

use crate::reply::{format_double, Reply};

/// Largest multibulk count Redis accepts.
pub const MAX_MULTIBULK: i64 = 1024 * 1024;
/// Largest inline request.
pub const MAX_INLINE: usize = 64 * 1024;

/// Outcome of one parse attempt.
#[derive(Debug, PartialEq)]
pub enum Parsed {
    /// A full command and the number of bytes it used.
    Command(Vec<Vec<u8>>, usize),
    /// An empty inline line (ignored), and its length.
    Empty(usize),
    /// More bytes are needed.
    Incomplete,
    /// A protocol error (Redis's text without the `ERR ` prefix).
    Error(String),
}

fn find_crlf(buf: &[u8], from: usize) -> Option<usize> {
    buf.get(from..)?
        .windows(2)
        .position(|w| w == b"\r\n")
        .map(|p| p + from)
}

fn parse_len(b: &[u8]) -> Option<i64> {
    crate::cmd::args::parse_i64_opt(b)
}

/// The length line starting at `from` (after `*` or `$`): its value (`None` when it is not a
/// Redis integer) and where its CRLF starts, or `None` while the CRLF has not arrived.
#[inline]
fn len_line(buf: &[u8], from: usize) -> Option<(Option<i64>, usize)> {
    if let Some((n, end)) = plain_len(buf, from) {
        return Some((Some(n), end));
    }
    let end = find_crlf(buf, from)?;
    Some((parse_len(&buf[from..end]), end))
}

/// The common case of a length line, read in one pass: digits from `from` (no sign, no leading
/// zero, at most 18) and CRLF. Returns the length and where its CRLF starts; anything else (a
/// sign, a partial line, junk) is `None` and goes the general way, whose verdicts it shares.
#[inline]
fn plain_len(buf: &[u8], from: usize) -> Option<(i64, usize)> {
    let digits = buf.get(from..)?;
    let mut n: i64 = 0;
    let mut i = 0;
    while let Some(&c) = digits.get(i) {
        if !c.is_ascii_digit() {
            break;
        }
        if i == 18 || (i == 1 && n == 0) {
            return None;
        }
        n = n * 10 + (c - b'0') as i64;
        i += 1;
    }
    if i > 0 && digits.get(i..i + 2) == Some(b"\r\n") {
        Some((n, from + i))
    } else {
        None
    }
}

/// Parses one request from the front of `buf`.
pub fn parse(buf: &[u8], max_bulk: i64) -> Parsed {
    if buf.is_empty() {
        return Parsed::Incomplete;
    }
    if buf[0] != b'*' {
        return parse_inline(buf);
    }
    let Some((n, end)) = len_line(buf, 1) else {
        if buf.len() > MAX_INLINE {
            return Parsed::Error("Protocol error: too big mbulk count string".into());
        }
        return Parsed::Incomplete;
    };
    let Some(n) = n else {
        return Parsed::Error("Protocol error: invalid multibulk length".into());
    };
    if n > MAX_MULTIBULK {
        return Parsed::Error("Protocol error: invalid multibulk length".into());
    }
    let mut pos = end + 2;
    if n <= 0 {
        return Parsed::Empty(pos);
    }
    let mut args = Vec::with_capacity((n as usize).min(1024));
    for _ in 0..n {
        if pos >= buf.len() {
            return Parsed::Incomplete;
        }
        if buf[pos] != b'$' {
            return Parsed::Error(format!(
                "Protocol error: expected '$', got '{}'",
                buf[pos] as char
            ));
        }
        let Some((len, end)) = len_line(buf, pos + 1) else {
            if buf.len() - pos > 32 {
                return Parsed::Error("Protocol error: too big bulk count string".into());
            }
            return Parsed::Incomplete;
        };
        let len = match len {
            Some(l) if (0..=max_bulk).contains(&l) => l as usize,
            _ => return Parsed::Error("Protocol error: invalid bulk length".into()),
        };
        let start = end + 2;
        let Some(stop) = start.checked_add(len) else {
            return Parsed::Error("Protocol error: invalid bulk length".into());
        };
        if buf.len() < stop + 2 {
            return Parsed::Incomplete;
        }
        if &buf[stop..stop + 2] != b"\r\n" {
            return Parsed::Error("Protocol error: expected CRLF after bulk".into());
        }
        args.push(buf[start..stop].to_vec());
        pos = stop + 2;
    }
    Parsed::Command(args, pos)
}

fn parse_inline(buf: &[u8]) -> Parsed {
    let Some(nl) = buf.iter().position(|&c| c == b'\n') else {
        if buf.len() > MAX_INLINE {
            return Parsed::Error("Protocol error: too big inline request".into());
        }
        return Parsed::Incomplete;
    };
    let line = if nl > 0 && buf[nl - 1] == b'\r' {
        &buf[..nl - 1]
    } else {
        &buf[..nl]
    };
    match split_args(line) {
        Some(args) if args.is_empty() => Parsed::Empty(nl + 1),
        Some(args) => Parsed::Command(args, nl + 1),
        None => Parsed::Error("Protocol error: unbalanced quotes in request".into()),
    }
}

/// Splits an inline request into words, honouring double and single quotes as redis-cli sends.
fn split_args(line: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut out = Vec::new();
    let mut i = 0;
    while i < line.len() {
        while i < line.len() && line[i].is_ascii_whitespace() {
            i += 1;
        }
        if i >= line.len() {
            break;
        }
        let mut cur = Vec::new();
        let quote = match line[i] {
            b'"' | b'\'' => {
                i += 1;
                Some(line[i - 1])
            }
            _ => None,
        };
        loop {
            if i >= line.len() {
                if quote.is_some() {
                    return None;
                }
                break;
            }
            let c = line[i];
            match quote {
                Some(q) if c == q => {
                    i += 1;
                    if i < line.len() && !line[i].is_ascii_whitespace() {
                        return None;
                    }
                    break;
                }
                Some(b'"') if c == b'\\' && i + 1 < line.len() => {
                    let n = line[i + 1];
                    let (byte, used) = match n {
                        b'n' => (b'\n', 2),
                        b'r' => (b'\r', 2),
                        b't' => (b'\t', 2),
                        b'x' if i + 3 < line.len() => {
                            match u8::from_str_radix(
                                std::str::from_utf8(&line[i + 2..i + 4]).unwrap_or("zz"),
                                16,
                            ) {
                                Ok(v) => (v, 4),
                                Err(_) => (b'x', 2),
                            }
                        }
                        other => (other, 2),
                    };
                    cur.push(byte);
                    i += used;
                }
                None if c.is_ascii_whitespace() => break,
                _ => {
                    cur.push(c);
                    i += 1;
                }
            }
        }
        out.push(cur);
    }
    Some(out)
}

/// Appends the RESP encoding of `r` for protocol `resp` to `out`.
pub fn encode(r: &Reply, resp: u8, out: &mut Vec<u8>) {
    match r {
        Reply::Status(s) => {
            out.push(b'+');
            out.extend_from_slice(s.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        Reply::Error(e) => {
            out.push(b'-');
            out.extend(
                e.bytes()
                    .map(|c| if c == b'\r' || c == b'\n' { b' ' } else { c }),
            );
            out.extend_from_slice(b"\r\n");
        }
        Reply::Int(i) => {
            out.push(b':');
            out.extend_from_slice(itoa::Buffer::new().format(*i).as_bytes());
            out.extend_from_slice(b"\r\n");
        }
        Reply::Bulk(b) => bulk(b, out),
        Reply::Nil => out.extend_from_slice(if resp == 3 { b"_\r\n" } else { b"$-1\r\n" }),
        Reply::NilArray => out.extend_from_slice(if resp == 3 { b"_\r\n" } else { b"*-1\r\n" }),
        Reply::Array(items) => {
            header(b'*', items.len(), out);
            items.iter().for_each(|i| encode(i, resp, out));
        }
        Reply::Push(items) => {
            header(if resp == 3 { b'>' } else { b'*' }, items.len(), out);
            items.iter().for_each(|i| encode(i, resp, out));
        }
        Reply::Set(items) => {
            header(if resp == 3 { b'~' } else { b'*' }, items.len(), out);
            items.iter().for_each(|i| encode(i, resp, out));
        }
        Reply::Map(pairs) => {
            if resp == 3 {
                header(b'%', pairs.len(), out);
            } else {
                header(b'*', pairs.len() * 2, out);
            }
            for (k, v) in pairs {
                encode(k, resp, out);
                encode(v, resp, out);
            }
        }
        Reply::Double(d) => {
            let s = format_double(*d);
            if resp == 3 {
                out.push(b',');
                out.extend_from_slice(s.as_bytes());
                out.extend_from_slice(b"\r\n");
            } else {
                bulk(s.as_bytes(), out);
            }
        }
        Reply::Bool(b) => {
            if resp == 3 {
                out.extend_from_slice(if *b { b"#t\r\n" } else { b"#f\r\n" });
            } else {
                out.extend_from_slice(if *b { b":1\r\n" } else { b":0\r\n" });
            }
        }
        Reply::Verbatim(b) => {
            if resp == 3 {
                header(b'=', b.len() + 4, out);
                out.extend_from_slice(b"txt:");
                out.extend_from_slice(b);
                out.extend_from_slice(b"\r\n");
            } else {
                bulk(b, out);
            }
        }
        Reply::BigNumber(s) => {
            if resp == 3 {
                out.push(b'(');
                out.extend_from_slice(s.as_bytes());
                out.extend_from_slice(b"\r\n");
            } else {
                bulk(s.as_bytes(), out);
            }
        }
    }
}

fn header(kind: u8, n: usize, out: &mut Vec<u8>) {
    let mut digits = itoa::Buffer::new();
    let digits = digits.format(n).as_bytes();
    out.reserve(digits.len() + 3);
    out.push(kind);
    out.extend_from_slice(digits);
    out.extend_from_slice(b"\r\n");
}

fn bulk(b: &[u8], out: &mut Vec<u8>) {
    out.reserve(b.len() + 24);
    header(b'$', b.len(), out);
    out.extend_from_slice(b);
    out.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_lengths_agree_with_the_general_parse() {
        let lines: &[&[u8]] = &[
            b"0\r\n",
            b"7\r\n",
            b"42\r\n",
            b"007\r\n",
            b"01\r\n",
            b"-1\r\n",
            b"+5\r\n",
            b"123456789012345678\r\n",
            b"1234567890123456789\r\n",
            b"99999999999999999999\r\n",
            b"12\n",
            b"12\r",
            b"12",
            b"\r\n",
            b"1 2\r\n",
            b"3x\r\n",
            b"",
        ];
        for line in lines {
            let general = find_crlf(line, 0).map(|end| (parse_len(&line[..end]), end));
            match plain_len(line, 0) {
                // Where the fast path answers, the general one gives the same length and end.
                Some((n, end)) => assert_eq!(general, Some((Some(n), end)), "{line:?}"),
                // It declines only what is not a plain length of up to 18 digits.
                None => assert!(
                    !matches!(general, Some((Some(n), end))
                        if end <= 18 && n >= 0 && n.to_string().as_bytes() == &line[..end]),
                    "{line:?} declined"
                ),
            }
        }
        // As part of a request: the same commands, and the same errors.
        for req in [
            &b"*1\r\n$03\r\nGET\r\n"[..],
            b"*01\r\n$3\r\nGET\r\n",
            b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n",
        ] {
            assert!(
                !matches!(parse(req, 1 << 20), Parsed::Incomplete),
                "{req:?}"
            );
        }
    }

    #[test]
    fn parses_multibulk_incrementally() {
        let full = b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n";
        for cut in 0..full.len() {
            assert_eq!(
                parse(&full[..cut], 1 << 20),
                Parsed::Incomplete,
                "cut {cut}"
            );
        }
        assert_eq!(
            parse(full, 1 << 20),
            Parsed::Command(vec![b"GET".to_vec(), b"k".to_vec()], full.len())
        );
    }

    #[test]
    fn rejects_bad_lengths_before_allocating() {
        assert!(matches!(
            parse(b"*99999999999\r\n", 1 << 20),
            Parsed::Error(_)
        ));
        assert!(matches!(
            parse(b"*1\r\n$999999999\r\n", 1 << 20),
            Parsed::Error(_)
        ));
        assert!(matches!(parse(b"*1\r\n$-5\r\n", 1 << 20), Parsed::Error(_)));
        assert!(matches!(parse(b"*1\r\nx\r\n", 1 << 20), Parsed::Error(_)));
        assert!(matches!(
            parse(b"*1\r\n$1\r\nab\r\n", 1 << 20),
            Parsed::Error(_)
        ));
    }

    #[test]
    fn parses_inline_with_quotes() {
        assert_eq!(
            parse(b"SET k \"a b\\n\"\r\n", 1 << 20),
            Parsed::Command(vec![b"SET".to_vec(), b"k".to_vec(), b"a b\n".to_vec()], 15)
        );
        assert_eq!(parse(b"\r\n", 1 << 20), Parsed::Empty(2));
        assert!(matches!(parse(b"SET \"k\r\n", 1 << 20), Parsed::Error(_)));
    }

    #[test]
    fn encodes_by_protocol() {
        let r = Reply::Map(vec![(Reply::bulk(b"a"), Reply::Double(1.5))]);
        let mut v2 = vec![];
        encode(&r, 2, &mut v2);
        assert_eq!(v2, b"*2\r\n$1\r\na\r\n$3\r\n1.5\r\n");
        let mut v3 = vec![];
        encode(&r, 3, &mut v3);
        assert_eq!(v3, b"%1\r\n$1\r\na\r\n,1.5\r\n");
        let mut n = vec![];
        encode(&Reply::NilArray, 2, &mut n);
        assert_eq!(n, b"*-1\r\n");
    }
}
