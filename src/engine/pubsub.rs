//! Pub/sub: the registry of channel, pattern and shard-channel subscriptions, and one push buffer
//! (outbox) per subscribed client.
//!
//! Publishing runs under the engine lock: it appends the message to every receiver's outbox and
//! records the receivers' wakers in `Env::wakes`, so a reader waiting on an asyncio future or a
//! condition variable wakes as soon as the lock is released. Nothing polls.
//!
//! Lock order: engine lock, then an outbox's own mutex. Outbox critical sections never wait on
//! anything, so a reader may take an outbox mutex without the engine lock (and with or without
//! the GIL).
//!
//! Slow readers: each outbox is bounded by Redis's `client-output-buffer-limit pubsub` (hard bytes,
//! soft bytes held for soft seconds). A subscriber over the limit loses its subscriptions and
//! buffered messages and is marked overflowed; its front door reports a closed connection.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use hashbrown::HashMap;
use indexmap::{IndexMap, IndexSet};
use parking_lot::{Condvar, Mutex};

use super::waker::{Waker, Wakes};
use crate::reply::Reply;

/// The kind of a subscription.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// SUBSCRIBE / PUBLISH.
    Channel,
    /// PSUBSCRIBE (glob patterns).
    Pattern,
    /// SSUBSCRIBE / SPUBLISH.
    Shard,
}

/// One item in a subscriber's outbox.
#[derive(Debug, Clone)]
pub enum Push {
    /// `message` (or `smessage` when `shard`): channel and payload.
    Message {
        /// Sent by SPUBLISH.
        shard: bool,
        /// Channel name.
        channel: Arc<[u8]>,
        /// Payload.
        data: Arc<[u8]>,
    },
    /// `pmessage`: the matching pattern, channel and payload.
    PMessage {
        /// The subscribed pattern.
        pattern: Arc<[u8]>,
        /// Channel name.
        channel: Arc<[u8]>,
        /// Payload.
        data: Arc<[u8]>,
    },
    /// Any other reply routed through the outbox (subscribe confirmations).
    Reply(Reply),
}

impl Push {
    /// The reply value of this push (RESP3 push frame; RESP2 shapes it as an array).
    pub fn into_reply(self) -> Reply {
        match self {
            Push::Message {
                shard,
                channel,
                data,
            } => Reply::Push(vec![
                Reply::Bulk(if shard {
                    b"smessage".to_vec()
                } else {
                    b"message".to_vec()
                }),
                Reply::Bulk(channel.to_vec()),
                Reply::Bulk(data.to_vec()),
            ]),
            Push::PMessage {
                pattern,
                channel,
                data,
            } => Reply::Push(vec![
                Reply::Bulk(b"pmessage".to_vec()),
                Reply::Bulk(pattern.to_vec()),
                Reply::Bulk(channel.to_vec()),
                Reply::Bulk(data.to_vec()),
            ]),
            Push::Reply(r) => r,
        }
    }

    /// Approximate output-buffer cost (what the RESP encoding would take).
    fn cost(&self) -> usize {
        match self {
            Push::Message { channel, data, .. } => channel.len() + data.len() + 40,
            Push::PMessage {
                pattern,
                channel,
                data,
            } => pattern.len() + channel.len() + data.len() + 50,
            Push::Reply(_) => 0,
        }
    }
}

/// Redis's `client-output-buffer-limit` for the pubsub class.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OutputLimit {
    /// Over this many bytes the subscriber is dropped at once (0 = no limit).
    pub hard: u64,
    /// Over this many bytes for longer than `soft_secs` the subscriber is dropped (0 = no limit).
    pub soft: u64,
    /// Seconds the soft limit may be exceeded.
    pub soft_secs: u64,
}

impl Default for OutputLimit {
    fn default() -> Self {
        OutputLimit {
            hard: 32 * 1024 * 1024,
            soft: 8 * 1024 * 1024,
            soft_secs: 60,
        }
    }
}

/// CONFIG defaults owned by pub/sub (inserted into `Store::config` at creation).
pub const DEFAULT_CONFIG: &[(&str, &str)] = &[
    ("notify-keyspace-events", ""),
    (
        "client-output-buffer-limit",
        "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60",
    ),
];

/// Whether an outbox still delivers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutboxState {
    /// Delivering.
    Open,
    /// Dropped for exceeding the output buffer limit.
    Overflowed,
    /// The owning connection closed.
    Closed,
}

