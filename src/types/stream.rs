//! Stream values: entries ordered by id, consumer groups with their pending-entry lists.
//!
//! Entries live in a B-tree keyed by id. Besides the entries, the stream keeps a model of how
//! Redis packs them into radix-tree nodes (listpacks of at most 100 entries or ~4 KB): approximate
//! trimming (`MAXLEN ~`, `MINID ~`) only removes whole nodes, so without the same node boundaries
//! `~` would trim a different number of entries than Redis. The model keeps counts and a size
//! estimate per node, never the bytes themselves.
//!
//! Group bookkeeping follows Redis 7: `entries_read` counts the entries a group has logically read
//! (None once it cannot be known because of deletions), and lag is derived from it.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

/// A stream entry id, `<ms>-<seq>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct StreamId {
    /// Milliseconds part.
    pub ms: u64,
    /// Sequence part.
    pub seq: u64,
}

impl StreamId {
    /// `0-0`, the smallest id.
    pub const MIN: StreamId = StreamId { ms: 0, seq: 0 };
    /// The largest id, `18446744073709551615-18446744073709551615`.
    pub const MAX: StreamId = StreamId {
        ms: u64::MAX,
        seq: u64::MAX,
    };

    /// An id from its parts.
    pub const fn new(ms: u64, seq: u64) -> StreamId {
        StreamId { ms, seq }
    }

    /// The next id, or None after [`StreamId::MAX`].
    pub fn incr(self) -> Option<StreamId> {
        if self.seq < u64::MAX {
            Some(StreamId::new(self.ms, self.seq + 1))
        } else if self.ms < u64::MAX {
            Some(StreamId::new(self.ms + 1, 0))
        } else {
            None
        }
    }

    /// The previous id, or None before [`StreamId::MIN`].
    pub fn decr(self) -> Option<StreamId> {
        if self.seq > 0 {
            Some(StreamId::new(self.ms, self.seq - 1))
        } else if self.ms > 0 {
            Some(StreamId::new(self.ms - 1, u64::MAX))
        } else {
            None
        }
    }

    /// True for `0-0`.
    pub fn is_zero(self) -> bool {
        self == StreamId::MIN
    }

    /// The id's text, as replies carry it. Written by hand: every delivered entry carries one,
    /// and the formatting machinery costs more than the rest of a small reply.
    pub fn to_bytes(self) -> Vec<u8> {
        let mut out = Vec::with_capacity(41);
        push_decimal(&mut out, self.ms);
        out.push(b'-');
        push_decimal(&mut out, self.seq);
        out
    }
}

