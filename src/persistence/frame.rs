//! The framing both file kinds share: an 8-byte magic, a little-endian u32 format version, then
//! frames of `[u32 length][u32 crc32 of payload][payload]`. Every payload is one rmp-serde value.
//!
//! A frame carries its own checksum so that damage is found where it is and reported with the
//! frame's offset, and a log can tell a torn last frame (a crash mid-append) from damage in the
//! middle.

use std::fmt;
use std::path::{Path, PathBuf};

/// Largest payload a reader accepts; a damaged length must not make us allocate gigabytes.
pub const MAX_FRAME: usize = 1 << 30;
/// Magic + version.
pub const HEADER_LEN: usize = 12;
/// Length + checksum.
pub const FRAME_HEAD: usize = 8;

/// A persistence failure: a damaged file, a lock held elsewhere, or an I/O error.
#[derive(Debug, Clone)]
pub struct PersistError {
    /// What went wrong.
    pub kind: ErrorKind,
    /// The file concerned, when there is one.
    pub path: Option<PathBuf>,
    /// Byte offset of the damage, for corrupt files.
    pub offset: Option<u64>,
    /// Human-readable details.
    pub message: String,
}

/// The kinds of [`PersistError`] (the Python edge maps each to its own exception class).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// A snapshot or log is damaged or not ours.
    Corrupt,
    /// Another process (or engine) holds the data files.
    Locked,
    /// Reading or writing failed.
    Io,
}

impl PersistError {
    /// A damaged-file error at `offset` of `path`.
    pub fn corrupt(path: &Path, offset: u64, message: impl Into<String>) -> PersistError {
        PersistError {
            kind: ErrorKind::Corrupt,
            path: Some(path.to_path_buf()),
            offset: Some(offset),
            message: message.into(),
        }
    }

    /// An I/O error on `path`.
    pub fn io(path: &Path, e: &std::io::Error) -> PersistError {
        PersistError {
            kind: ErrorKind::Io,
            path: Some(path.to_path_buf()),
            offset: None,
            message: e.to_string(),
        }
    }
}

impl fmt::Display for PersistError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.path, self.offset) {
            (Some(p), Some(o)) => {
                write!(f, "{}: {} at byte offset {}", p.display(), self.message, o)
            }
            (Some(p), None) => write!(f, "{}: {}", p.display(), self.message),
            _ => f.write_str(&self.message),
        }
    }
}

impl std::error::Error for PersistError {}

/// The file header for `magic` at format `version`.
pub fn header(magic: &[u8; 8], version: u32) -> [u8; HEADER_LEN] {
    let mut h = [0u8; HEADER_LEN];
    h[..8].copy_from_slice(magic);
    h[8..].copy_from_slice(&version.to_le_bytes());
    h
}

/// Appends one frame holding `payload` to `out`.
pub fn push_frame(out: &mut Vec<u8>, payload: &[u8]) {
    out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
    out.extend_from_slice(&crc32fast::hash(payload).to_le_bytes());
    out.extend_from_slice(payload);
}

/// The result of reading one frame.
pub enum Next<'a> {
    /// A frame with a good checksum; `end` is the offset just past it.
    Frame {
        payload: &'a [u8],
        start: usize,
        end: usize,
    },
    /// Clean end of the data.
    Eof,
    /// The data ends inside a frame (a torn append), at the frame starting at `start`.
    Torn { start: usize },
    /// A complete frame whose checksum or length is wrong.
    Bad { start: usize, why: &'static str },
}

/// Reads the frame starting at `pos` of `data`.
pub fn next_frame(data: &[u8], pos: usize) -> Next<'_> {
    if pos == data.len() {
        return Next::Eof;
    }
    let Some(head) = data.get(pos..pos + FRAME_HEAD) else {
        return Next::Torn { start: pos };
    };
    let len = u32::from_le_bytes([head[0], head[1], head[2], head[3]]) as usize;
    let crc = u32::from_le_bytes([head[4], head[5], head[6], head[7]]);
    if len > MAX_FRAME {
        return Next::Bad {
            start: pos,
            why: "frame length out of range",
        };
    }
    let body = pos + FRAME_HEAD;
    let Some(payload) = data.get(body..body + len) else {
        return Next::Torn { start: pos };
    };
    if crc32fast::hash(payload) != crc {
        return Next::Bad {
            start: pos,
            why: "checksum mismatch",
        };
    }
    Next::Frame {
        payload,
        start: pos,
        end: body + len,
    }
}

/// Checks the magic and version at the start of `data`; returns the version.
pub fn check_header(
    data: &[u8],
    magic: &[u8; 8],
    what: &str,
    path: &Path,
    max_version: u32,
) -> Result<u32, PersistError> {
    if data.len() < HEADER_LEN {
        return Err(PersistError::corrupt(
            path,
            data.len() as u64,
            format!("{what} is truncated inside its header"),
        ));
    }
    if &data[..8] != magic {
        return Err(PersistError::corrupt(
            path,
            0,
            format!("not a burner-redis {what} (bad magic)"),
        ));
    }
    let v = u32::from_le_bytes([data[8], data[9], data[10], data[11]]);
    if v == 0 || v > max_version {
        return Err(PersistError::corrupt(
            path,
            8,
            format!("unsupported {what} format version {v}"),
        ));
    }
    Ok(v)
}
