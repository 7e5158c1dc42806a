//! Clients blocked on keys (BLPOP, BZPOPMIN, XREAD BLOCK, ...), served the way Redis 7.2 serves
//! them: right after the command that made a key ready, before any other command runs.
//!
//! A write to a key somebody waits on marks the key *ready* ([`Blocking::signal`]). Once the
//! top-level command that did it has finished (a whole MULTI/EXEC or script counts as one), still
//! under the same engine lock, [`serve_ready`] re-runs the blocked commands of each ready key in
//! the order their clients blocked, on their behalf, as Redis re-executes them. A re-run that
//! finds something completes the waiter: its reply is parked in the [`Waiter`] and its front door
//! is woken to deliver it (without needing the lock). One that finds nothing keeps its place. A
//! write to key A never re-runs a waiter of key B only.
//!
//! The front door may lose its client between service and delivery (an asyncio task cancelled
//! after its future was resolved, a socket that closed). Whatever the parked reply took is then
//! handed back ([`hand_back`]): popped list elements go back to the end they came from, popped
//! zset members back with their scores, a BLMOVE moves its element back while it is still where
//! it was put, and an XREADGROUP's entries stop being pending and the group's last-delivered id is
//! rewound, when nothing has read past them since (otherwise they stay pending for the consumer,
//! claimable as after a disconnect in Redis). Nothing served is lost unseen.

use std::collections::VecDeque;
use std::sync::Arc;

use hashbrown::{HashMap, HashSet};
use parking_lot::Mutex;

use super::waker::{Waker, Wakes};
use super::{Client, Env, Store};
use crate::reply::Reply;
use crate::types::stream::StreamId;
use crate::types::Value;

/// What a blocked command waits for, which decides when a write to one of its keys can serve it
/// (Redis's blocking types).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Kind {
    /// BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP: a list under the key.
    List,
    /// BZPOPMIN, BZPOPMAX, BZMPOP: a sorted set.
    ZSet,
    /// XREAD: a stream.
    Stream,
    /// XREADGROUP: a stream, or the key's deletion (the reader is told its stream is gone).
    GroupStream,
}

impl Kind {
    fn of(name: &[u8]) -> Kind {
        let is = |w: &str| name.eq_ignore_ascii_case(w.as_bytes());
        if is("bzpopmin") || is("bzpopmax") || is("bzmpop") {
            Kind::ZSet
        } else if is("xreadgroup") {
            Kind::GroupStream
        } else if is("xread") {
            Kind::Stream
        } else {
            Kind::List
        }
    }

    /// True when `v` (what the key now holds) may serve a waiter of this kind.
    fn served_by(self, v: Option<&Value>) -> bool {
        matches!(
            (self, v),
            (Kind::List, Some(Value::List(_)))
                | (Kind::ZSet, Some(Value::ZSet(_)))
                | (Kind::Stream | Kind::GroupStream, Some(Value::Stream(_)))
                | (Kind::GroupStream, None)
        )
    }
}

/// How a blocked command ended without its own front door running it.
pub enum Outcome {
    /// Served (or unblocked): the reply to deliver, and for XREADGROUP each stream's group
    /// position before the service (key, last-delivered id, entries-read), to hand back with.
    Reply(Reply, Vec<(Vec<u8>, StreamId, Option<i64>)>),
    /// CLIENT KILL: the connection is closed instead of answered.
    Killed,
}

/// One blocked client.
pub struct Waiter {
    /// Unique id (for removal).
    pub id: u64,
    /// CLIENT ID of the blocked client.
    pub client_id: u64,
    /// The database the keys belong to.
    pub db: usize,
    /// The blocked client's protocol (some replies are shaped by it, e.g. XREAD's map).
    pub resp: u8,
    /// The keys waited on.
    pub keys: Vec<Vec<u8>>,
    /// The command to re-run (name included; XREAD's `$` already resolved to an id).
    pub args: Vec<Vec<u8>>,
    kind: Kind,
    /// Set under the engine lock when the waiter is completed for its client.
    outcome: Mutex<Option<Outcome>>,
    /// Who to wake; set when the front door starts waiting.
    waker: Mutex<Option<Arc<dyn Waker>>>,
}

