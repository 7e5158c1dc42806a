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

use parking_lot::Mutex;

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

/// The write commands of the running top-level command, gathered by the dispatcher (lives in the
/// store), already encoded as the MessagePack the log's `Batch` frame holds: encoding a command
/// before its handler runs costs less than keeping a copy of its arguments to encode afterwards.
#[derive(Default)]
pub struct OpLog {
    /// Logging is on (a log is attached and we are not replaying).
    pub on: bool,
    /// Encoded `(database, command)` entries in execution order.
    buf: Vec<u8>,
    /// Entries in `buf`.
    count: u32,
    /// Commands begun and not yet finished (nesting: EXEC, scripts).
    depth: u32,
    /// Commands recorded so far; lets a container (EVAL, a command that runs others) see that its
    /// inner writes were logged, so it is not logged itself.
    pub logged: u64,
    /// Persistence was closed: writes are refused rather than silently not persisted.
    pub closed: bool,
}

/// A command begun with [`OpLog::begin`], waiting for [`OpLog::finish`].
pub struct Begun {
    db: u32,
    at: usize,
    end: usize,
    count: u32,
    dirty: u64,
    logged: u64,
    /// SPOP's key: it is logged as the SREM of what it popped.
    spop_key: Option<Vec<u8>>,
}

impl OpLog {
    /// True when nothing is gathered.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Drops whatever was gathered.
    pub fn clear(&mut self) {
        self.buf.clear();
        self.count = 0;
        self.depth = 0;
    }

    /// Before a write command runs: encodes it; [`OpLog::finish`] keeps it if it changed data.
    pub fn begin(&mut self, db: usize, args: &[Vec<u8>], dirty: u64) -> Begun {
        let at = self.buf.len();
        let spop_key =
            (args.len() >= 2 && args[0].eq_ignore_ascii_case(b"spop")).then(|| args[1].clone());
        encode_cmd(
            &mut self.buf,
            db as u32,
            args.len(),
            args.iter().map(|a| &a[..]),
        );
        let b = Begun {
            db: db as u32,
            at,
            end: self.buf.len(),
            count: self.count,
            dirty,
            logged: self.logged,
            spop_key,
        };
        self.count += 1;
        self.depth += 1;
        b
    }

    /// After the command ran: keeps its entry when it changed data (`dirty` moved) and logged no
    /// inner commands itself (EXEC and scripts are logged as what they ran). The entry goes after
    /// whatever was recorded while it ran (expirations it caused come first, as they happened).
    pub fn finish(&mut self, b: Begun, dirty: u64, reply: &Result<Reply, crate::error::CmdError>) {
        self.depth = self.depth.saturating_sub(1);
        if dirty == b.dirty {
            // Nothing changed, so nothing was recorded meanwhile either.
            self.buf.truncate(b.at);
            self.count = b.count;
            return;
        }
        let own = b.end - b.at;
        if self.logged != b.logged {
            self.buf.drain(b.at..b.end);
            self.count -= 1;
            return;
        }
        self.logged += 1;
        if self.buf.len() > b.end {
            self.buf[b.at..].rotate_left(own);
        }
        if let Some(key) = b.spop_key {
            let len = self.buf.len();
            self.buf.truncate(len - own);
            let members = popped(reply);
            let args = [&b"SREM"[..], &key[..]]
                .into_iter()
                .chain(members.iter().copied());
            encode_cmd(&mut self.buf, b.db, 2 + members.len(), args);
        }
    }

    /// Records an expiration as DEL.
    pub fn record_expired(&mut self, db: usize, key: &[u8]) {
        encode_cmd(&mut self.buf, db as u32, 2, [&b"DEL"[..], key].into_iter());
        self.count += 1;
    }

