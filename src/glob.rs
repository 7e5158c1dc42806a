//! Redis's glob matcher (KEYS, SCAN MATCH, PSUBSCRIBE, CONFIG GET): `*`, `?`, `[...]` with `^`
//! negation and ranges, and `\` escapes; byte-wise, optionally case-insensitive.

/// True when `s` matches `pattern`.
pub fn glob_match(pattern: &[u8], s: &[u8], nocase: bool) -> bool {
    match_from(pattern, s, nocase, 0)
}

fn eq(a: u8, b: u8, nocase: bool) -> bool {
    if nocase {
        a.eq_ignore_ascii_case(&b)
    } else {
        a == b
    }
}

fn match_from(mut p: &[u8], mut s: &[u8], nocase: bool, depth: usize) -> bool {
    // Guard against pathological patterns (Redis limits nesting the same way).
    if depth > 1000 {
        return false;
    }
    while !p.is_empty() {
        match p[0] {
            b'*' => {
                while p.len() > 1 && p[1] == b'*' {
                    p = &p[1..];
                }
                if p.len() == 1 {
                    return true;
                }
                for i in 0..=s.len() {
                    if match_from(&p[1..], &s[i..], nocase, depth + 1) {
                        return true;
                    }
                }
                return false;
            }
            b'?' => {
                if s.is_empty() {
                    return false;
                }
                s = &s[1..];
                p = &p[1..];
            }
            b'[' => {
                if s.is_empty() {
                    return false;
                }
                p = &p[1..];
                let not = !p.is_empty() && p[0] == b'^';
                if not {
                    p = &p[1..];
                }
                let mut matched = false;
                loop {
                    if p.is_empty() {
                        break;
                    }
                    if p[0] == b'\\' && p.len() >= 2 {
                        p = &p[1..];
                        if p[0] == s[0] {
                            matched = true;
                        }
                        p = &p[1..];
                    } else if p[0] == b']' {
                        break;
                    } else if p.len() >= 3 && p[1] == b'-' {
                        let (mut lo, mut hi) = (p[0], p[2]);
                        if lo > hi {
                            std::mem::swap(&mut lo, &mut hi);
                        }
                        let c = s[0];
                        let hit = if nocase {
                            let c = c.to_ascii_lowercase();
                            c >= lo.to_ascii_lowercase() && c <= hi.to_ascii_lowercase()
                        } else {
                            c >= lo && c <= hi
                        };
                        if hit {
                            matched = true;
                        }
                        p = &p[3..];
                    } else {
                        if eq(p[0], s[0], nocase) {
                            matched = true;
                        }
                        p = &p[1..];
                    }
                }
                if not {
                    matched = !matched;
                }
                if !matched {
                    return false;
                }
                s = &s[1..];
                if !p.is_empty() {
                    p = &p[1..]; // skip ']'
                }
            }
            b'\\' if p.len() >= 2 => {
                if s.is_empty() || !eq(p[1], s[0], nocase) {
                    return false;
                }
                s = &s[1..];
                p = &p[2..];
            }
            c => {
                if s.is_empty() || !eq(c, s[0], nocase) {
                    return false;
                }
                s = &s[1..];
                p = &p[1..];
            }
        }
    }
    s.is_empty()
}

#[cfg(test)]
mod tests {
    use super::glob_match as m;

    #[test]
    fn glob_cases() {
        assert!(m(b"*", b"anything", false));
        assert!(m(b"h?llo", b"hello", false));
        assert!(m(b"h[ae]llo", b"hallo", false));
        assert!(!m(b"h[^e]llo", b"hello", false));
        assert!(m(b"h[a-b]llo", b"hbllo", false));
        assert!(m(b"h\\*llo", b"h*llo", false));
        assert!(!m(b"h\\*llo", b"hello", false));
        assert!(m(b"foo*bar", b"fooXXbar", false));
        assert!(!m(b"foo*bar", b"fooXXba", false));
        assert!(m(b"HELLO", b"hello", true));
        assert!(!m(b"a", b"", false));
        assert!(m(b"", b"", false));
    }
}
