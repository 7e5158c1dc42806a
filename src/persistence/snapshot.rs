//! The snapshot file: explicit, versioned records converted by hand from the engine's types.
//!
//! Layout (format version 1): `b"BURNERDB"`, u32 version, then frames (see `frame.rs`) holding one
//! [`SnapFrame`] each: one `Header`, any number of `Records` chunks, one `Footer`, end of file.
//! The footer's record count makes a file cut at a frame boundary an error too.
//!
//! Format rules: variants and fields are only ever appended; a new layout gets a new version
//! number and this reader keeps accepting the old ones.

use std::io::{self, Write};
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_bytes::{ByteBuf, Bytes};

use super::frame::{self, Next, PersistError};
use crate::engine::Store;
use crate::types::stream::{Consumer, Group, Pending, StreamId};
use crate::types::{HashValue, ListValue, SetValue, StrValue, StreamValue, Value, ZSetValue};

/// File magic.
pub const MAGIC: &[u8; 8] = b"BURNERDB";
/// The version this code writes (and the newest it reads).
pub const VERSION: u32 = 1;
/// Records per `Records` frame.
pub const CHUNK: usize = 1024;

/// First frame: facts about the whole snapshot.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct SnapHeader {
    /// When the snapshot was taken, Unix ms.
    pub created_ms: i64,
    /// The log generation that continues this snapshot (see `log.rs`).
    pub log_generation: u64,
    /// Number of databases of the engine that wrote it.
    pub databases: u32,
}

/// One key.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct SnapRecord<B> {
    /// Database index.
    pub db: u32,
    /// The key.
    pub key: B,
    /// Absolute expiry time, Unix ms.
    pub expire_at_ms: Option<i64>,
    /// The value.
    pub value: SnapValue<B>,
}

/// A value in snapshot form. `B` is `&Bytes` when saving (no copies under the lock) and
/// `ByteBuf` when loading.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub enum SnapValue<B> {
    /// A string.
    Str(B),
    /// A string held as an integer.
    Int(i64),
    /// Hash fields and values.
    Hash(Vec<(B, B)>),
    /// Set members.
    Set(Vec<B>),
    /// List elements, head first.
    List(Vec<B>),
    /// Sorted-set members and scores.
    ZSet(Vec<(B, f64)>),
    /// A stream with its consumer groups.
    Stream(Box<SnapStream<B>>),
}

/// A stream id as (ms, seq).
pub type SnapId = (u64, u64);

/// A stream: entries, id bookkeeping, consumer groups with their pending entries.
#[derive(Serialize, Deserialize, Debug, Clone, Default)]
pub struct SnapStream<B> {
    /// Entries in id order.
    pub entries: Vec<(SnapId, Vec<(B, B)>)>,
    /// Last id ever generated.
    pub last_id: SnapId,
    /// Largest id ever deleted.
    pub max_deleted_id: SnapId,
    /// Entries ever added.
    pub entries_added: u64,
    /// Consumer groups.
    pub groups: Vec<SnapGroup<B>>,
}

/// A consumer group.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct SnapGroup<B> {
    /// Group name.
    pub name: B,
    /// Last delivered id.
    pub last_id: SnapId,
    /// Entries read (None when unknown).
    pub entries_read: Option<i64>,
    /// Consumers: (name, seen_ms, active_ms).
    pub consumers: Vec<(B, i64, i64)>,
    /// Pending entries: (id, consumer, delivery_ms, delivery_count).
    pub pel: Vec<(SnapId, B, i64, u64)>,
}

/// Last frame.
#[derive(Serialize, Deserialize, Debug, Clone)]
pub struct SnapFooter<B> {
    /// Number of records written.
    pub records: u64,
    /// Script bodies of the script cache (EVALSHA after a restart).
    pub scripts: Vec<B>,
}

/// One frame's payload.
#[derive(Serialize, Deserialize, Debug)]
pub enum SnapFrame<B> {
    /// See [`SnapHeader`].
    Header(SnapHeader),
    /// A chunk of keys.
    Records(Vec<SnapRecord<B>>),
    /// See [`SnapFooter`].
    Footer(SnapFooter<B>),
}

/// A snapshot encoded in memory (taken under the lock), written later without it.
pub struct Captured {
    /// Frame payloads in order.
    pub payloads: Vec<Vec<u8>>,
    /// Keys captured.
    pub records: u64,
}

