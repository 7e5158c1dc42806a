//! Copy-on-write for background saves, without fork.
//!
//! A background save takes a point-in-time snapshot of each database while commands keep
//! changing it. It walks the keyspace's positions downwards, a chunk per short hold of the engine
//! lock, like SCAN: positions at or above `cursor` are visited. That split is stable under the
//! keyspace's two kinds of change: an insert appends at the top (a visited position, and indeed a
//! key created after the snapshot must not be in it), and `swap_remove` moves the last entry into
//! the hole, which can only carry an entry from a visited position to an unvisited one; that entry
//! is marked so the walk skips it.
//!
//! Before any mutation of a key at an unvisited position, [`Db`] calls [`DbCow::before`], which
//! keeps the key's snapshot-time value and TTL aside (once per key); the walk skips such keys and
//! the kept copies are written at the end. Flushing a database during the save hands its whole
//! snapshot-time data to the save (nothing is copied or freed under the lock); SWAPDB moves each
//! database together with its `DbCow`, which remembers the database's index at the snapshot.
//!
//! Cost while no save runs: one `Option` check per mutating `Db` call. While one runs: a key
//! lookup per mutation, and a copy of each unvisited key the first time it is changed (a large
//! collection is copied whole, where fork would copy only the pages touched).

use hashbrown::HashMap;

use super::db::Db;
use crate::types::Value;