    /// Appends the gathered commands as one `Batch` frame (time `time_us`) to `out`, and clears.
    pub fn take_frame(&mut self, out: &mut Vec<u8>, time_us: i64) {
        if self.depth != 0 {
            // A handler unwound (panicked) mid-command: what it gathered is not a finished write.
            self.clear();
            return;
        }
        if self.count == 0 {
            return;
        }
        let head = out.len();
        out.extend_from_slice(&[0; frame::FRAME_HEAD]);
        // {"Batch": [time_us, [entries...]]}, as rmp-serde writes `LogFrame::Batch`.
        out.extend_from_slice(&[0x81, 0xa5]);
        out.extend_from_slice(b"Batch");
        out.push(0x92);
        mp_int(out, time_us);
        mp_array_len(out, self.count as usize);
        out.extend_from_slice(&self.buf);
        let payload = &out[head + frame::FRAME_HEAD..];
        let len = (payload.len() as u32).to_le_bytes();
        let crc = crc32fast::hash(payload).to_le_bytes();
        out[head..head + 4].copy_from_slice(&len);
        out[head + 4..head + 8].copy_from_slice(&crc);
        self.buf.clear();
        self.count = 0;
    }
}

/// The members SPOP returned.
fn popped(reply: &Result<Reply, crate::error::CmdError>) -> Vec<&[u8]> {
    match reply {
        Ok(Reply::Bulk(m)) => vec![&m[..]],
        Ok(Reply::Array(items) | Reply::Set(items)) => items
            .iter()
            .filter_map(|r| match r {
                Reply::Bulk(m) => Some(&m[..]),
                _ => None,
            })
            .collect(),
        _ => vec![],
    }
}

/// One `(db, [args...])` entry as MessagePack (a 2-array of a uint and an array of bins).
fn encode_cmd<'a>(out: &mut Vec<u8>, db: u32, n: usize, args: impl Iterator<Item = &'a [u8]>) {
    out.push(0x92);
    mp_uint(out, db as u64);
    mp_array_len(out, n);
    for a in args {
        let l = a.len();
        if l < 256 {
            out.extend_from_slice(&[0xc4, l as u8]);
        } else if l < 65536 {
            out.push(0xc5);
            out.extend_from_slice(&(l as u16).to_be_bytes());
        } else {
            out.push(0xc6);
            out.extend_from_slice(&(l as u32).to_be_bytes());
        }
        out.extend_from_slice(a);
    }
}

fn mp_array_len(out: &mut Vec<u8>, n: usize) {
    if n < 16 {
        out.push(0x90 | n as u8);
    } else if n < 65536 {
        out.push(0xdc);
        out.extend_from_slice(&(n as u16).to_be_bytes());
    } else {
        out.push(0xdd);
        out.extend_from_slice(&(n as u32).to_be_bytes());
    }
}

fn mp_uint(out: &mut Vec<u8>, v: u64) {
    if v < 128 {
        out.push(v as u8);
    } else if v < 256 {
        out.extend_from_slice(&[0xcc, v as u8]);
    } else if v < 65536 {
        out.push(0xcd);
        out.extend_from_slice(&(v as u16).to_be_bytes());
    } else if v <= u32::MAX as u64 {
        out.push(0xce);
        out.extend_from_slice(&(v as u32).to_be_bytes());
    } else {
        out.push(0xcf);
        out.extend_from_slice(&v.to_be_bytes());
    }
}

fn mp_int(out: &mut Vec<u8>, v: i64) {
    if v >= 0 {
        mp_uint(out, v as u64);
    } else {
        out.push(0xd3);
        out.extend_from_slice(&v.to_be_bytes());
    }
}

/// Encodes one batch frame (with its length and checksum) onto `out` the general way (serde);
/// the command path uses [`OpLog::take_frame`], which writes the same bytes.
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
        generation: gen,
        pending: Vec::new(),
        len: good_len,
        out: Arc::new(Mutex::new(LogFile {
            file: Arc::new(file),
            written: good_len,
            carry: Vec::new(),
            spare: Vec::new(),
            prev: None,
        })),
    })
}

/// The open log as the command path sees it (in the store, under the engine lock). Frames are
/// gathered in `pending`; they reach the file through [`LogFile`]: at once (and fsynced) under
/// `appendfsync always`, else from the background thread a few milliseconds later.
pub struct LogWriter {
    /// Its generation.
    pub generation: u64,
    /// Encoded frames not yet handed to the file.
    pub pending: Vec<u8>,
    /// Length the log has once everything gathered is written.
    pub len: u64,
    /// The file side, shared with the background thread.
    pub out: Arc<Mutex<LogFile>>,
}

impl LogWriter {
    /// Writes the pending frames now (fsynced when `fsync`), after any frames of an earlier
    /// failed write. Called with the engine lock held (lock order: engine, then `out`).
    pub fn flush(&mut self, fsync: bool) -> Result<(), String> {
        let buf = std::mem::take(&mut self.pending);
        let mut out = self.out.lock();
        out.write(buf, fsync)
    }
}