fn b(x: &[u8]) -> &Bytes {
    Bytes::new(x)
}

fn encode<B: Serialize>(f: &SnapFrame<B>) -> Vec<u8> {
    rmp_serde::to_vec(f).expect("snapshot types always serialise")
}

/// Converts an engine value into its snapshot form (borrowing its bytes).
pub fn value_out(v: &Value) -> SnapValue<&Bytes> {
    match v {
        // A snapshot keeps no object identity: an own integer reloads shared, as after a Redis
        // restart.
        Value::Str(StrValue::Int(i) | StrValue::OwnInt(i)) => SnapValue::Int(*i),
        // An in-place-edited string reloads as a plain one, as after a Redis restart.
        Value::Str(StrValue::Raw(r)) => SnapValue::Str(b(r)),
        Value::Str(StrValue::Grown(r)) => SnapValue::Str(b(r)),
        Value::Hash(h) => SnapValue::Hash(h.iter().map(|(f, v)| (b(f), b(v))).collect()),
        Value::Set(s) => SnapValue::Set(s.iter().map(b).collect()),
        Value::List(l) => SnapValue::List(l.iter().map(b).collect()),
        // Sorted sets: `iter()` yields (member, score) in order.
        Value::ZSet(z) => SnapValue::ZSet(z.iter().map(|(m, s)| (b(m), s)).collect()),
        Value::Stream(s) => SnapValue::Stream(Box::new(stream_out(s))),
    }
}

/// A stream in snapshot form: entries, id bookkeeping, groups with consumers and the PEL.
fn stream_out(s: &StreamValue) -> SnapStream<&Bytes> {
    let id = |i: StreamId| (i.ms, i.seq);
    SnapStream {
        entries: s
            .range(StreamId::MIN, StreamId::MAX, false, 0)
            .into_iter()
            .map(|(i, f)| {
                (
                    id(i),
                    f.chunks(2)
                        .filter(|p| p.len() == 2)
                        .map(|p| (b(&p[0]), b(&p[1])))
                        .collect(),
                )
            })
            .collect(),
        last_id: id(s.last_id),
        max_deleted_id: id(s.max_deleted_id),
        entries_added: s.entries_added,
        groups: s
            .groups
            .iter()
            .map(|(name, g)| SnapGroup {
                name: b(name),
                last_id: id(g.last_id),
                entries_read: g.entries_read,
                consumers: g
                    .consumers
                    .iter()
                    .map(|(n, c)| (b(n), c.seen_ms, c.active_ms))
                    .collect(),
                pel: g
                    .pel
                    .iter()
                    .map(|(i, p)| (id(*i), b(&p.consumer), p.delivery_ms, p.delivery_count))
                    .collect(),
            })
            .collect(),
    }
}

/// The inverse of [`stream_out`]; refuses entries out of order and pending entries of unknown
/// consumers rather than loading a stream Redis could not have had.
fn stream_in(snap: SnapStream<ByteBuf>) -> Result<StreamValue, &'static str> {
    let id = |(ms, seq): SnapId| StreamId::new(ms, seq);
    let mut s = StreamValue::default();
    for (i, fields) in snap.entries {
        let i = id(i);
        if i <= s.last_id {
            return Err("stream entries out of order");
        }
        s.append(
            i,
            fields
                .into_iter()
                .flat_map(|(f, v)| [f.into_vec(), v.into_vec()])
                .collect(),
        );
    }
    if id(snap.last_id) < s.last_id {
        return Err("stream last id below its entries");
    }
    s.last_id = id(snap.last_id);
    s.max_deleted_id = id(snap.max_deleted_id);
    s.entries_added = snap.entries_added;
    for g in snap.groups {
        let mut group = Group::new(id(g.last_id), g.entries_read);
        for (name, seen_ms, active_ms) in g.consumers {
            let c = Consumer {
                seen_ms,
                active_ms,
                ..Consumer::default()
            };
            group.consumers.insert(name.into_vec(), c);
        }
        for (i, consumer, delivery_ms, delivery_count) in g.pel {
            let i = id(i);
            let c = group
                .consumers
                .get_mut(consumer.as_slice())
                .ok_or("pending entry of an unknown consumer")?;
            c.pel.insert(i);
            group.pel.insert(
                i,
                Pending {
                    consumer: consumer.into_vec(),
                    delivery_ms,
                    delivery_count,
                },
            );
        }
        s.groups.insert(g.name.into_vec(), group);
    }
    Ok(s)
}

