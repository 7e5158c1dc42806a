//! The context a handler runs in: the locked store, the calling client and the environment, plus
//! the helpers every handler needs (lazy expiry, typed lookups, change signalling).

use std::sync::atomic::Ordering;

use crate::engine::{Client, Db, Env, Store};
use crate::error::CmdError;
use crate::types::{HashValue, ListValue, SetValue, StrValue, StreamValue, Value, ZSetValue};

use super::CommandSpec;

/// What a blocking handler asks for when it cannot reply yet.
pub struct BlockRequest {
    /// Keys to wait on.
    pub keys: Vec<Vec<u8>>,
    /// Timeout in ms; None waits forever.
    pub timeout_ms: Option<i64>,
    /// The command to re-run when signalled (name included), if it differs from the original
    /// (XREAD's `$` resolved to a concrete id).
    pub retry_args: Option<Vec<Vec<u8>>>,
}

/// Handler context.
pub struct Ctx<'a> {
    /// The locked store.
    pub store: &'a mut Store,
    /// The calling client.
    pub client: &'a mut Client,
    /// Time and pending wake-ups.
    pub env: &'a mut Env,
    /// The running command's spec.
    pub spec: &'static CommandSpec,
    /// Set by a blocking handler that has nothing to return yet.
    pub block: Option<BlockRequest>,
}

/// A value type that can be looked up with type checking.
pub trait Typed: Sized {
    /// Borrows the typed value out of a [`Value`].
    fn from_value(v: &Value) -> Option<&Self>;
    /// Mutably borrows the typed value out of a [`Value`].
    fn from_value_mut(v: &mut Value) -> Option<&mut Self>;
    /// A new, empty value of this type.
    fn new_value() -> Value;
}

macro_rules! typed {
    ($t:ty, $variant:ident, $new:expr) => {
        impl Typed for $t {
            fn from_value(v: &Value) -> Option<&Self> {
                match v {
                    Value::$variant(x) => Some(x),
                    _ => None,
                }
            }
            fn from_value_mut(v: &mut Value) -> Option<&mut Self> {
                match v {
                    Value::$variant(x) => Some(x),
                    _ => None,
                }
            }
            fn new_value() -> Value {
                $new
            }
        }
    };
}

typed!(StrValue, Str, Value::Str(StrValue::Raw(Default::default())));
typed!(HashValue, Hash, Value::Hash(Box::default()));
typed!(SetValue, Set, Value::Set(Box::default()));
typed!(ListValue, List, Value::List(Box::default()));
typed!(ZSetValue, ZSet, Value::ZSet(Box::default()));
typed!(StreamValue, Stream, Value::Stream(Box::default()));

impl<'a> Ctx<'a> {
    /// The selected database index.
    pub fn db_index(&self) -> usize {
        self.client.db
    }

    /// The selected database, without expiry checks.
    pub fn db(&mut self) -> &mut Db {
        &mut self.store.dbs[self.client.db]
    }

    /// Current (frozen) time in Unix ms.
    pub fn now_ms(&self) -> i64 {
        self.env.now_ms
    }

    /// True when a blocking command may actually block (not inside EXEC or a script, and its
    /// deadline has not passed).
    pub fn can_block(&self) -> bool {
        !self.env.in_exec && !self.env.in_script && !self.env.block_timed_out
    }

    /// Asks the dispatcher to block the client on `keys`.
    pub fn block_on(
        &mut self,
        keys: Vec<Vec<u8>>,
        timeout_ms: Option<i64>,
        retry_args: Option<Vec<Vec<u8>>>,
    ) {
        self.block = Some(BlockRequest {
            keys,
            timeout_ms,
            retry_args,
        });
    }

    /// Reclaims `key` in the selected db if it has expired. Returns true when it did.
    pub fn expire_if_needed(&mut self, key: &[u8]) -> bool {
        let db = self.client.db;
        if self.store.dbs[db].is_expired(key, self.env.now_ms) {
            delete_expired(self.store, db, key, self.env);
            true
        } else {
            false
        }
    }

    /// True when `key` exists (after lazy expiry).
    pub fn exists(&mut self, key: &[u8]) -> bool {
        self.expire_if_needed(key);
        self.db().contains(key)
    }

    /// The value under `key` (after lazy expiry); counts as an access for LRU/LFU.
    pub fn lookup(&mut self, key: &[u8]) -> Option<&Value> {
        self.expire_if_needed(key);
        let db = self.client.db;
        self.store.dbs[db].get_touch_ref(key)
    }

    /// The value under `key` (after lazy expiry) without counting an access (TYPE, TTL, OBJECT:
    /// Redis's `LOOKUP_NOTOUCH`).
    pub fn lookup_notouch(&mut self, key: &[u8]) -> Option<&Value> {
        self.expire_if_needed(key);
        let db = self.client.db;
        self.store.dbs[db].get(key)
    }

    /// The value under `key`, mutable (after lazy expiry); counts as an access.
    pub fn lookup_mut(&mut self, key: &[u8]) -> Option<&mut Value> {
        self.expire_if_needed(key);
        let db = self.client.db;
        self.store.dbs[db].get_touch(key)
    }

    /// A typed read: `Ok(None)` when missing, WRONGTYPE when another type.
    pub fn read<T: Typed>(&mut self, key: &[u8]) -> Result<Option<&T>, CmdError> {
        match self.lookup(key) {
            None => Ok(None),
            Some(v) => match T::from_value(v) {
                Some(t) => Ok(Some(t)),
                None => Err(CmdError::WrongType),
            },
        }
    }

