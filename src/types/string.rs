//! String values. Integers that round-trip exactly are kept as integers (Redis's `int` encoding),
//! which makes INCR cheap and small counters compact.

/// A string value.
#[derive(Debug, Clone, PartialEq)]
pub enum StrValue {
    /// An integer whose decimal form is the string.
    Int(i64),
    /// Any other bytes.
    Raw(Vec<u8>),
}

impl StrValue {
    /// Stores `b`, as an integer when its text is a canonical integer.
    pub fn from_bytes(b: Vec<u8>) -> StrValue {
        if b.len() <= 20 {
            if let Some(i) = crate::cmd::args::parse_i64_opt(&b) {
                return StrValue::Int(i);
            }
        }
        StrValue::Raw(b)
    }

    /// The string's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        match self {
            StrValue::Int(i) => i.to_string().into_bytes(),
            StrValue::Raw(b) => b.clone(),
        }
    }

    /// Calls `f` with the string's bytes without allocating for raw strings.
    pub fn with_bytes<R>(&self, f: impl FnOnce(&[u8]) -> R) -> R {
        match self {
            StrValue::Int(i) => {
                let mut buf = itoa_buf(*i);
                f(buf.as_bytes_mut())
            }
            StrValue::Raw(b) => f(b),
        }
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        match self {
            StrValue::Int(i) => itoa_buf(*i).len,
            StrValue::Raw(b) => b.len(),
        }
    }

    /// True for the empty string.
    pub fn is_empty(&self) -> bool {
        matches!(self, StrValue::Raw(b) if b.is_empty())
    }

    /// Mutable raw bytes, converting an integer to its text first.
    pub fn make_raw(&mut self) -> &mut Vec<u8> {
        if let StrValue::Int(i) = *self {
            *self = StrValue::Raw(i.to_string().into_bytes());
        }
        match self {
            StrValue::Raw(b) => b,
            StrValue::Int(_) => unreachable!("converted above"),
        }
    }
}

/// A stack buffer holding an integer's decimal text.
pub struct ItoaBuf {
    buf: [u8; 20],
    start: usize,
    len: usize,
}

impl ItoaBuf {
    fn as_bytes_mut(&mut self) -> &[u8] {
        &self.buf[self.start..self.start + self.len]
    }
}

fn itoa_buf(v: i64) -> ItoaBuf {
    let mut buf = [0u8; 20];
    let mut i = 20;
    let neg = v < 0;
    let mut n = v.unsigned_abs();
    loop {
        i -= 1;
        buf[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    if neg {
        i -= 1;
        buf[i] = b'-';
    }
    ItoaBuf {
        buf,
        start: i,
        len: 20 - i,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_are_encoded_and_round_trip() {
        assert_eq!(StrValue::from_bytes(b"123".to_vec()), StrValue::Int(123));
        assert_eq!(
            StrValue::from_bytes(b"0123".to_vec()),
            StrValue::Raw(b"0123".to_vec())
        );
        assert_eq!(StrValue::Int(-45).to_bytes(), b"-45");
        assert_eq!(StrValue::Int(i64::MIN).len(), 20);
        assert_eq!(StrValue::Int(7).with_bytes(|b| b.to_vec()), b"7");
    }
}