struct Outbox {
    items: VecDeque<Push>,
    bytes: usize,
    soft_since_ms: Option<i64>,
    /// Bumped on every change a reader may be waiting for.
    seq: u64,
    waker: Option<Arc<dyn Waker>>,
    state: OutboxState,
}

#[derive(Default)]
struct Subs {
    channels: IndexSet<Vec<u8>>,
    patterns: IndexSet<Vec<u8>>,
    shard: IndexSet<Vec<u8>>,
}

impl Subs {
    fn set(&mut self, kind: Kind) -> &mut IndexSet<Vec<u8>> {
        match kind {
            Kind::Channel => &mut self.channels,
            Kind::Pattern => &mut self.patterns,
            Kind::Shard => &mut self.shard,
        }
    }
}

/// One client's subscriptions and push buffer. Shared (`Arc`) between the client, the registry
/// and the front door's reader.
pub struct Subscriber {
    /// The client's id (registry key).
    pub id: u64,
    subs: Mutex<Subs>,
    /// Channels + patterns (what SUBSCRIBE/PSUBSCRIBE replies count).
    count: AtomicUsize,
    /// Shard channels (what SSUBSCRIBE replies count).
    shard_count: AtomicUsize,
    out: Mutex<Outbox>,
    cv: Condvar,
}

impl Subscriber {
    /// A subscriber with no subscriptions and an empty outbox.
    pub fn new(id: u64) -> Arc<Subscriber> {
        Arc::new(Subscriber {
            id,
            subs: Mutex::new(Subs::default()),
            count: AtomicUsize::new(0),
            shard_count: AtomicUsize::new(0),
            out: Mutex::new(Outbox {
                items: VecDeque::new(),
                bytes: 0,
                soft_since_ms: None,
                seq: 0,
                waker: None,
                state: OutboxState::Open,
            }),
            cv: Condvar::new(),
        })
    }

    /// Channel + pattern subscriptions.
    pub fn count(&self) -> usize {
        self.count.load(Ordering::Relaxed)
    }

    /// Shard-channel subscriptions.
    pub fn shard_count(&self) -> usize {
        self.shard_count.load(Ordering::Relaxed)
    }

    /// True while subscribed to anything (RESP2 subscribed mode).
    pub fn is_subscribed(&self) -> bool {
        self.count() + self.shard_count() > 0
    }

    /// The names subscribed with `kind`, in subscription order.
    pub fn names(&self, kind: Kind) -> Vec<Vec<u8>> {
        self.subs.lock().set(kind).iter().cloned().collect()
    }

    fn recount(&self, subs: &Subs) {
        self.count
            .store(subs.channels.len() + subs.patterns.len(), Ordering::Relaxed);
        self.shard_count.store(subs.shard.len(), Ordering::Relaxed);
    }

    /// Appends a reply (a subscribe confirmation) behind the messages already buffered.
    pub fn push_reply(&self, r: Reply, wakes: &mut Wakes) {
        let mut o = self.out.lock();
        if o.state != OutboxState::Open {
            return;
        }
        o.items.push_back(Push::Reply(r));
        self.signal(&mut o, wakes);
    }

    /// Delivers one message; returns false when this pushed the subscriber over its limit (the
    /// caller then drops its subscriptions).
    fn deliver(&self, p: Push, limit: OutputLimit, now_ms: i64, wakes: &mut Wakes) -> bool {
        let mut o = self.out.lock();
        if o.state != OutboxState::Open {
            return true;
        }
        o.bytes += p.cost();
        o.items.push_back(p);
        let used = o.bytes as u64;
        let hard = limit.hard > 0 && used >= limit.hard;
        let mut soft = false;
        if limit.soft > 0 && used >= limit.soft {
            match o.soft_since_ms {
                None if limit.soft_secs == 0 => soft = true,
                None => o.soft_since_ms = Some(now_ms),
                Some(since) => {
                    soft =
                        now_ms.saturating_sub(since) > (limit.soft_secs as i64).saturating_mul(1000)
                }
            }
        } else {
            o.soft_since_ms = None;
        }
        if hard || soft {
            o.state = OutboxState::Overflowed;
            o.items.clear();
            o.bytes = 0;
        }
        self.signal(&mut o, wakes);
        !(hard || soft)
    }

    fn signal(&self, o: &mut Outbox, wakes: &mut Wakes) {
        o.seq = o.seq.wrapping_add(1);
        self.cv.notify_all();
        if let Some(w) = o.waker.take() {
            wakes.push(w);
        }
    }