/// Converts a loaded snapshot value into an engine value; None for an empty collection (Redis
/// never keeps those, so a file that has one is treated as damaged by the caller).
pub fn value_in(v: SnapValue<ByteBuf>) -> Result<Value, &'static str> {
    Ok(match v {
        SnapValue::Int(i) => Value::Str(StrValue::Int(i)),
        SnapValue::Str(s) => Value::Str(StrValue::Raw(s.into_vec().into())),
        SnapValue::Hash(items) => {
            let mut h = HashValue::default();
            for (f, v) in items {
                h.insert(&f, &v);
            }
            Value::Hash(Box::new(h))
        }
        SnapValue::Set(items) => {
            let mut s = SetValue::default();
            for m in items {
                s.insert(&m);
            }
            Value::Set(Box::new(s))
        }
        SnapValue::List(items) => Value::List(Box::new(
            items
                .into_iter()
                .map(ByteBuf::into_vec)
                .collect::<ListValue>(),
        )),
        SnapValue::ZSet(items) => {
            let mut z = ZSetValue::default();
            for (m, s) in items {
                if s.is_nan() {
                    return Err("sorted-set score is NaN");
                }
                z.insert(&m, s, Default::default());
            }
            Value::ZSet(Box::new(z))
        }
        SnapValue::Stream(s) => Value::Stream(Box::new(stream_in(*s)?)),
    })
}

/// The record of one key, or None when the snapshot leaves it out (expired at `now_ms`, or an
/// empty collection).
pub fn record<'a>(
    db: u32,
    key: &'a [u8],
    value: &'a Value,
    expire_at_ms: Option<i64>,
    now_ms: i64,
) -> Option<SnapRecord<&'a Bytes>> {
    if expire_at_ms.is_some_and(|at| at <= now_ms) || value.is_empty_collection() {
        return None;
    }
    Some(SnapRecord {
        db,
        key: b(key),
        expire_at_ms,
        value: value_out(value),
    })
}

/// The payload of a `Records` frame.
pub fn records_payload(chunk: Vec<SnapRecord<&Bytes>>) -> Vec<u8> {
    encode(&SnapFrame::Records(chunk))
}

/// The payload of the `Header` frame.
pub fn header_payload(created_ms: i64, log_generation: u64, databases: u32) -> Vec<u8> {
    encode::<&Bytes>(&SnapFrame::Header(SnapHeader {
        created_ms,
        log_generation,
        databases,
    }))
}

/// The payload of the `Footer` frame.
pub fn footer_payload(records: u64, scripts: &[Vec<u8>]) -> Vec<u8> {
    encode(&SnapFrame::Footer(SnapFooter {
        records,
        scripts: scripts.iter().map(|s| b(s)).collect(),
    }))
}

/// Writes one frame (length, checksum, payload).
pub fn write_frame(w: &mut dyn Write, payload: &[u8]) -> io::Result<()> {
    let mut head = [0u8; frame::FRAME_HEAD];
    head[..4].copy_from_slice(&(payload.len() as u32).to_le_bytes());
    head[4..].copy_from_slice(&crc32fast::hash(payload).to_le_bytes());
    w.write_all(&head)?;
    w.write_all(payload)
}

/// Encodes every live key of `store` (keys expired at `now_ms` are left out), under the engine
/// lock. Used where the whole snapshot is taken at once (SAVE, close); background saves walk
/// the keyspace in steps instead (`bgsave.rs`).
pub fn capture(store: &Store, now_ms: i64, log_generation: u64, scripts: &[Vec<u8>]) -> Captured {
    let mut payloads = vec![header_payload(
        now_ms,
        log_generation,
        store.dbs.len() as u32,
    )];
    let mut chunk: Vec<SnapRecord<&Bytes>> = Vec::with_capacity(CHUNK);
    let mut records = 0u64;
    for (i, db) in store.dbs.iter().enumerate() {
        let has_ttls = db.expires_len() > 0;
        for (key, value) in db.iter() {
            let ttl = if has_ttls { db.expiry(key) } else { None };
            let Some(r) = record(i as u32, key, value, ttl, now_ms) else {
                continue;
            };
            chunk.push(r);
            records += 1;
            if chunk.len() == CHUNK {
                payloads.push(records_payload(std::mem::take(&mut chunk)));
                chunk.reserve(CHUNK);
            }
        }
    }
    if !chunk.is_empty() {
        payloads.push(records_payload(chunk));
    }
    payloads.push(footer_payload(records, scripts));
    Captured { payloads, records }
}