impl Waiter {
    /// True when `key` of `db` is one this waiter waits on.
    pub fn waits_on(&self, db: usize, key: &[u8]) -> bool {
        self.db == db && self.keys.iter().any(|k| k.as_slice() == key)
    }

    /// Installs the waker to call when the waiter is completed. Install it before checking
    /// [`Waiter::take_outcome`], so a completion in between is never missed.
    pub fn set_waker(&self, w: Arc<dyn Waker>) {
        *self.waker.lock() = Some(w);
    }

    /// Takes the outcome parked for this waiter, if it was completed. Needs no engine lock.
    pub fn take_outcome(&self) -> Option<Outcome> {
        self.outcome.lock().take()
    }

    fn completed(&self) -> bool {
        self.outcome.lock().is_some()
    }

    fn complete(self: &Arc<Self>, o: Outcome, wakes: &mut Wakes) {
        *self.outcome.lock() = Some(o);
        wakes.push(self.clone());
    }
}

impl Waker for Waiter {
    fn wake(&self) {
        let w = self.waker.lock().clone();
        if let Some(w) = w {
            w.wake();
        }
    }
}

/// A borrowed (db, key) that finds the owned `(usize, Vec<u8>)` slots: it hashes the same way
/// (a tuple of an integer and a byte slice).
#[derive(Hash)]
pub(crate) struct SlotRef<'a>(pub usize, pub &'a [u8]);

impl hashbrown::Equivalent<(usize, Vec<u8>)> for SlotRef<'_> {
    fn equivalent(&self, k: &(usize, Vec<u8>)) -> bool {
        self.0 == k.0 && self.1 == k.1.as_slice()
    }
}

/// All waiters of one engine, by (db, key), plus the keys made ready since the last service.
#[derive(Default)]
pub struct Blocking {
    by_key: HashMap<(usize, Vec<u8>), VecDeque<Arc<Waiter>>>,
    by_client: HashMap<u64, Arc<Waiter>>,
    /// Ready keys in the order they became ready (`ready_set` keeps them unique).
    ready: VecDeque<(usize, Vec<u8>)>,
    ready_set: HashSet<(usize, Vec<u8>)>,
    next_id: u64,
}

impl Blocking {
    /// Registers `client`'s waiter for `args` (the command to re-run) on `keys`.
    pub fn register(
        &mut self,
        client: &Client,
        keys: Vec<Vec<u8>>,
        args: Vec<Vec<u8>>,
    ) -> Arc<Waiter> {
        self.next_id += 1;
        let w = Arc::new(Waiter {
            id: self.next_id,
            client_id: client.id,
            db: client.db,
            resp: client.resp,
            kind: Kind::of(args.first().map_or(&[][..], |a| a.as_slice())),
            keys,
            args,
            outcome: Mutex::new(None),
            waker: Mutex::new(None),
        });
        for k in &w.keys {
            self.by_key
                .entry((w.db, k.clone()))
                .or_default()
                .push_back(w.clone());
        }
        self.by_client.insert(w.client_id, w.clone());
        w
    }

    /// Removes a waiter from every key queue (idempotent).
    pub fn unregister(&mut self, w: &Waiter) {
        for k in &w.keys {
            let slot = (w.db, k.clone());
            if let Some(q) = self.by_key.get_mut(&slot) {
                q.retain(|x| x.id != w.id);
                if q.is_empty() {
                    self.by_key.remove(&slot);
                }
            }
        }
        if self
            .by_client
            .get(&w.client_id)
            .is_some_and(|x| x.id == w.id)
        {
            self.by_client.remove(&w.client_id);
        }
    }

    /// True when somebody waits on `key`.
    pub fn has_waiters(&self, db: usize, key: &[u8]) -> bool {
        !self.by_key.is_empty() && self.by_key.contains_key(&SlotRef(db, key))
    }

