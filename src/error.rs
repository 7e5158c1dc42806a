//! Command errors. Every Redis error is a value of [`CmdError`], turned into Redis's exact text in
//! one place ([`CmdError::text`]); the front doors send that text as an error reply.

use std::fmt;

/// An error a command can reply with.
#[derive(Debug, Clone, PartialEq)]
pub enum CmdError {
    /// `WRONGTYPE Operation against a key holding the wrong kind of value`
    WrongType,
    /// `ERR syntax error`
    Syntax,
    /// `ERR value is not an integer or out of range`
    NotInteger,
    /// `ERR value is not a valid float`
    NotFloat,
    /// `ERR wrong number of arguments for '<cmd>' command`
    WrongArity(String),
    /// `ERR unknown command '<cmd>', with args beginning with: ...`
    UnknownCommand { name: String, args: Vec<String> },
    /// `ERR unknown subcommand '<sub>'. Try <CMD> HELP.`
    UnknownSubcommand { cmd: String, sub: String },
    /// `ERR no such key`
    NoSuchKey,
    /// `ERR index out of range`
    IndexOutOfRange,
    /// `ERR increment or decrement would overflow`
    Overflow,
    /// `ERR invalid expire time in '<cmd>' command`
    InvalidExpire(String),
    /// `ERR DB index is out of range`
    DbIndexOutOfRange,
    /// `OOM command not allowed when used memory > 'maxmemory'.`
    Oom,
    /// Full error text with its prefix, e.g. `ERR min or max is not a float`.
    Raw(String),
}

impl CmdError {
    /// An `ERR <msg>` error.
    pub fn err(msg: impl Into<String>) -> CmdError {
        CmdError::Raw(format!("ERR {}", msg.into()))
    }

    /// An error with a non-`ERR` prefix given in full (`BUSYGROUP ...`, `NOGROUP ...`).
    pub fn raw(text: impl Into<String>) -> CmdError {
        CmdError::Raw(text.into())
    }

    /// Redis's exact error text, prefix included.
    pub fn text(&self) -> String {
        match self {
            CmdError::WrongType => {
                "WRONGTYPE Operation against a key holding the wrong kind of value".into()
            }
            CmdError::Syntax => "ERR syntax error".into(),
            CmdError::NotInteger => "ERR value is not an integer or out of range".into(),
            CmdError::NotFloat => "ERR value is not a valid float".into(),
            CmdError::WrongArity(c) => {
                format!(
                    "ERR wrong number of arguments for '{}' command",
                    c.to_lowercase()
                )
            }
            CmdError::UnknownCommand { name, args } => {
                let mut s = format!("ERR unknown command '{}', with args beginning with: ", name);
                for a in args {
                    s.push('\'');
                    s.push_str(a);
                    s.push_str("' ");
                }
                s
            }
            CmdError::UnknownSubcommand { cmd, sub } => format!(
                "ERR unknown subcommand '{}'. Try {} HELP.",
                sub,
                cmd.to_uppercase()
            ),
            CmdError::NoSuchKey => "ERR no such key".into(),
            CmdError::IndexOutOfRange => "ERR index out of range".into(),
            CmdError::Overflow => "ERR increment or decrement would overflow".into(),
            CmdError::InvalidExpire(c) => {
                format!("ERR invalid expire time in '{}' command", c.to_lowercase())
            }
            CmdError::DbIndexOutOfRange => "ERR DB index is out of range".into(),
            CmdError::Oom => "OOM command not allowed when used memory > 'maxmemory'.".into(),
            CmdError::Raw(s) => s.clone(),
        }
    }
}

impl fmt::Display for CmdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text())
    }
}

/// The result of a command handler.
pub type CmdResult = Result<crate::reply::Reply, CmdError>;
