//! The append-only log between snapshots.
//!
//! Layout (format version 1): `b"BURNERLG"`, u32 version, then frames (see `frame.rs`): one
//! `Header` naming the log's generation, then one `Batch` per top-level command that changed data.
//! A batch holds every write command a MULTI/EXEC or a script ran, plus expirations as DEL, so a
//! transaction is replayed whole or (torn last frame) not at all. Each batch carries the time it
//! ran at: replay runs with that frozen time, which makes relative TTLs (SET EX, EXPIRE), stream
//! ids and idle times come out as they did. Randomness is removed before logging (SPOP is logged as
//! the SREM of what it popped).
//!
//! Generations: snapshot G is continued by logs G, G+1, ... Taking a snapshot first starts log
//! G+1 (under the lock, so the snapshot's content and the log switch are one instant), then writes
//! the snapshot marked G+1, then deletes logs below G+1. A crash at any step leaves a snapshot plus
//! a consecutive chain of logs that together hold every logged write exactly once.

use std::fs::File;
use std::io::{self, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::{Deserialize, Serialize};
use serde_bytes::{ByteBuf, Bytes};

use super::frame::{self, Next, PersistError};
use crate::reply::Reply;

/// File magic.
pub const MAGIC: &[u8; 8] = b"BURNERLG";
/// The version this code writes (and the newest it reads).
pub const VERSION: u32 = 1;

/// One frame's payload.
#[derive(Serialize, Deserialize, Debug)]
pub enum LogFrame<B> {
    /// First frame: the generation (which snapshot this log continues).
    Header {
        /// Generation number.
        generation: u64,
    },
    /// The write commands of one top-level command, with the time they ran at.
    Batch {
        /// Frozen time of the command, Unix µs.
        time_us: i64,
        /// (database, command with its arguments).
        cmds: Vec<(u32, Vec<B>)>,
    },
}

/// The log file of generation `gen` for data file `path`.
pub fn log_path(path: &Path, gen: u64) -> PathBuf {
    super::fsio::sibling(path, &format!(".aof.{gen}"))
}

/// Commands of the running top-level command, gathered by the dispatcher (lives in the store).
#[derive(Default)]
pub struct OpLog {
    /// Logging is on (a log is attached and we are not replaying).
    pub on: bool,
    /// (database, command) in execution order.
    pub cmds: Vec<(u32, Vec<Vec<u8>>)>,
    /// Commands recorded so far; lets a container (EVAL, a command that runs others) see that its
    /// inner writes were logged, so it is not logged itself.
    pub logged: u64,
    /// Persistence was closed: writes are refused rather than silently not persisted.
    pub closed: bool,
}

impl OpLog {
    /// Records a write command that changed data (the dispatcher calls this).
    pub fn record(
        &mut self,
        db: usize,
        cmd: Vec<Vec<u8>>,
        reply: &Result<Reply, crate::error::CmdError>,
    ) {
        self.logged += 1;
        self.cmds.push((db as u32, deterministic(cmd, reply)));
    }

    /// Records an expiration as DEL.
    pub fn record_expired(&mut self, db: usize, key: &[u8]) {
        self.cmds
            .push((db as u32, vec![b"DEL".to_vec(), key.to_vec()]));
    }
}

/// A command whose effect replays the same way: SPOP becomes SREM of the members it returned.
fn deterministic(cmd: Vec<Vec<u8>>, reply: &Result<Reply, crate::error::CmdError>) -> Vec<Vec<u8>> {
    if cmd.len() >= 2 && cmd[0].eq_ignore_ascii_case(b"spop") {
        let mut members = Vec::new();
        match reply {
            Ok(Reply::Bulk(m)) => members.push(m.clone()),
            Ok(Reply::Array(items) | Reply::Set(items)) => {
                members.extend(items.iter().filter_map(|r| {
                    if let Reply::Bulk(m) = r {
                        Some(m.clone())
                    } else {
                        None
                    }
                }))
            }
            _ => {}
        }
        let mut out = vec![b"SREM".to_vec(), cmd[1].clone()];
        out.extend(members);
        return out;
    }
    cmd
}

/// Encodes one batch frame (with its length and checksum) onto `out`.
pub fn encode_batch(out: &mut Vec<u8>, time_us: i64, cmds: &[(u32, Vec<Vec<u8>>)]) {
    let cmds: Vec<(u32, Vec<&Bytes>)> = cmds
        .iter()
        .map(|(db, c)| (*db, c.iter().map(|a| Bytes::new(a)).collect()))
        .collect();
    let payload =
        rmp_serde::to_vec(&LogFrame::Batch { time_us, cmds }).expect("log frames always serialise");
    frame::push_frame(out, &payload);
}

/// Creates the (empty) log of generation `gen` durably and opens it for appending.
pub fn create(path: &Path, gen: u64) -> io::Result<LogWriter> {
    let lp = log_path(path, gen);
    let mut bytes = frame::header(MAGIC, VERSION).to_vec();
    let payload =
        rmp_serde::to_vec(&LogFrame::<&Bytes>::Header { generation: gen }).expect("serialises");
    frame::push_frame(&mut bytes, &payload);
    super::fsio::write_atomic(&lp, |w: &mut dyn Write| w.write_all(&bytes))?;
    open_append(&lp, gen, bytes.len() as u64)
}

/// Opens an existing log to append at `good_len` (the end of its valid frames).
pub fn open_append(lp: &Path, gen: u64, good_len: u64) -> io::Result<LogWriter> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open(lp)?;
    if file.metadata()?.len() != good_len {
        // Drop a torn tail so that appends continue a valid log.
        file.set_len(good_len)?;
        file.sync_all()?;
    }
    Ok(LogWriter {
        file: Arc::new(file),
        generation: gen,
        good_len,
        pending: Vec::new(),
        failed: None,
    })
}