    /// Marks `key` ready when somebody waits on it; its waiters are served once the running
    /// top-level command is done ([`serve_ready`]). Wake-ups are queued only for waiters that
    /// get served.
    pub fn signal(&mut self, db: usize, key: &[u8], _wakes: &mut Wakes) {
        if self.by_key.is_empty() {
            return;
        }
        // Looked up without copying the key: every write checks, and a waiter is often blocked
        // somewhere (a worker's XREADGROUP).
        if self.by_key.contains_key(&SlotRef(db, key))
            && !self.ready_set.contains(&SlotRef(db, key))
        {
            let slot = (db, key.to_vec());
            self.ready_set.insert(slot.clone());
            self.ready.push_back(slot);
        }
    }

    /// [`Blocking::signal`] for writes that do not consume what they add (XADD): every waiter of
    /// a ready key is re-run in turn anyway, so every XREAD reader sees the entry and group
    /// readers that find nothing (a group-mate got there first) keep their place.
    pub fn signal_all(&mut self, db: usize, key: &[u8], wakes: &mut Wakes) {
        self.signal(db, key, wakes);
    }

    /// True when some key is waiting to be served.
    pub fn has_ready(&self) -> bool {
        !self.ready.is_empty()
    }

    fn pop_ready(&mut self) -> Option<(usize, Vec<u8>)> {
        let slot = self.ready.pop_front()?;
        self.ready_set.remove(&slot);
        Some(slot)
    }

    /// The waiter of a blocked client, if it is blocked.
    pub fn of_client(&self, client_id: u64) -> Option<Arc<Waiter>> {
        self.by_client.get(&client_id).cloned()
    }

    /// Number of blocked clients (INFO's `blocked_clients`).
    pub fn count(&self) -> usize {
        self.by_client.len()
    }
}

/// Re-runs the blocked commands of every ready key, in the order the keys became ready and, per
/// key, in the order the clients blocked (keys their service makes ready are served in turn).
/// Runs under the engine lock after each top-level command; the caller runs `env.wakes` after
/// unlocking. Replies are parked in the waiters for their front doors to deliver.
pub fn serve_ready(store: &mut Store, env: &mut Env) {
    if !store.blocking.has_ready() {
        return;
    }
    let saved = (env.in_exec, env.in_script);
    env.in_exec = false;
    env.in_script = false;
    while let Some((db, key)) = store.blocking.pop_ready() {
        let Some(q) = store.blocking.by_key.get(&(db, key.clone())) else {
            continue;
        };
        let waiters: Vec<Arc<Waiter>> = q.iter().cloned().collect();
        for w in waiters {
            if w.completed() || !w.kind.served_by(store.dbs[db].get(&key)) {
                continue;
            }
            rerun(store, &w, env);
        }
    }
    (env.in_exec, env.in_script) = saved;
}

/// Re-runs `w`'s command for its client; completes the waiter when the command replied.
fn rerun(store: &mut Store, w: &Arc<Waiter>, env: &mut Env) {
    let prior = if w.kind == Kind::GroupStream {
        group_positions(store, w)
    } else {
        Vec::new()
    };
    let mut client = stand_in(w);
    let saved = (env.block_retry, env.block_timed_out, env.retrying.take());
    env.block_retry = true;
    env.block_timed_out = false;
    env.retrying = Some(w.clone());
    let r = crate::cmd::dispatch::dispatch(store, &mut client, w.args.clone(), env);
    (env.block_retry, env.block_timed_out, env.retrying) = saved;
    if let Some(reply) = r {
        store.blocking.unregister(w);
        w.complete(Outcome::Reply(reply, prior), &mut env.wakes);
    }
}

/// The client a waiter's command runs as when another client's write serves it: same id,
/// database and protocol as the blocked client.
fn stand_in(w: &Waiter) -> Client {
    let mut c = Client::new(w.client_id);
    c.db = w.db;
    c.resp = w.resp;
    c
}

/// Completes the waiter of blocked client `client_id` for CLIENT UNBLOCK: with the timeout reply
/// (the null array every blocking command times out with), or with `error`. Returns false when
/// the client is not blocked.
pub fn unblock(store: &mut Store, client_id: u64, error: Option<&str>, env: &mut Env) -> bool {
    let Some(w) = store.blocking.of_client(client_id) else {
        return false;
    };
    store.blocking.unregister(&w);
    let reply = match error {
        Some(e) => Reply::Error(e.to_string()),
        None => Reply::NilArray,
    };
    w.complete(Outcome::Reply(reply, Vec::new()), &mut env.wakes);
    true
}