/// Largest buffer kept for reuse.
const SPARE_MAX: usize = 8 << 20;

/// The file side of the open log. Whoever writes holds this lock: the command path (under the
/// engine lock) or the background flusher (which takes it while still holding the engine lock,
/// so frames reach the file in the order they were gathered).
pub struct LogFile {
    /// The file (fsync may run on a clone without this lock).
    pub file: Arc<File>,
    /// Bytes of valid frames on the file; the next frame goes here.
    pub written: u64,
    /// Frames whose write failed: they go first on the next write.
    pub carry: Vec<u8>,
    /// A written buffer kept for reuse as the next `pending` (no regrowing it every flush).
    pub spare: Vec<u8>,
    /// The previous generation's log while its last writes may not be durable yet: it is
    /// fsynced before this one ever is (a later log must never be durable ahead of an earlier).
    pub prev: Option<Arc<File>>,
}

impl LogFile {
    /// Appends the carried-over frames and `buf` at the end of the valid data; with `fsync`,
    /// makes them durable before returning. On failure the file is cut back to its valid length
    /// and the frames are kept for the next attempt.
    pub fn write(&mut self, buf: Vec<u8>, fsync: bool) -> Result<(), String> {
        let data = if self.carry.is_empty() {
            buf
        } else {
            let mut c = std::mem::take(&mut self.carry);
            c.extend_from_slice(&buf);
            c
        };
        if data.is_empty() {
            return if fsync { self.sync() } else { Ok(()) };
        }
        if fsync {
            if let Err(e) = self.sync_prev() {
                self.carry = data;
                return Err(e);
            }
        }
        let r = self.file.write_all_at(&data, self.written).and_then(|_| {
            if fsync {
                self.file.sync_data()
            } else {
                Ok(())
            }
        });
        match r {
            Ok(()) => {
                self.written += data.len() as u64;
                if data.capacity() <= SPARE_MAX {
                    let mut data = data;
                    data.clear();
                    self.spare = data;
                }
                Ok(())
            }
            Err(e) => {
                let _ = self.file.set_len(self.written);
                self.carry = data;
                Err(os_error_text(&e))
            }
        }
    }

    /// fsyncs the file (its predecessor first).
    pub fn sync(&mut self) -> Result<(), String> {
        self.sync_prev()?;
        self.file.sync_data().map_err(|e| os_error_text(&e))
    }

    /// fsyncs the previous generation's log if that is still owed.
    pub fn sync_prev(&mut self) -> Result<(), String> {
        if let Some(p) = &self.prev {
            p.sync_data().map_err(|e| os_error_text(&e))?;
            self.prev = None;
        }
        Ok(())
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
    /// The torn tail is zeros (what an OS crash can leave when the file's size reached the disk
    /// before its data did).
    pub zero_tail: bool,
    /// Set when a damaged frame was found (only returned when the caller allows salvaging).
    pub damaged: Option<PersistError>,
}

/// Size of the blocks a file system exposes as zeros after a crash.
const BLOCK: usize = 4096;

/// True when the damaged frame at `start` is where a tail of zeros begins: the file is all
/// zeros from the frame's start (or from a block boundary inside the frame) to its end. An OS
/// crash can leave that (the file's new size reached the disk, its last blocks did not); zeros
/// followed by anything else are damage.
fn zero_tail_from(data: &[u8], start: usize) -> bool {
    let z = data.len() - data.iter().rev().take_while(|&&b| b == 0).count();
    if z == data.len() {
        return false;
    }
    if z <= start {
        return true;
    }
    // Zeros from a block boundary inside this frame (its head was written, its end was not).
    let claimed_end = data
        .get(start..start + frame::FRAME_HEAD)
        .map(|h| start + frame::FRAME_HEAD + u32::from_le_bytes([h[0], h[1], h[2], h[3]]) as usize);
    z % BLOCK == 0 && claimed_end.is_some_and(|end| z < end)
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
        zero_tail: false,
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
        let at = err.offset.unwrap_or(0) as usize;
        if !first && zero_tail_from(data, at) {
            out.torn_at = Some(at as u64);
            out.zero_tail = true;
            break;
        }
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