    /// A typed mutable lookup: `Ok(None)` when missing, WRONGTYPE when another type.
    pub fn write<T: Typed>(&mut self, key: &[u8]) -> Result<Option<&mut T>, CmdError> {
        match self.lookup_mut(key) {
            None => Ok(None),
            Some(v) => match T::from_value_mut(v) {
                Some(t) => Ok(Some(t)),
                None => Err(CmdError::WrongType),
            },
        }
    }

    /// A typed mutable lookup that creates an empty value when the key is missing.
    /// The caller must not leave a created collection empty (see [`Ctx::remove_if_empty`]).
    pub fn write_or_create<T: Typed>(&mut self, key: &[u8]) -> Result<&mut T, CmdError> {
        self.expire_if_needed(key);
        let db = self.client.db;
        let v = self.store.dbs[db].get_or_insert_with(key, T::new_value);
        match T::from_value_mut(v) {
            Some(t) => Ok(t),
            None => Err(CmdError::WrongType),
        }
    }

    /// Checks that `key` is missing or of type `T`, without borrowing it.
    pub fn check_type<T: Typed>(&mut self, key: &[u8]) -> Result<bool, CmdError> {
        Ok(self.read::<T>(key)?.is_some())
    }

    /// Deletes `key` if it holds an empty collection (Redis never keeps empty ones).
    /// Returns true when it was deleted.
    pub fn remove_if_empty(&mut self, key: &[u8]) -> bool {
        let db = self.client.db;
        let empty = self.store.dbs[db]
            .get(key)
            .is_some_and(|v| v.is_empty_collection());
        if empty {
            self.store.dbs[db].remove(key);
            self.notify(crate::commands::pubsub::EV_GENERIC, "del", key);
        }
        empty
    }

    /// Deletes `key` (after lazy expiry); true when it existed. Signals the change.
    pub fn delete(&mut self, key: &[u8]) -> bool {
        self.expire_if_needed(key);
        let db = self.client.db;
        if self.store.dbs[db].remove(key).is_some() {
            self.touched(key);
            true
        } else {
            false
        }
    }

    /// Records that `key` in the selected db changed: invalidates WATCHes, counts a write for
    /// persistence, and signals clients blocked on it. Every write handler calls this once per
    /// changed key.
    pub fn touched(&mut self, key: &[u8]) {
        let db = self.client.db;
        // A blocked command being re-run passes its turn on when it finishes (to the next waiter
        // of each of its keys that still holds data); signalling its own keys here would only wake
        // that waiter early, or for nothing when the key was just emptied.
        if self
            .env
            .retrying
            .as_ref()
            .is_some_and(|w| w.waits_on(db, key))
        {
            mark_changed(self.store, db, key);
            return;
        }
        touch_key(self.store, db, key, self.env);
    }

    /// [`Ctx::touched`] for a key of another database (MOVE, COPY ... DB).
    pub fn touched_in(&mut self, db: usize, key: &[u8]) {
        touch_key(self.store, db, key, self.env);
    }

    /// Emits a keyspace notification for `key` in the selected database (if enabled).
    pub fn notify(&mut self, class: u32, event: &str, key: &[u8]) {
        let db = self.client.db;
        crate::commands::pubsub::notify_keyspace_event(self.store, self.env, class, event, key, db);
    }
}

/// Records a change to (db, key): WATCH invalidation, dirty count, blocked-client signal.
pub fn touch_key(store: &mut Store, db: usize, key: &[u8], env: &mut Env) {
    mark_changed(store, db, key);
    store.blocking.signal(db, key, &mut env.wakes);
}

/// [`touch_key`] without the blocked-client signal.
fn mark_changed(store: &mut Store, db: usize, key: &[u8]) {
    store.dirty += 1;
    if !store.watched.is_empty() {
        if let Some(ws) = store
            .watched
            .get(&crate::engine::blocking::SlotRef(db, key))
        {
            for (_, flag) in ws {
                flag.store(true, Ordering::Release);
            }
        }
    }
}

/// Deletes an expired key, counting and announcing it (used by lazy and active expiry).
pub fn delete_expired(store: &mut Store, db: usize, key: &[u8], env: &mut Env) {
    if store.dbs[db].remove(key).is_some() {
        announce_expired(store, db, key, env);
    }
}

/// Deletes the key at position `i` of the database's TTL table (active expiry's sample).
pub fn delete_expired_at(store: &mut Store, db: usize, i: usize, env: &mut Env) {
    if let Some(key) = store.dbs[db].remove_by_expiry_index(i) {
        announce_expired(store, db, &key, env);
    }
}

fn announce_expired(store: &mut Store, db: usize, key: &[u8], env: &mut Env) {
    store.stats.expired_keys += 1;
    announce_removal(
        store,
        db,
        key,
        env,
        crate::commands::pubsub::EV_EXPIRED,
        "expired",
    );
}

/// What the engine does after removing a key on its own (expiry, eviction): logs it as DEL,
/// signals WATCH and blocked clients, and emits the keyspace event.
pub fn announce_removal(
    store: &mut Store,
    db: usize,
    key: &[u8],
    env: &mut Env,
    class: u32,
    event: &str,
) {
    if store.oplog.on {
        store.oplog.record_expired(db, key);
    }
    touch_key(store, db, key, env);
    crate::commands::pubsub::notify_keyspace_event(store, env, class, event, key, db);
}