/// CLIENT KILL of a blocked client: its wait ends with [`Outcome::Killed`], consuming nothing.
pub fn kill(store: &mut Store, client_id: u64, env: &mut Env) {
    if let Some(w) = store.blocking.of_client(client_id) {
        store.blocking.unregister(&w);
        w.complete(Outcome::Killed, &mut env.wakes);
    }
}

/// Ends a waiter whose client will not deliver a reply (cancelled, disconnected, reset): it is
/// unregistered, and what a parked reply took is handed back. Serves whoever that makes ready.
pub fn abandon(store: &mut Store, w: &Waiter, env: &mut Env) {
    store.blocking.unregister(w);
    if let Some(Outcome::Reply(reply, prior)) = w.take_outcome() {
        hand_back(store, w, &reply, &prior, env);
    }
    serve_ready(store, env);
}

/// Each of `w`'s streams' group position (last-delivered id, entries-read) before serving it.
fn group_positions(store: &Store, w: &Waiter) -> Vec<(Vec<u8>, StreamId, Option<i64>)> {
    let Some((group, _)) = group_and_consumer(&w.args) else {
        return Vec::new();
    };
    w.keys
        .iter()
        .filter_map(|k| match store.dbs[w.db].get(k) {
            Some(Value::Stream(s)) => s
                .groups
                .get(group)
                .map(|g| (k.clone(), g.last_id, g.entries_read)),
            _ => None,
        })
        .collect()
}

/// XREADGROUP's `GROUP group consumer`.
fn group_and_consumer(args: &[Vec<u8>]) -> Option<(&[u8], &[u8])> {
    let i = args.iter().position(|a| a.eq_ignore_ascii_case(b"GROUP"))?;
    Some((args.get(i + 1)?.as_slice(), args.get(i + 2)?.as_slice()))
}

fn bulk(r: &Reply) -> Option<&[u8]> {
    match r {
        Reply::Bulk(b) => Some(b),
        _ => None,
    }
}

fn items(r: &Reply) -> &[Reply] {
    match r {
        Reply::Array(v) => v,
        _ => &[],
    }
}

fn score_arg(r: &Reply) -> Option<Vec<u8>> {
    match r {
        Reply::Double(d) => Some(format!("{d}").into_bytes()),
        Reply::Bulk(b) => Some(b.clone()),
        _ => None,
    }
}

fn cmd(parts: &[&[u8]]) -> Vec<Vec<u8>> {
    parts.iter().map(|p| p.to_vec()).collect()
}