    /// Tells a waiting reader that something changed (a reply was queued elsewhere, or the
    /// connection closed).
    pub fn notify(&self, wakes: &mut Wakes) {
        let mut o = self.out.lock();
        self.signal(&mut o, wakes);
    }

    /// Marks the outbox closed (its connection is gone) and wakes its reader.
    pub fn close(&self, wakes: &mut Wakes) {
        let mut o = self.out.lock();
        if o.state == OutboxState::Open {
            o.state = OutboxState::Closed;
        }
        o.items.clear();
        o.bytes = 0;
        self.signal(&mut o, wakes);
    }

    /// The delivery state.
    pub fn state(&self) -> OutboxState {
        self.out.lock().state
    }

    /// Takes the oldest buffered item.
    pub fn pop(&self) -> Option<Push> {
        let mut o = self.out.lock();
        let p = o.items.pop_front()?;
        o.bytes = o.bytes.saturating_sub(p.cost());
        if o.items.is_empty() {
            o.soft_since_ms = None;
        }
        Some(p)
    }

    /// Takes everything buffered (the front door moves it ahead of a command's reply).
    pub fn drain(&self) -> Vec<Push> {
        let mut o = self.out.lock();
        if o.items.is_empty() {
            return Vec::new();
        }
        o.bytes = 0;
        o.soft_since_ms = None;
        o.items.drain(..).collect()
    }

    /// True when something is buffered or the outbox stopped delivering.
    pub fn has_news(&self) -> bool {
        let o = self.out.lock();
        !o.items.is_empty() || o.state != OutboxState::Open
    }

    /// Bytes buffered.
    pub fn buffered_bytes(&self) -> usize {
        self.out.lock().bytes
    }

    /// The change counter; pass it to [`Subscriber::wait_change`] or
    /// [`Subscriber::set_waker_if_unchanged`] after checking for data, so no change is missed.
    pub fn seq(&self) -> u64 {
        self.out.lock().seq
    }

    /// Blocks the calling thread until the change counter moves past `seq` or `timeout` passes.
    /// Returns true when it moved.
    pub fn wait_change(&self, seq: u64, timeout: Duration) -> bool {
        let mut o = self.out.lock();
        if o.seq == seq {
            self.cv.wait_for(&mut o, timeout);
        }
        o.seq != seq
    }

    /// Installs `w` to be woken on the next change, unless the counter already moved past `seq`
    /// (then returns false and installs nothing).
    pub fn set_waker_if_unchanged(&self, seq: u64, w: Arc<dyn Waker>) -> bool {
        let mut o = self.out.lock();
        if o.seq != seq {
            return false;
        }
        o.waker = Some(w);
        true
    }

    /// Forgets an installed waker (its reader went away).
    pub fn clear_waker(&self) {
        self.out.lock().waker = None;
    }
}

type Receivers = IndexMap<u64, Arc<Subscriber>>;

/// The engine's pub/sub registry: who listens to what, plus the settings that shape delivery.
#[derive(Default)]
pub struct PubSub {
    channels: HashMap<Vec<u8>, Receivers>,
    patterns: IndexMap<Vec<u8>, Receivers>,
    shard: HashMap<Vec<u8>, Receivers>,
    /// Enabled keyspace-notification classes (the `EV_*` bits of `commands::pubsub`).
    pub notify_flags: u32,
    /// Output buffer limit for subscribers.
    pub limit: OutputLimit,
    /// Hard output buffer limit (bytes) for other clients of the socket server (0 = none);
    /// kept here because the same CONFIG parameter sets both.
    pub normal_hard_limit: u64,
}

impl PubSub {
    fn map(&mut self, kind: Kind) -> &mut dyn RegistryMap {
        match kind {
            Kind::Channel => &mut self.channels,
            Kind::Pattern => &mut self.patterns,
            Kind::Shard => &mut self.shard,
        }
    }

    /// Subscribes `sub` to `name`; returns false when it already was.
    pub fn subscribe(&mut self, kind: Kind, sub: &Arc<Subscriber>, name: &[u8]) -> bool {
        let added = {
            let mut subs = sub.subs.lock();
            let added = subs.set(kind).insert(name.to_vec());
            sub.recount(&subs);
            added
        };
        if added {
            self.map(kind).receivers(name).insert(sub.id, sub.clone());
        }
        added
    }