/// Appends `v` in decimal.
fn push_decimal(out: &mut Vec<u8>, mut v: u64) {
    let mut buf = [0u8; 20];
    let mut i = buf.len();
    loop {
        i -= 1;
        buf[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    out.extend_from_slice(&buf[i..]);
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

/// An entry's field/value pairs, flattened (`[f1, v1, f2, v2, ...]`), in insertion order.
/// Duplicate field names are kept, as Redis keeps them.
pub type Fields = Vec<Vec<u8>>;

/// How big a node may grow before a new one starts (`stream-node-max-entries`,
/// `stream-node-max-bytes`; 0 means no limit, and bytes are capped at 1 GB as in Redis).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeLimits {
    /// Entries per node, deleted ones included.
    pub max_entries: u64,
    /// Bytes per node.
    pub max_bytes: u64,
}

/// Redis never lets a listpack grow past 1 GB, whatever `stream-node-max-bytes` says.
const LISTPACK_MAX_BYTES: u64 = 1 << 30;

impl NodeLimits {
    /// Redis's defaults: 100 entries, 4096 bytes.
    pub const DEFAULT: NodeLimits = NodeLimits {
        max_entries: 100,
        max_bytes: 4096,
    };

    /// Whether `node` must be closed before an entry whose field and value strings add up to
    /// `raw_len` bytes. Redis compares against the raw string lengths, not their encoded size.
    fn full(self, node: &Node, raw_len: usize) -> bool {
        let cap = match self.max_bytes {
            0 => LISTPACK_MAX_BYTES,
            b => b.min(LISTPACK_MAX_BYTES),
        };
        let would = (node.bytes() as u64).saturating_add(raw_len as u64);
        would >= cap || (self.max_entries != 0 && node.total >= self.max_entries)
    }
}

impl Default for NodeLimits {
    fn default() -> Self {
        NodeLimits::DEFAULT
    }
}

/// One modelled radix-tree node (a listpack in Redis), keyed by its master id.
#[derive(Debug, Clone)]
struct Node {
    /// Id of the last entry appended to the node, deleted or not.
    last: StreamId,
    /// Entries not deleted.
    live: u64,
    /// Entries ever appended to the node (deleted ones included).
    total: u64,
    /// Field names of the node's first entry (entries with the same names are stored compactly).
    master_fields: Vec<Vec<u8>>,
    /// Estimated bytes of the appended entries (the master header is added on demand).
    entries_bytes: usize,
}

impl Node {
    fn bytes(&self) -> usize {
        let deleted = self.total.saturating_sub(self.live);
        let mut n = 7 + lp_int_size(self.live as i64) + lp_int_size(deleted as i64);
        n += lp_int_size(self.master_fields.len() as i64) + lp_int_size(0);
        n += self
            .master_fields
            .iter()
            .map(|f| lp_str_size(f))
            .sum::<usize>();
        n + self.entries_bytes
    }
}

/// Size of an integer element in a listpack, back-length included.
fn lp_int_size(v: i64) -> usize {
    let enc = if (0..=127).contains(&v) {
        1
    } else if (-4096..=4095).contains(&v) {
        2
    } else if (-32768..=32767).contains(&v) {
        3
    } else if (-8_388_608..=8_388_607).contains(&v) {
        4
    } else if (i32::MIN as i64..=i32::MAX as i64).contains(&v) {
        5
    } else {
        9
    };
    enc + 1
}

/// Size of a string element in a listpack (strings that are canonical integers are stored as
/// integers), back-length included.
fn lp_str_size(s: &[u8]) -> usize {
    if let Some(v) = canonical_int(s) {
        return lp_int_size(v);
    }
    let enc = if s.len() < 64 {
        1 + s.len()
    } else if s.len() < 4096 {
        2 + s.len()
    } else {
        5 + s.len()
    };
    let back = match enc {
        0..=127 => 1,
        128..=16382 => 2,
        16383..=2_097_150 => 3,
        2_097_151..=268_435_454 => 4,
        _ => 5,
    };
    enc + back
}

/// The integer a string spells canonically (no sign but `-`, no leading zeros), if any.
fn canonical_int(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    let (neg, digits) = match s.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, s),
    };
    if digits.is_empty() || (digits[0] == b'0' && (digits.len() > 1 || neg)) {
        return None;
    }
    let mut v: i64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        let d = (c - b'0') as i64;
        v = v.checked_mul(10)?;
        v = if neg {
            v.checked_sub(d)?
        } else {
            v.checked_add(d)?
        };
    }
    Some(v)
}

/// A pending (delivered, not acknowledged) entry of a group.
#[derive(Debug, Clone, PartialEq)]
pub struct Pending {
    /// The consumer that owns it.
    pub consumer: Vec<u8>,
    /// Last delivery time, Unix ms.
    pub delivery_ms: i64,
    /// Number of deliveries.
    pub delivery_count: u64,
}

/// A consumer of a group.
#[derive(Debug, Clone, Default)]
pub struct Consumer {
    /// Last attempted interaction (XREADGROUP, XCLAIM, XAUTOCLAIM), Unix ms.
    pub seen_ms: i64,
    /// Last successful interaction (entries read or claimed), Unix ms; -1 when never.
    pub active_ms: i64,
    /// Ids this consumer owns in the group's pending list.
    pub pel: BTreeSet<StreamId>,
}

/// A consumer group.
#[derive(Debug, Clone, Default)]
pub struct Group {
    /// Last id delivered to the group.
    pub last_id: StreamId,
    /// Entries the group has logically read, when known.
    pub entries_read: Option<i64>,
    /// Pending entries by id.
    pub pel: BTreeMap<StreamId, Pending>,
    /// Consumers by name (sorted, as Redis lists them).
    pub consumers: BTreeMap<Vec<u8>, Consumer>,
}

impl Group {
    /// A group whose last delivered id is `last_id`.
    pub fn new(last_id: StreamId, entries_read: Option<i64>) -> Group {
        Group {
            last_id,
            entries_read,
            ..Group::default()
        }
    }