/// Puts back what `reply` (served to `w`, never delivered) took, by running the commands that
/// undo it through the dispatcher, so WATCH, keyspace events, the log and other waiters see an
/// ordinary write.
fn hand_back(
    store: &mut Store,
    w: &Waiter,
    reply: &Reply,
    prior: &[(Vec<u8>, StreamId, Option<i64>)],
    env: &mut Env,
) {
    let name = String::from_utf8_lossy(&w.args[0]).to_ascii_lowercase();
    let mut undo: Vec<Vec<Vec<u8>>> = Vec::new();
    match name.as_str() {
        "blpop" | "brpop" => {
            // [key, element]
            if let [k, v] = items(reply) {
                if let (Some(k), Some(v)) = (bulk(k), bulk(v)) {
                    let push: &[u8] = if name == "blpop" { b"LPUSH" } else { b"RPUSH" };
                    undo.push(cmd(&[push, k, v]));
                }
            }
        }
        "blmpop" => {
            // `BLMPOP timeout numkeys key... LEFT|RIGHT [COUNT n]` replied [key, [elements]].
            let numkeys = std::str::from_utf8(&w.args[2])
                .ok()
                .and_then(|n| n.parse::<usize>().ok())
                .unwrap_or(0);
            let left = w
                .args
                .get(3 + numkeys)
                .is_some_and(|a| a.eq_ignore_ascii_case(b"LEFT"));
            if let [k, vs] = items(reply) {
                if let Some(k) = bulk(k) {
                    let mut c = cmd(&[if left { b"LPUSH" } else { b"RPUSH" }, k]);
                    c.extend(items(vs).iter().rev().filter_map(bulk).map(|v| v.to_vec()));
                    if c.len() > 2 {
                        undo.push(c);
                    }
                }
            }
        }
        "bzpopmin" | "bzpopmax" => {
            // [key, member, score]
            if let [k, m, s] = items(reply) {
                if let (Some(k), Some(m), Some(s)) = (bulk(k), bulk(m), score_arg(s)) {
                    undo.push(cmd(&[b"ZADD", k, b"NX", &s, m]));
                }
            }
        }
        "bzmpop" => {
            // [key, [[member, score], ...]]
            if let [k, ms] = items(reply) {
                if let Some(k) = bulk(k) {
                    let mut c = cmd(&[b"ZADD", k, b"NX"]);
                    for pair in items(ms) {
                        if let [m, s] = items(pair) {
                            if let (Some(m), Some(s)) = (bulk(m), score_arg(s)) {
                                c.push(s);
                                c.push(m.to_vec());
                            }
                        }
                    }
                    if c.len() > 3 {
                        undo.push(c);
                    }
                }
            }
        }
        "blmove" | "brpoplpush" => {
            if let Some(v) = bulk(reply) {
                let (src, dst) = (&w.args[1], &w.args[2]);
                let (from, to): (&[u8], &[u8]) = if name == "blmove" {
                    (&w.args[3], &w.args[4])
                } else {
                    (b"RIGHT", b"LEFT")
                };
                let at = if to.eq_ignore_ascii_case(b"LEFT") {
                    0
                } else {
                    -1
                };
                let still_there = match store.dbs[w.db].get(dst) {
                    Some(Value::List(l)) => l.get(at) == Some(v),
                    _ => false,
                };
                if still_there {
                    undo.push(cmd(&[b"LMOVE", dst, src, to, from]));
                }
            }
        }
        "xreadgroup" => undo = group_hand_back(store, w, reply, prior),
        // XREAD consumes nothing.
        _ => {}
    }
    if undo.is_empty() {
        return;
    }
    let mut client = stand_in(w);
    let saved = (env.block_retry, env.block_timed_out, env.retrying.take());
    let saved_ctx = (env.in_exec, env.in_script);
    env.block_retry = false;
    env.block_timed_out = false;
    // As inside EXEC: no eviction first and no OOM refusal, since a hand-back only returns
    // what was taken a moment ago.
    env.in_exec = true;
    env.in_script = false;
    for c in undo {
        crate::cmd::dispatch::dispatch(store, &mut client, c, env);
    }
    (env.block_retry, env.block_timed_out, env.retrying) = saved;
    (env.in_exec, env.in_script) = saved_ctx;
}