/// A mutation about to happen, as [`Db`] reports it.
pub enum Op<'a> {
    /// The value or TTL of `key` is about to change (or `key` is about to be created).
    Touch(&'a [u8]),
    /// `key` is about to be removed (`swap_remove`).
    Remove(&'a [u8]),
    /// Every key is about to be removed.
    Clear,
}

/// What the save knows about a key it must not take from the keyspace as it finds it.
enum Handled {
    /// Its value and TTL at the snapshot instant.
    Kept(Value, Option<i64>),
    /// Already visited (or created after the snapshot): moved down by a `swap_remove`.
    Skip,
}

/// A background save's state for one database (held by that [`Db`] while the save runs).
pub struct DbCow {
    /// Which save this belongs to.
    pub save_id: u64,
    /// The database's index at the snapshot instant.
    pub origin: usize,
    /// Positions below this are not visited yet (in `detached` when set, else in the live db).
    cursor: usize,
    handled: HashMap<Box<[u8]>, Handled>,
    /// The snapshot-time data of a database flushed during the save.
    detached: Option<Box<Db>>,
}

impl DbCow {
    /// The state for a database of `len` keys, none visited yet.
    pub fn new(save_id: u64, origin: usize, len: usize) -> DbCow {
        DbCow {
            save_id,
            origin,
            cursor: len,
            handled: HashMap::new(),
            detached: None,
        }
    }

    /// Called by `db` (whose `cow` field this was taken from) before each mutation.
    pub fn before(&mut self, db: &mut Db, op: Op<'_>) {
        if self.detached.is_some() || self.cursor == 0 {
            // The live database holds only data the snapshot does not need.
            return;
        }
        match op {
            Op::Touch(key) => {
                if db.index_of(key).is_some_and(|i| i < self.cursor) {
                    self.keep(db, key);
                }
            }
            Op::Remove(key) => {
                let Some(i) = db.index_of(key) else { return };
                let last = db.len() - 1;
                if i < self.cursor {
                    self.keep(db, key);
                    if last != i && last >= self.cursor {
                        let moved = db.key_at(last).expect("last position exists");
                        self.handled.entry(moved.into()).or_insert(Handled::Skip);
                    }
                }
                self.cursor = self.cursor.min(last);
            }
            Op::Clear => {
                self.detached = Some(Box::new(db.detach()));
            }
        }
    }

    fn keep(&mut self, db: &Db, key: &[u8]) {
        if !self.handled.contains_key(key) {
            let value = db.get(key).expect("key at a position").clone();
            self.handled
                .insert(key.into(), Handled::Kept(value, db.expiry(key)));
        }
    }

    /// True once a flush handed the snapshot-time data over: the walk then needs no lock.
    pub fn is_detached(&self) -> bool {
        self.detached.is_some()
    }

    /// Visits up to `n` unvisited positions of the snapshot-time data (`live` is the database
    /// this state was taken from), passing each key the save takes from there, with its value
    /// and TTL, to `emit`. Returns true when no unvisited position is left.
    pub fn step<'a>(
        &'a mut self,
        live: &'a Db,
        n: usize,
        mut emit: impl FnMut(&'a [u8], &'a Value, Option<i64>),
    ) -> bool {
        let src: &'a Db = match &self.detached {
            Some(d) => d,
            None => live,
        };
        let ttls = src.expires_len() > 0;
        let mut left = n;
        while self.cursor > 0 && left > 0 {
            self.cursor -= 1;
            left -= 1;
            let (key, value) = src.entry_at(self.cursor).expect("position in range");
            if !self.handled.is_empty() && self.handled.contains_key(key) {
                continue;
            }
            emit(key, value, if ttls { src.expiry(key) } else { None });
        }
        self.cursor == 0
    }

    /// After the walk: the kept snapshot-time copies, as (key, value, TTL).
    pub fn into_kept(self) -> impl Iterator<Item = (Box<[u8]>, Value, Option<i64>)> {
        self.handled.into_iter().filter_map(|(k, h)| match h {
            Handled::Kept(v, ttl) => Some((k, v, ttl)),
            Handled::Skip => None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::StrValue;

    fn s(v: &str) -> Value {
        Value::Str(StrValue::raw(v.as_bytes()))
    }

    fn text(v: &Value) -> String {
        match v {
            Value::Str(StrValue::Raw(r)) => String::from_utf8(r.to_vec()).unwrap(),
            _ => panic!("not a raw string"),
        }
    }

    /// Walks `db`'s snapshot in steps of `n`, running `between` between steps; returns what the
    /// snapshot holds, sorted.
    fn walk(
        db: &mut Db,
        n: usize,
        mut between: impl FnMut(&mut Db, usize),
    ) -> Vec<(String, String)> {
        db.cow = Some(Box::new(DbCow::new(1, 0, db.len())));
        let mut out = Vec::new();
        let mut round = 0;
        loop {
            let mut c = db.cow.take().unwrap();
            let done = c.step(db, n, |k, v, _| {
                out.push((String::from_utf8(k.to_vec()).unwrap(), text(v)))
            });
            if done {
                out.extend(
                    c.into_kept()
                        .map(|(k, v, _)| (String::from_utf8(k.into()).unwrap(), text(&v))),
                );
                break;
            }
            db.cow = Some(c);
            between(db, round);
            round += 1;
        }
        out.sort();
        out
    }

    fn fresh(n: usize) -> Db {
        let mut db = Db::default();
        for i in 0..n {
            db.set(format!("k{i}").as_bytes(), s(&format!("v{i}")));
        }
        db
    }

    fn expected(n: usize) -> Vec<(String, String)> {
        let mut v: Vec<_> = (0..n).map(|i| (format!("k{i}"), format!("v{i}"))).collect();
        v.sort();
        v
    }

    #[test]
    fn deletes_inserts_and_overwrites_during_the_walk_do_not_change_the_snapshot() {
        let mut db = fresh(50);
        let got = walk(&mut db, 3, |db, round| {
            // Deleting unvisited and visited keys moves entries around; new keys append.
            db.remove(format!("k{}", round % 50).as_bytes());
            db.remove(format!("k{}", 49 - round % 50).as_bytes());
            db.set(format!("new{round}").as_bytes(), s("x"));
            db.set(format!("k{}", (round * 7) % 50).as_bytes(), s("changed"));
            db.remove(format!("new{}", round / 2).as_bytes());
        });
        assert_eq!(got, expected(50));
    }

    #[test]
    fn a_flush_during_the_walk_hands_the_data_to_the_save() {
        let mut db = fresh(40);
        let got = walk(&mut db, 5, |db, round| {
            if round == 2 {
                db.clear();
            }
            db.set(format!("k{round}").as_bytes(), s("after"));
            db.remove(b"k39");
        });
        assert_eq!(got, expected(40));
        assert!(db.contains(b"k3"));
    }
}