    /// Unsubscribes `sub` from `name`; returns false when it was not subscribed.
    pub fn unsubscribe(&mut self, kind: Kind, sub: &Subscriber, name: &[u8]) -> bool {
        let removed = {
            let mut subs = sub.subs.lock();
            let removed = subs.set(kind).shift_remove(name);
            sub.recount(&subs);
            removed
        };
        if removed {
            self.map(kind).remove_receiver(name, sub.id);
        }
        removed
    }

    /// Drops every subscription of `sub`.
    pub fn unsubscribe_all(&mut self, sub: &Subscriber) {
        for kind in [Kind::Channel, Kind::Pattern, Kind::Shard] {
            for name in sub.names(kind) {
                self.unsubscribe(kind, sub, &name);
            }
        }
    }

    /// True when nobody subscribes to anything (publishing is then free).
    pub fn is_idle(&self) -> bool {
        self.channels.is_empty() && self.patterns.is_empty()
    }

    /// PUBLISH: delivers to the channel's subscribers, then to every matching pattern's. Returns
    /// the number of deliveries.
    pub fn publish(
        &mut self,
        channel: &[u8],
        data: &[u8],
        now_ms: i64,
        wakes: &mut Wakes,
    ) -> usize {
        if self.is_idle() {
            return 0;
        }
        let ch: Arc<[u8]> = Arc::from(channel);
        let data: Arc<[u8]> = Arc::from(data);
        let mut n = 0;
        let mut dropped = Vec::new();
        if let Some(rs) = self.channels.get(channel) {
            for s in rs.values() {
                n += 1;
                let p = Push::Message {
                    shard: false,
                    channel: ch.clone(),
                    data: data.clone(),
                };
                if !s.deliver(p, self.limit, now_ms, wakes) {
                    dropped.push(s.clone());
                }
            }
        }
        for (pat, rs) in self.patterns.iter() {
            if !crate::glob::glob_match(pat, channel, false) {
                continue;
            }
            let pat: Arc<[u8]> = Arc::from(pat.as_slice());
            for s in rs.values() {
                n += 1;
                let p = Push::PMessage {
                    pattern: pat.clone(),
                    channel: ch.clone(),
                    data: data.clone(),
                };
                if !s.deliver(p, self.limit, now_ms, wakes) {
                    dropped.push(s.clone());
                }
            }
        }
        for s in dropped {
            self.unsubscribe_all(&s);
        }
        n
    }

    /// SPUBLISH: delivers to the shard channel's subscribers.
    pub fn spublish(
        &mut self,
        channel: &[u8],
        data: &[u8],
        now_ms: i64,
        wakes: &mut Wakes,
    ) -> usize {
        let Some(rs) = self.shard.get(channel) else {
            return 0;
        };
        let ch: Arc<[u8]> = Arc::from(channel);
        let data: Arc<[u8]> = Arc::from(data);
        let mut dropped = Vec::new();
        for s in rs.values() {
            let p = Push::Message {
                shard: true,
                channel: ch.clone(),
                data: data.clone(),
            };
            if !s.deliver(p, self.limit, now_ms, wakes) {
                dropped.push(s.clone());
            }
        }
        let n = rs.len();
        for s in dropped {
            self.unsubscribe_all(&s);
        }
        n
    }

    /// Channels (or shard channels) with at least one subscriber, matching `pattern` if given.
    pub fn active(&self, kind: Kind, pattern: Option<&[u8]>) -> Vec<Vec<u8>> {
        let keys: Box<dyn Iterator<Item = &Vec<u8>>> = match kind {
            Kind::Channel => Box::new(self.channels.keys()),
            Kind::Shard => Box::new(self.shard.keys()),
            Kind::Pattern => Box::new(self.patterns.keys()),
        };
        keys.filter(|k| pattern.is_none_or(|p| crate::glob::glob_match(p, k, false)))
            .cloned()
            .collect()
    }

    /// Subscribers of one channel (or shard channel).
    pub fn numsub(&self, kind: Kind, name: &[u8]) -> usize {
        match kind {
            Kind::Channel => self.channels.get(name).map_or(0, |r| r.len()),
            Kind::Shard => self.shard.get(name).map_or(0, |r| r.len()),
            Kind::Pattern => self.patterns.get(name).map_or(0, |r| r.len()),
        }
    }

    /// Distinct patterns with at least one subscriber (PUBSUB NUMPAT).
    pub fn numpat(&self) -> usize {
        self.patterns.len()
    }
}