/// The open log: written under the engine lock, fsynced by the background thread (everysec).
pub struct LogWriter {
    /// The file (shared with the fsync thread).
    pub file: Arc<File>,
    /// Its generation.
    pub generation: u64,
    /// Bytes of valid frames; the next frame goes here.
    pub good_len: u64,
    /// Encoded frames not yet written (kept across a failed write, retried later).
    pub pending: Vec<u8>,
    /// The error of the last failed write, while it has not been retried successfully.
    pub failed: Option<String>,
}

impl LogWriter {
    /// Writes pending frames at the end of the valid data; with `fsync`, makes them durable
    /// before returning. On failure the file is cut back to its valid length, the frames stay
    /// pending and the error is remembered.
    pub fn write_pending(&mut self, fsync: bool) -> Result<bool, String> {
        if self.pending.is_empty() {
            return Ok(false);
        }
        let r = self
            .file
            .write_all_at(&self.pending, self.good_len)
            .and_then(|_| if fsync { self.file.sync_data() } else { Ok(()) });
        match r {
            Ok(()) => {
                self.good_len += self.pending.len() as u64;
                self.pending.clear();
                self.failed = None;
                Ok(true)
            }
            Err(e) => {
                let _ = self.file.set_len(self.good_len);
                let msg = os_error_text(&e);
                self.failed = Some(msg.clone());
                Err(msg)
            }
        }
    }
}

/// An I/O error's text without Rust's " (os error N)" suffix, as Redis prints strerror.
pub fn os_error_text(e: &io::Error) -> String {
    let s = e.to_string();
    match s.find(" (os error") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

/// One batch read back.
pub struct Batch {
    /// Time it ran at, Unix µs.
    pub time_us: i64,
    /// (database, command).
    pub cmds: Vec<(u32, Vec<Vec<u8>>)>,
}

/// A log read back.
pub struct ReadLog {
    /// Its batches.
    pub batches: Vec<Batch>,
    /// Length of the valid prefix.
    pub good_len: u64,
    /// Set when the last frame was torn (cut short) and was left out.
    pub torn_at: Option<u64>,
    /// Set when a damaged frame was found (only returned when the caller allows salvaging).
    pub damaged: Option<PersistError>,
}

/// Parses the log `data` (the bytes of `lp`) of generation `gen`. A torn last frame is left out
/// (`torn_at`); any other damage is an error, or with `salvage` the valid prefix plus `damaged`.
pub fn read(lp: &Path, data: &[u8], gen: u64, salvage: bool) -> Result<ReadLog, PersistError> {
    let corrupt = |off: usize, msg: String| PersistError::corrupt(lp, off as u64, msg);
    frame::check_header(data, MAGIC, "log", lp, VERSION)?;
    let mut pos = frame::HEADER_LEN;
    let mut out = ReadLog {
        batches: Vec::new(),
        good_len: pos as u64,
        torn_at: None,
        damaged: None,
    };
    let mut first = true;
    loop {
        let err = match frame::next_frame(data, pos) {
            Next::Eof => break,
            Next::Torn { start } => {
                out.torn_at = Some(start as u64);
                break;
            }
            Next::Bad { start, why } => corrupt(start, format!("log frame is damaged ({why})")),
            Next::Frame {
                payload,
                start,
                end,
            } => match rmp_serde::from_slice::<LogFrame<ByteBuf>>(payload) {
                Ok(LogFrame::Header { generation }) if first => {
                    if generation != gen {
                        corrupt(
                            start,
                            format!("log says generation {generation}, expected {gen}"),
                        )
                    } else {
                        first = false;
                        pos = end;
                        out.good_len = end as u64;
                        continue;
                    }
                }
                Ok(LogFrame::Batch { time_us, cmds }) if !first => {
                    let cmds = cmds
                        .into_iter()
                        .map(|(db, c)| (db, c.into_iter().map(ByteBuf::into_vec).collect()))
                        .collect();
                    out.batches.push(Batch { time_us, cmds });
                    pos = end;
                    out.good_len = end as u64;
                    continue;
                }
                Ok(_) => corrupt(start, "log frames out of order".into()),
                Err(e) => corrupt(start, format!("undecodable log frame: {e}")),
            },
        };
        if first && err.offset == Some(frame::HEADER_LEN as u64) || !salvage {
            return Err(err);
        }
        out.damaged = Some(err);
        break;
    }
    if first && out.damaged.is_none() {
        // A log is created with its header already in place (atomically), so a missing one is
        // damage, not a torn append.
        return Err(corrupt(frame::HEADER_LEN, "log has no header frame".into()));
    }
    Ok(out)
}