    /// The consumer `name`, created when missing (seen now, never active).
    pub fn consumer_mut(&mut self, name: &[u8], now_ms: i64) -> &mut Consumer {
        self.consumers
            .entry(name.to_vec())
            .or_insert_with(|| Consumer {
                seen_ms: now_ms,
                active_ms: -1,
                pel: BTreeSet::new(),
            })
    }

    /// Creates `name` if missing; true when it was created.
    pub fn create_consumer(&mut self, name: &[u8], now_ms: i64) -> bool {
        if self.consumers.contains_key(name) {
            return false;
        }
        self.consumer_mut(name, now_ms);
        true
    }

    /// Deletes a consumer and its pending entries; returns how many were pending.
    pub fn delete_consumer(&mut self, name: &[u8]) -> usize {
        let Some(c) = self.consumers.remove(name) else {
            return 0;
        };
        for id in &c.pel {
            self.pel.remove(id);
        }
        c.pel.len()
    }

    /// Gives pending entry `id` to `consumer` (creating the pending entry when missing), with the
    /// given delivery time; the delivery count is left to the caller.
    pub fn assign(&mut self, id: StreamId, consumer: &[u8], delivery_ms: i64) -> &mut Pending {
        // Every delivery passes here: no copy of the consumer name unless something new keeps it.
        match self.consumers.get_mut(consumer) {
            Some(c) => {
                c.pel.insert(id);
            }
            None => {
                self.consumer_mut(consumer, delivery_ms).pel.insert(id);
            }
        }
        let p = self.pel.entry(id).or_insert_with(|| Pending {
            consumer: consumer.to_vec(),
            delivery_ms,
            delivery_count: 0,
        });
        if p.consumer != consumer {
            let prev = std::mem::replace(&mut p.consumer, consumer.to_vec());
            if let Some(c) = self.consumers.get_mut(&prev) {
                c.pel.remove(&id);
            }
        }
        p.delivery_ms = delivery_ms;
        p
    }

    /// Acknowledges `id`; true when it was pending.
    pub fn ack(&mut self, id: StreamId) -> bool {
        match self.pel.remove(&id) {
            Some(p) => {
                if let Some(c) = self.consumers.get_mut(&p.consumer) {
                    c.pel.remove(&id);
                }
                true
            }
            None => false,
        }
    }
}

/// How a trim decides what goes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Trim {
    /// Keep at most this many entries.
    MaxLen(u64),
    /// Remove entries with ids below this one.
    MinId(StreamId),
}

/// A stream.
#[derive(Debug, Clone, Default)]
pub struct StreamValue {
    entries: BTreeMap<StreamId, Fields>,
    nodes: BTreeMap<StreamId, Node>,
    /// The last id generated or set (XSETID); new ids must be greater.
    pub last_id: StreamId,
    /// The greatest id ever removed by XDEL.
    pub max_deleted_id: StreamId,
    /// Entries ever added.
    pub entries_added: u64,
    /// Consumer groups by name (sorted, as Redis lists them).
    pub groups: BTreeMap<Vec<u8>, Group>,
}