/// The three registries differ only in their map type (patterns keep their order for matching).
trait RegistryMap {
    fn receivers(&mut self, name: &[u8]) -> &mut Receivers;
    fn remove_receiver(&mut self, name: &[u8], id: u64);
}

impl RegistryMap for HashMap<Vec<u8>, Receivers> {
    fn receivers(&mut self, name: &[u8]) -> &mut Receivers {
        self.entry(name.to_vec()).or_default()
    }
    fn remove_receiver(&mut self, name: &[u8], id: u64) {
        if let Some(r) = self.get_mut(name) {
            r.shift_remove(&id);
            if r.is_empty() {
                self.remove(name);
            }
        }
    }
}

impl RegistryMap for IndexMap<Vec<u8>, Receivers> {
    fn receivers(&mut self, name: &[u8]) -> &mut Receivers {
        self.entry(name.to_vec()).or_default()
    }
    fn remove_receiver(&mut self, name: &[u8], id: u64) {
        if let Some(r) = self.get_mut(name) {
            r.shift_remove(&id);
            if r.is_empty() {
                self.shift_remove(name);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg_data(p: &Push) -> Vec<u8> {
        match p {
            Push::Message { data, .. } | Push::PMessage { data, .. } => data.to_vec(),
            Push::Reply(_) => vec![],
        }
    }

    #[test]
    fn publish_reaches_channel_and_pattern_subscribers_in_order() {
        let mut ps = PubSub::default();
        let a = Subscriber::new(1);
        let b = Subscriber::new(2);
        assert!(ps.subscribe(Kind::Channel, &a, b"news"));
        assert!(!ps.subscribe(Kind::Channel, &a, b"news"));
        assert!(ps.subscribe(Kind::Pattern, &b, b"n*"));
        let mut w = Wakes::default();
        assert_eq!(ps.publish(b"news", b"1", 0, &mut w), 2);
        assert_eq!(ps.publish(b"news", b"2", 0, &mut w), 2);
        assert_eq!(ps.publish(b"other", b"x", 0, &mut w), 0);
        assert_eq!(msg_data(&a.pop().unwrap()), b"1");
        assert_eq!(msg_data(&a.pop().unwrap()), b"2");
        assert!(a.pop().is_none());
        assert!(matches!(b.pop().unwrap(), Push::PMessage { .. }));
        assert_eq!(a.count(), 1);
        ps.unsubscribe_all(&a);
        assert_eq!(a.count(), 0);
        assert_eq!(ps.numsub(Kind::Channel, b"news"), 0);
        assert!(ps.active(Kind::Channel, None).is_empty());
    }

    #[test]
    fn hard_limit_drops_the_subscriber() {
        let mut ps = PubSub {
            limit: OutputLimit {
                hard: 200,
                soft: 0,
                soft_secs: 0,
            },
            ..PubSub::default()
        };
        let a = Subscriber::new(1);
        ps.subscribe(Kind::Channel, &a, b"c");
        let mut w = Wakes::default();
        for _ in 0..10 {
            ps.publish(b"c", &[0u8; 50], 0, &mut w);
        }
        assert_eq!(a.state(), OutboxState::Overflowed);
        assert!(a.pop().is_none());
        assert_eq!(ps.numsub(Kind::Channel, b"c"), 0);
    }

    #[test]
    fn soft_limit_needs_time() {
        let mut ps = PubSub {
            limit: OutputLimit {
                hard: 0,
                soft: 100,
                soft_secs: 1,
            },
            ..PubSub::default()
        };
        let a = Subscriber::new(1);
        ps.subscribe(Kind::Channel, &a, b"c");
        let mut w = Wakes::default();
        ps.publish(b"c", &[0u8; 100], 0, &mut w);
        ps.publish(b"c", &[0u8; 100], 900, &mut w);
        assert_eq!(a.state(), OutboxState::Open);
        ps.publish(b"c", &[0u8; 100], 1001, &mut w);
        assert_eq!(a.state(), OutboxState::Overflowed);
    }

    #[test]
    fn wait_change_sees_a_change_made_before_waiting() {
        let a = Subscriber::new(1);
        let seq = a.seq();
        let mut w = Wakes::default();
        a.notify(&mut w);
        assert!(a.wait_change(seq, Duration::from_secs(5)));
        assert!(!a.set_waker_if_unchanged(seq, crate::engine::waker::CondvarWaker::new()));
    }
}