/// Writes a captured snapshot to `path` atomically.
pub fn write(path: &Path, cap: &Captured) -> io::Result<()> {
    super::fsio::write_atomic(path, |w: &mut dyn Write| {
        w.write_all(&frame::header(MAGIC, VERSION))?;
        for p in &cap.payloads {
            write_frame(w, p)?;
        }
        Ok(())
    })
}

/// A snapshot read back.
#[derive(Debug)]
pub struct Loaded {
    /// Its header.
    pub header: SnapHeader,
    /// Script bodies.
    pub scripts: Vec<Vec<u8>>,
    /// Keys loaded (expired ones not counted).
    pub records: u64,
}

/// Reads the snapshot in `data` (the bytes of `path`) into `store`, leaving out keys expired at
/// `now_ms`. Any damage is an error naming the file and offset; `store` may then hold part of the
/// data and must be discarded or cleared by the caller.
pub fn load(
    path: &Path,
    data: &[u8],
    store: &mut Store,
    now_ms: i64,
) -> Result<Loaded, PersistError> {
    let corrupt = |off: usize, msg: String| PersistError::corrupt(path, off as u64, msg);
    frame::check_header(data, MAGIC, "snapshot", path, VERSION)?;
    let mut pos = frame::HEADER_LEN;
    let mut header: Option<SnapHeader> = None;
    let mut seen = 0u64;
    let mut loaded = 0u64;
    loop {
        let (payload, start, end) = match frame::next_frame(data, pos) {
            Next::Frame {
                payload,
                start,
                end,
            } => (payload, start, end),
            Next::Eof => {
                return Err(corrupt(
                    pos,
                    "snapshot ends before its footer (truncated)".into(),
                ))
            }
            Next::Torn { start } => {
                return Err(corrupt(
                    start,
                    "snapshot is truncated inside a frame".into(),
                ))
            }
            Next::Bad { start, why } => {
                return Err(corrupt(start, format!("snapshot frame is damaged ({why})")))
            }
        };
        let f: SnapFrame<ByteBuf> = rmp_serde::from_slice(payload)
            .map_err(|e| corrupt(start, format!("undecodable snapshot frame: {e}")))?;
        match (f, &header) {
            (SnapFrame::Header(h), None) => {
                if h.databases as usize > store.dbs.len() {
                    return Err(PersistError {
                        kind: frame::ErrorKind::Corrupt,
                        path: Some(path.to_path_buf()),
                        offset: Some(start as u64),
                        message: format!(
                            "snapshot was written with {} databases but the engine has {}",
                            h.databases,
                            store.dbs.len()
                        ),
                    });
                }
                header = Some(h);
            }
            (SnapFrame::Records(recs), Some(_)) => {
                for r in recs {
                    seen += 1;
                    let db = r.db as usize;
                    if db >= store.dbs.len() {
                        return Err(corrupt(
                            start,
                            format!("record for database {db} out of range"),
                        ));
                    }
                    let value = value_in(r.value).map_err(|m| corrupt(start, m.to_string()))?;
                    if value.is_empty_collection() {
                        return Err(corrupt(start, "empty collection in snapshot".into()));
                    }
                    if r.expire_at_ms.is_some_and(|at| at <= now_ms) {
                        continue;
                    }
                    let d = &mut store.dbs[db];
                    d.set(&r.key, value);
                    if let Some(at) = r.expire_at_ms {
                        d.set_expiry(&r.key, at);
                    }
                    loaded += 1;
                }
            }
            (SnapFrame::Footer(foot), Some(_)) => {
                if foot.records != seen {
                    return Err(corrupt(
                        start,
                        format!("footer counts {} records, file has {seen}", foot.records),
                    ));
                }
                if end != data.len() {
                    return Err(corrupt(
                        end,
                        "unexpected bytes after the snapshot footer".into(),
                    ));
                }
                let header = header.expect("matched Some");
                return Ok(Loaded {
                    header,
                    scripts: foot.scripts.into_iter().map(ByteBuf::into_vec).collect(),
                    records: loaded,
                });
            }
            _ => return Err(corrupt(start, "snapshot frames out of order".into())),
        }
        pos = end;
    }
}