impl StreamValue {
    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when the stream has no entries (streams may exist empty).
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Number of modelled radix-tree nodes (XINFO's `radix-tree-keys`).
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// Id of the first entry, `0-0` when empty (XINFO's `recorded-first-entry-id`).
    pub fn first_id(&self) -> StreamId {
        self.entries.keys().next().copied().unwrap_or_default()
    }

    /// The first entry.
    pub fn first_entry(&self) -> Option<(StreamId, &Fields)> {
        self.entries.iter().next().map(|(k, v)| (*k, v))
    }

    /// The last entry.
    pub fn last_entry(&self) -> Option<(StreamId, &Fields)> {
        self.entries.iter().next_back().map(|(k, v)| (*k, v))
    }

    /// The entry `id`.
    pub fn get(&self, id: StreamId) -> Option<&Fields> {
        self.entries.get(&id)
    }

    /// True when entry `id` exists.
    pub fn contains(&self, id: StreamId) -> bool {
        self.entries.contains_key(&id)
    }

    /// Entries with `start <= id <= end`, ascending (or descending with `rev`), at most `count`
    /// of them (0 = no limit).
    pub fn range(
        &self,
        start: StreamId,
        end: StreamId,
        rev: bool,
        count: usize,
    ) -> Vec<(StreamId, &Fields)> {
        if start > end {
            return Vec::new();
        }
        let limit = if count == 0 { usize::MAX } else { count };
        let it = self.entries.range(start..=end).map(|(k, v)| (*k, v));
        if rev {
            it.rev().take(limit).collect()
        } else {
            it.take(limit).collect()
        }
    }

    /// The id `*` would give at time `now_ms`: the clock's ms when it moved past the last id,
    /// otherwise the last id plus one, so ids stay increasing when the clock goes backwards.
    /// None when the last possible id was used.
    pub fn next_auto_id(&self, now_ms: i64) -> Option<StreamId> {
        let now = u64::try_from(now_ms).unwrap_or(0);
        if now > self.last_id.ms {
            Some(StreamId::new(now, 0))
        } else {
            self.last_id.incr()
        }
    }

    /// Appends an entry with the default node limits; the caller checked `id > last_id`.
    pub fn append(&mut self, id: StreamId, fields: Fields) {
        self.append_with(id, fields, NodeLimits::DEFAULT)
    }

    /// Appends an entry, starting a new node when the tail one is full under `limits`; the
    /// caller checked `id > last_id`.
    pub fn append_with(&mut self, id: StreamId, fields: Fields, limits: NodeLimits) {
        let names: Vec<&[u8]> = fields.iter().step_by(2).map(|f| f.as_slice()).collect();
        let raw_len: usize = fields.iter().map(|f| f.len()).sum();
        let tail = self
            .nodes
            .iter_mut()
            .next_back()
            .filter(|(_, n)| !limits.full(n, raw_len));
        let (master, node) = match tail {
            Some((m, n)) => (*m, n),
            None => {
                let node = Node {
                    last: id,
                    live: 0,
                    total: 0,
                    master_fields: names.iter().map(|n| n.to_vec()).collect(),
                    entries_bytes: 0,
                };
                (id, self.nodes.entry(id).or_insert(node))
            }
        };
        let same = node.master_fields.len() == names.len()
            && node
                .master_fields
                .iter()
                .zip(&names)
                .all(|(a, b)| a.as_slice() == *b);
        let nf = names.len() as i64;
        let mut bytes = lp_int_size(0)
            + lp_int_size(id.ms.wrapping_sub(master.ms) as i64)
            + lp_int_size(id.seq.wrapping_sub(master.seq) as i64);
        let mut pieces = 3 + nf;
        if same {
            bytes += fields
                .iter()
                .skip(1)
                .step_by(2)
                .map(|v| lp_str_size(v))
                .sum::<usize>();
        } else {
            bytes += lp_int_size(nf) + fields.iter().map(|v| lp_str_size(v)).sum::<usize>();
            pieces += nf + 1;
        }
        bytes += lp_int_size(pieces);
        node.entries_bytes += bytes;
        node.live += 1;
        node.total += 1;
        node.last = id;
        self.entries.insert(id, fields);
        self.entries_added += 1;
        self.last_id = id;
    }

    /// The node holding entry `id`, by master id.
    fn node_of(&self, id: StreamId) -> Option<StreamId> {
        self.nodes.range(..=id).next_back().map(|(m, _)| *m)
    }

    /// Deletes entry `id` (XDEL); true when it existed.
    pub fn delete(&mut self, id: StreamId) -> bool {
        if self.entries.remove(&id).is_none() {
            return false;
        }
        if let Some(m) = self.node_of(id) {
            if let Some(n) = self.nodes.get_mut(&m) {
                n.live = n.live.saturating_sub(1);
                if n.live == 0 {
                    self.nodes.remove(&m);
                }
            }
        }
        if id > self.max_deleted_id {
            self.max_deleted_id = id;
        }
        true
    }

    /// Trims from the oldest entries. With `approx`, only whole nodes go, and at most `limit`
    /// entries (0 = no limit). Returns the number of entries removed.
    pub fn trim(&mut self, how: Trim, approx: bool, limit: u64) -> u64 {
        let mut deleted = 0u64;
        // Only the head node is ever looked at: it either goes whole (and the next one becomes
        // the head) or the trim ends inside it.
        while let Some((&m, node)) = self.nodes.iter().next() {
            if let Trim::MaxLen(max) = how {
                if self.len() as u64 <= max {
                    break;
                }
            }
            let (live, last) = (node.live, node.last);
            if limit > 0 && deleted + live > limit {
                break;
            }
            let whole = match how {
                Trim::MaxLen(max) => (self.len() as u64).saturating_sub(live) >= max,
                Trim::MinId(min) => last < min,
            };
            if whole {
                let ids: Vec<StreamId> = self.entries.range(m..=last).map(|(k, _)| *k).collect();
                for id in ids {
                    self.entries.remove(&id);
                }
                self.nodes.remove(&m);
                deleted += live;
                continue;
            }
            if approx {
                break;
            }
            let ids: Vec<StreamId> = self.entries.range(m..=last).map(|(k, _)| *k).collect();
            for id in ids {
                if let Trim::MinId(min) = how {
                    if id >= min {
                        break;
                    }
                }
                self.entries.remove(&id);
                deleted += 1;
                if let Some(n) = self.nodes.get_mut(&m) {
                    n.live = n.live.saturating_sub(1);
                }
                if let Trim::MaxLen(max) = how {
                    if self.len() as u64 <= max {
                        break;
                    }
                }
            }
            break;
        }
        deleted
    }

    /// True when an entry deleted by XDEL may lie at or after `from` among the current entries.
    fn has_tombstones_from(&self, from: StreamId) -> bool {
        if self.is_empty() || self.max_deleted_id.is_zero() {
            return false;
        }
        if self.first_id() > self.max_deleted_id {
            return false;
        }
        from <= self.max_deleted_id
    }

    /// How many entries precede and include `id` since the stream began, when that can be known.
    pub fn entries_read_at(&self, id: StreamId) -> Option<i64> {
        let added = i64::try_from(self.entries_added).unwrap_or(i64::MAX);
        if self.entries_added == 0 {
            return Some(0);
        }
        if self.is_empty() && id <= self.last_id {
            return Some(added);
        }
        if id == self.last_id {
            return Some(added);
        }
        if id > self.last_id {
            return None;
        }
        let first = self.first_id();
        if self.max_deleted_id.is_zero() || self.max_deleted_id < first {
            let len = self.len() as i64;
            if id < first {
                return Some(added - len);
            }
            if id == first {
                return Some(added - len + 1);
            }
        }
        None
    }

    /// A group's lag: entries not yet delivered to it, when that can be known.
    pub fn lag(&self, g: &Group) -> Option<i64> {
        let added = i64::try_from(self.entries_added).unwrap_or(i64::MAX);
        if self.entries_added == 0 {
            return Some(0);
        }
        if let Some(read) = g.entries_read {
            if !self.has_tombstones_from(g.last_id) {
                return Some(added - read);
            }
        }
        self.entries_read_at(g.last_id).map(|read| added - read)
    }

    /// Delivers to `consumer` of group `group` the entries after the group's last delivered id
    /// (XREADGROUP `>`): at most `count` (0 = all). Unless `noack`, they become pending for the
    /// consumer. Returns the delivered ids; None when the group does not exist.
    pub fn deliver_new(
        &mut self,
        group: &[u8],
        consumer: &[u8],
        count: usize,
        noack: bool,
        now_ms: i64,
    ) -> Option<Vec<StreamId>> {
        let start = self.groups.get(group)?.last_id.incr();
        let ids: Vec<StreamId> = match start {
            Some(s) => self
                .range(s, StreamId::MAX, false, count)
                .into_iter()
                .map(|(id, _)| id)
                .collect(),
            None => Vec::new(),
        };
        for &id in &ids {
            let tomb = self.has_tombstones_from(id);
            let known = self.groups.get(group)?.entries_read.is_some();
            // Only needed when the counter cannot simply be bumped.
            let estimate = if known && !tomb {
                None
            } else {
                self.entries_read_at(id)
            };
            let added = self.entries_added;
            let g = self.groups.get_mut(group)?;
            if id > g.last_id {
                match g.entries_read {
                    Some(n) if !tomb => g.entries_read = Some(n.saturating_add(1)),
                    _ if added > 0 => g.entries_read = estimate,
                    _ => {}
                }
                g.last_id = id;
            }
            if !noack {
                g.assign(id, consumer, now_ms).delivery_count = 1;
            }
        }
        if !ids.is_empty() && !noack {
            if let Some(c) = self
                .groups
                .get_mut(group)
                .and_then(|g| g.consumers.get_mut(consumer))
            {
                c.active_ms = now_ms;
            }
        }
        Some(ids)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(pairs: &[(&str, &str)]) -> Fields {
        pairs
            .iter()
            .flat_map(|(a, b)| [a.as_bytes().to_vec(), b.as_bytes().to_vec()])
            .collect()
    }

    fn add(s: &mut StreamValue, ms: u64, seq: u64) {
        s.append(StreamId::new(ms, seq), f(&[("f", "v")]));
    }

    #[test]
    fn ids_order_and_step() {
        assert!(StreamId::new(1, 5) < StreamId::new(2, 0));
        assert_eq!(StreamId::new(1, u64::MAX).incr(), Some(StreamId::new(2, 0)));
        assert_eq!(StreamId::MAX.incr(), None);
        assert_eq!(StreamId::new(2, 0).decr(), Some(StreamId::new(1, u64::MAX)));
        assert_eq!(StreamId::MIN.decr(), None);
        assert_eq!(StreamId::new(7, 3).to_string(), "7-3");
    }

    #[test]
    fn auto_ids_stay_monotonic_when_the_clock_goes_back() {
        let mut s = StreamValue::default();
        let a = s.next_auto_id(1000).unwrap();
        s.append(a, f(&[("a", "1")]));
        assert_eq!(a, StreamId::new(1000, 0));
        let b = s.next_auto_id(900).unwrap();
        assert_eq!(b, StreamId::new(1000, 1));
        s.append(b, f(&[("a", "2")]));
        assert_eq!(s.next_auto_id(1001), Some(StreamId::new(1001, 0)));
        s.last_id = StreamId::MAX;
        assert_eq!(s.next_auto_id(5), None);
    }

    #[test]
    fn fields_keep_insertion_order_and_duplicates() {
        let mut s = StreamValue::default();
        s.append(
            StreamId::new(1, 0),
            f(&[("z", "1"), ("a", "2"), ("z", "3")]),
        );
        assert_eq!(
            s.get(StreamId::new(1, 0)).unwrap(),
            &f(&[("z", "1"), ("a", "2"), ("z", "3")])
        );
    }

    #[test]
    fn nodes_split_at_100_entries_and_approx_trim_removes_whole_nodes() {
        let mut s = StreamValue::default();
        for i in 1..=250 {
            add(&mut s, i, 0);
        }
        assert_eq!(s.node_count(), 3);
        assert_eq!(s.trim(Trim::MaxLen(10), true, 0), 200);
        assert_eq!(s.len(), 50);
        assert_eq!(s.trim(Trim::MaxLen(10), false, 0), 40);
        assert_eq!(s.len(), 10);
        assert_eq!(s.first_id(), StreamId::new(241, 0));
    }

    #[test]
    fn big_entries_fill_nodes_by_size() {
        let mut s = StreamValue::default();
        let big = "x".repeat(1000);
        for i in 1..=10 {
            s.append(StreamId::new(i, 0), f(&[("f", &big)]));
        }
        assert!(s.node_count() >= 3, "{} nodes", s.node_count());
    }

    #[test]
    fn node_limits_follow_config() {
        let fill = |limits: NodeLimits, n: u64| {
            let mut s = StreamValue::default();
            for i in 1..=n {
                s.append_with(StreamId::new(i, 0), f(&[("f", "v")]), limits);
            }
            s.node_count()
        };
        let unlimited = NodeLimits {
            max_entries: 0,
            max_bytes: 0,
        };
        assert_eq!(fill(unlimited, 300), 1);
        let one_byte = NodeLimits {
            max_entries: 100,
            max_bytes: 1,
        };
        assert_eq!(fill(one_byte, 30), 30);
        let three = NodeLimits {
            max_entries: 3,
            max_bytes: 4096,
        };
        assert_eq!(fill(three, 30), 10);
        assert_eq!(fill(NodeLimits::DEFAULT, 300), 3);
    }

    #[test]
    fn minid_trim_and_limit() {
        let mut s = StreamValue::default();
        for i in 1..=250 {
            add(&mut s, i, 0);
        }
        assert_eq!(s.trim(Trim::MinId(StreamId::new(150, 0)), true, 0), 100);
        assert_eq!(s.trim(Trim::MinId(StreamId::new(150, 0)), false, 0), 49);
        assert_eq!(s.first_id(), StreamId::new(150, 0));
        let mut t = StreamValue::default();
        for i in 1..=250 {
            add(&mut t, i, 0);
        }
        assert_eq!(t.trim(Trim::MaxLen(0), true, 150), 100);
    }

    #[test]
    fn delete_tracks_max_deleted_and_empties_nodes() {
        let mut s = StreamValue::default();
        add(&mut s, 1, 0);
        add(&mut s, 2, 0);
        assert!(s.delete(StreamId::new(2, 0)));
        assert!(!s.delete(StreamId::new(2, 0)));
        assert_eq!(s.max_deleted_id, StreamId::new(2, 0));
        assert!(s.delete(StreamId::new(1, 0)));
        assert_eq!(s.node_count(), 0);
        assert_eq!(s.first_id(), StreamId::MIN);
        assert_eq!(s.last_id, StreamId::new(2, 0));
    }

    #[test]
    fn groups_deliver_track_lag_and_ack() {
        let mut s = StreamValue::default();
        for i in 1..=3 {
            add(&mut s, i, 0);
        }
        s.groups
            .insert(b"g".to_vec(), Group::new(StreamId::MIN, None));
        assert_eq!(s.lag(&s.groups[b"g".as_slice()]), Some(3));
        let got = s.deliver_new(b"g", b"c", 2, false, 100).unwrap();
        assert_eq!(got, vec![StreamId::new(1, 0), StreamId::new(2, 0)]);
        let g = &s.groups[b"g".as_slice()];
        assert_eq!(g.entries_read, Some(2));
        assert_eq!(s.lag(g), Some(1));
        assert_eq!(g.pel.len(), 2);
        assert_eq!(g.consumers[b"c".as_slice()].active_ms, 100);
        let g = s.groups.get_mut(b"g".as_slice()).unwrap();
        assert!(g.ack(StreamId::new(1, 0)));
        assert!(!g.ack(StreamId::new(1, 0)));
        assert_eq!(g.consumers[b"c".as_slice()].pel.len(), 1);
        s.delete(StreamId::new(3, 0));
        // A deletion after the group's position makes the counter unknowable.
        assert_eq!(s.lag(&s.groups[b"g".as_slice()]), None);
        assert!(s.deliver_new(b"nope", b"c", 0, false, 0).is_none());
    }

    #[test]
    fn assign_moves_ownership() {
        let mut g = Group::new(StreamId::MIN, None);
        let id = StreamId::new(1, 0);
        g.assign(id, b"a", 10).delivery_count = 1;
        g.assign(id, b"b", 20).delivery_count += 1;
        assert!(g.consumers[b"a".as_slice()].pel.is_empty());
        assert!(g.consumers[b"b".as_slice()].pel.contains(&id));
        assert_eq!(
            g.pel[&id],
            Pending {
                consumer: b"b".to_vec(),
                delivery_ms: 20,
                delivery_count: 2
            }
        );
        assert_eq!(g.delete_consumer(b"b"), 1);
        assert!(g.pel.is_empty());
    }

    #[test]
    fn id_text() {
        assert_eq!(StreamId::new(0, 0).to_bytes(), b"0-0");
        assert_eq!(
            StreamId::new(1700000000123, 45).to_bytes(),
            b"1700000000123-45"
        );
        assert_eq!(
            StreamId::MAX.to_bytes(),
            b"18446744073709551615-18446744073709551615"
        );
    }

    #[test]
    fn listpack_sizes() {
        assert_eq!(lp_str_size(b"12"), 2);
        assert_eq!(lp_str_size(b"012"), 5);
        assert_eq!(lp_str_size(b"abc"), 5);
        assert_eq!(canonical_int(b"-5"), Some(-5));
        assert_eq!(canonical_int(b"-0"), None);
        assert_eq!(canonical_int(b"99999999999999999999"), None);
    }
}