/// XREADGROUP's hand-back: per stream, when the group's last-delivered id is still the last
/// entry served and every served entry is still pending for this consumer, delivered once (or
/// the read was NOACK), the entries are acknowledged away and the group rewound to where it was.
/// Otherwise the entries stay pending, as after a disconnect in Redis.
fn group_hand_back(
    store: &Store,
    w: &Waiter,
    reply: &Reply,
    prior: &[(Vec<u8>, StreamId, Option<i64>)],
) -> Vec<Vec<Vec<u8>>> {
    let Some((group, consumer)) = group_and_consumer(&w.args) else {
        return Vec::new();
    };
    let streams_at = w
        .args
        .iter()
        .position(|a| a.eq_ignore_ascii_case(b"STREAMS"))
        .unwrap_or(w.args.len());
    let noack = w.args[..streams_at]
        .iter()
        .any(|a| a.eq_ignore_ascii_case(b"NOACK"));
    let per_stream: Vec<(&Reply, &Reply)> = match reply {
        Reply::Map(pairs) => pairs.iter().map(|(k, v)| (k, v)).collect(),
        Reply::Array(v) => v
            .iter()
            .filter_map(|p| match items(p) {
                [k, e] => Some((k, e)),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    };
    let mut undo = Vec::new();
    for (k, entries) in per_stream {
        let Some(k) = bulk(k) else { continue };
        let Some((_, last0, read0)) = prior.iter().find(|(pk, _, _)| pk.as_slice() == k) else {
            continue;
        };
        let ids: Vec<StreamId> = items(entries)
            .iter()
            .filter_map(|e| items(e).first().and_then(bulk).and_then(parse_id))
            .collect();
        let Some(max) = ids.iter().max().copied() else {
            continue;
        };
        let Some(Value::Stream(s)) = store.dbs[w.db].get(k) else {
            continue;
        };
        let Some(g) = s.groups.get(group) else {
            continue;
        };
        let owned = noack
            || ids.iter().all(|id| {
                g.pel
                    .get(id)
                    .is_some_and(|p| p.consumer == consumer && p.delivery_count == 1)
            });
        if g.last_id != max || !owned {
            continue;
        }
        if !noack {
            let mut c = cmd(&[b"XACK", k, group]);
            c.extend(ids.iter().map(|id| id.to_bytes()));
            undo.push(c);
        }
        let read = read0.map_or(b"-1".to_vec(), |n| n.to_string().into_bytes());
        undo.push(cmd(&[
            b"XGROUP",
            b"SETID",
            k,
            group,
            &last0.to_bytes(),
            b"ENTRIESREAD",
            &read,
        ]));
    }
    undo
}

/// `ms-seq` as a stream id.
fn parse_id(b: &[u8]) -> Option<StreamId> {
    let s = std::str::from_utf8(b).ok()?;
    let (ms, seq) = s.split_once('-')?;
    Some(StreamId {
        ms: ms.parse().ok()?,
        seq: seq.parse().ok()?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(id: u64, db: usize) -> Client {
        let mut c = Client::new(id);
        c.db = db;
        c
    }

    fn args(v: &[&str]) -> Vec<Vec<u8>> {
        v.iter().map(|s| s.as_bytes().to_vec()).collect()
    }

    #[test]
    fn ready_keys_are_kept_in_order_once_and_only_when_waited_on() {
        let mut b = Blocking::default();
        let w1 = b.register(&client(1, 0), args(&["a"]), args(&["BLPOP", "a", "0"]));
        let _w2 = b.register(&client(2, 0), args(&["b"]), args(&["BLPOP", "b", "0"]));
        let mut wakes = Wakes::default();
        b.signal(0, b"b", &mut wakes);
        b.signal(0, b"a", &mut wakes);
        b.signal(0, b"b", &mut wakes);
        b.signal(1, b"a", &mut wakes); // other db: nobody waits there
        b.signal(0, b"c", &mut wakes); // nobody waits on c
        assert!(wakes.is_empty());
        assert_eq!(b.pop_ready(), Some((0, b"b".to_vec())));
        assert_eq!(b.pop_ready(), Some((0, b"a".to_vec())));
        assert_eq!(b.pop_ready(), None);
        assert_eq!(b.count(), 2);
        assert!(b.of_client(1).is_some_and(|w| w.id == w1.id));
        b.unregister(&w1);
        b.unregister(&w1);
        assert!(!b.has_waiters(0, b"a") && b.has_waiters(0, b"b"));
        assert_eq!(b.count(), 1);
    }

    #[test]
    fn kinds_follow_the_command() {
        assert_eq!(Kind::of(b"BLMOVE"), Kind::List);
        assert_eq!(Kind::of(b"bzmpop"), Kind::ZSet);
        assert_eq!(Kind::of(b"XREAD"), Kind::Stream);
        assert_eq!(Kind::of(b"XREADGROUP"), Kind::GroupStream);
        assert!(Kind::GroupStream.served_by(None) && !Kind::Stream.served_by(None));
        assert!(!Kind::List.served_by(None));
    }

    #[test]
    fn borrowed_slots_find_owned_ones() {
        let mut m: HashMap<(usize, Vec<u8>), u8> = HashMap::new();
        m.insert((3, b"key".to_vec()), 1);
        assert_eq!(m.get(&SlotRef(3, b"key")), Some(&1));
        assert_eq!(m.get(&SlotRef(2, b"key")), None);
        assert_eq!(m.get(&SlotRef(3, b"ke")), None);
    }

    #[test]
    fn ids_parse() {
        assert_eq!(parse_id(b"5-1"), Some(StreamId { ms: 5, seq: 1 }));
        assert_eq!(parse_id(b"5"), None);
    }
}
